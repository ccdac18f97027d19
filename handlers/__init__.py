"""Use cases: typed input and services in, neutral Form / Reply / Card out. `routes.py` lists them all."""
