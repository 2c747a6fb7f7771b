#!/bin/bash
# The `replica` profile's standby: on first start, copy the primary with pg_basebackup -R
# (which writes primary_conninfo and standby.signal), then run as a hot standby that answers
# the dashboard's reads while it replays the primary's WAL. Runs as the postgres user.
set -euo pipefail
: "${PGDATA:=/var/lib/postgresql/data}"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  # The primary may still be starting (its healthcheck passes before its init scripts finish
  # on a first boot), so retry until the copy succeeds.
  until pg_basebackup --host="$PRIMARY_HOST" --username=replicator --pgdata="$PGDATA" \
      --write-recovery-conf --wal-method=stream --checkpoint=fast --progress; do
    echo "pg_basebackup failed; retrying in 3 s" >&2
    find "$PGDATA" -mindepth 1 -delete
    sleep 3
  done
fi
chmod 700 "$PGDATA"
# hot_standby_feedback: the primary keeps the rows a running dashboard query still reads,
# so replay does not cancel it (the cost is a little table bloat on the primary).
exec postgres -c hot_standby=on -c hot_standby_feedback=on
