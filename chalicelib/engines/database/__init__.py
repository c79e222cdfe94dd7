"""The database secrets engine: dynamic and static database credentials."""
