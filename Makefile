.PHONY: run test lint format bench bench-1m

run:  ## run the product: web + worker + cron on SQLite and a local Redis, with demo data
	scripts/run.sh

test:  ## lint and run every test on SQLite and PostgreSQL with real Redis and Chromium
	scripts/test.sh

lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check .

format:
	.venv/bin/ruff check --fix . && .venv/bin/ruff format .

bench:  ## every benchmark on SQLite and PostgreSQL (slow; see docs/benchmarks.md)
	scripts/bench.sh

bench-1m:  ## opt-in: 1,000,000 clients on PostgreSQL (hours, tens of GB: docs/benchmarks.md)
	scripts/bench.sh 1000000 --engines postgresql
