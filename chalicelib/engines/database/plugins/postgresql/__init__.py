"""The PostgreSQL plugin (psycopg 3): ``postgresql-database-plugin``."""

from chalicelib.engines.database.plugins.postgresql.plugin import PostgreSQL, plugin

__all__ = ["PostgreSQL", "plugin"]
