"""The PostgreSQL store: several instances on one database."""
