"""SQLite adapter: connections, migrations and the repositories the services use."""
