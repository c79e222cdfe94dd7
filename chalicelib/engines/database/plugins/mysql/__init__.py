"""The MySQL/MariaDB plugins (PyMySQL): ``mysql-database-plugin`` and the legacy names
``mysql-aurora-database-plugin``, ``mysql-rds-database-plugin`` and
``mysql-legacy-database-plugin`` (16-character usernames)."""

from chalicelib.engines.database.plugins.mysql.plugin import MySQL, mysql, mysql_legacy

__all__ = ["MySQL", "mysql", "mysql_legacy"]
