#!/usr/bin/env bash
# Regenerate the single initial Alembic migration from the models. Only while no deployment
# exists yet: after the first release, add new revisions with `flask db migrate` instead.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
rm -f migrations/versions/*.py
DATABASE_URL="sqlite:///$tmp/empty.sqlite3" .venv/bin/flask --app coach_app db migrate -m "initial schema" >/dev/null
rm -rf "$tmp"
ls migrations/versions/
