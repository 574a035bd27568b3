"""PostgreSQL, the system of record: the embedded server, connections, migrations and fast COPY."""
