"""Worker settings: the Flask config first, then the environment, then the defaults.

Tests and operators tune these without code changes (a test sets a 3-second claim
lease; production keeps 45 seconds).
"""

import os

DEFAULTS: dict[str, int] = {
    # Attempts before a row is marked failed (shown to admins with a Retry button).
    "OUTBOX_MAX_ATTEMPTS": 5,
    # First retry after this many seconds, then doubling: 1, 2, 4, 8 minutes.
    "OUTBOX_RETRY_BASE_SECONDS": 60,
    # A claim's lease: a running batch renews it every quarter of this; a claim not renewed
    # for this long whose RQ job is gone or on a dead worker is released (workers/claims.py).
    "OUTBOX_CLAIM_TIMEOUT_SECONDS": 45,
    # Outbox ids per delivery job.
    "OUTBOX_BATCH_SIZE": 200,
    # Rows one sweep claims at most.
    "SWEEP_CLAIM_LIMIT": 5000,
    # Seconds between sweeps when run by the cron (workers/cron.py).
    "SWEEP_INTERVAL_SECONDS": 60,
    # Seconds between checks for claims of dead workers (a sweep follows any release).
    "CLAIM_CHECK_INTERVAL_SECONDS": 15,
    # RQ's limit on one delivery job.
    "DELIVERY_JOB_TIMEOUT_SECONDS": 600,
}


def setting(config, name: str) -> int:
    """An integer worker setting from `config`, else the environment, else the default."""
    value = config.get(name) if config is not None else None
    if value is None:
        value = os.environ.get(name)
    if value is None or value == "":
        return DEFAULTS[name]
    return int(value)
