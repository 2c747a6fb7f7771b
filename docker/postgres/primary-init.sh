#!/bin/bash
# The compose postgres service's first start (docker-entrypoint-initdb.d): a role the
# `replica` profile's standby streams WAL with, and the pg_hba.conf line that lets it in.
# Runs once, when the data volume is empty; for an existing volume run the two steps by hand
# (docs/operations.md). wal_level=replica and max_wal_senders=10 are PostgreSQL's defaults.
set -euo pipefail
psql -v ON_ERROR_STOP=1 -v password="${REPLICATION_PASSWORD:-replicator}" \
  --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<'SQL'
CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD :'password';
SQL
echo "host replication replicator all scram-sha-256" >> "$PGDATA/pg_hba.conf"
