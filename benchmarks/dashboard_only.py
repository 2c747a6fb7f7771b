"""Just the dashboard measurement, at one scale on SQLite, a few rounds, medians printed.

    python -m benchmarks.dashboard_only --scale 100000 --rounds 3 [--db /tmp/ft-dash/d.sqlite3]

The database is generated once (migrate, generate, rebuild the facts) and reused by later
runs with the same --db, so code changes can be compared on the same data; pass --fresh to
build it again. A database made by an older revision is migrated first (`flask db upgrade`),
which is also how the migration that fills the rollups gets exercised on 100k clients.
"""

import argparse
import json
import statistics
import time
from pathlib import Path

from benchmarks.run import dashboard, make_app, prepare


def main() -> None:
    """Build or reuse the database, run dashboard() `--rounds` times, print the medians."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--db", default=None, help="SQLite file (default /tmp/ft-dash/<scale>)")
    parser.add_argument("--fresh", action="store_true", help="generate the data again")
    args = parser.parse_args()
    path = Path(args.db or f"/tmp/ft-dash/dash-{args.scale}.sqlite3")
    path.parent.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{path}"
    if args.fresh or not path.exists():
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        started = time.perf_counter()
        print(json.dumps({"prepared": prepare(url, args.scale)}), flush=True)
        print(json.dumps({"prepare_s": round(time.perf_counter() - started, 1)}), flush=True)
    else:
        from flask_migrate import upgrade

        from benchmarks.common import ROOT

        started = time.perf_counter()
        with make_app(url).app_context():
            upgrade(directory=str(ROOT / "migrations"))
        print(json.dumps({"upgrade_s": round(time.perf_counter() - started, 1)}), flush=True)
    rounds = []
    for _ in range(args.rounds):
        rounds.append(dashboard(url))
        print(json.dumps(rounds[-1]), flush=True)
    keys = [k for k in rounds[0] if isinstance(rounds[0][k], int | float)]
    print(json.dumps({"median": {k: statistics.median(r[k] for r in rounds) for k in keys}}))


if __name__ == "__main__":
    main()
