"""The PostgreSQL store (psycopg 3 + psycopg-pool): several instances on one database."""
