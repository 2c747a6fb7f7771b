"""The schedule of recurring jobs, run by `python -m workers.scheduler` (RQ's cron scheduler).

The queue name comes from RQ_QUEUE_PREFIX, the same setting the web app and workers read,
so a deployment with its own prefix gets its sweeps on its own queue.
"""

import os

from rq import cron

from workers.jobs import (
    fold_summaries_job,
    mark_no_response_job,
    refresh_analytics_job,
    release_claims_job,
    sweep_outbox,
)
from workers.queues import DEFAULT_PREFIX, queue_name

QUEUE = queue_name(os.environ.get("RQ_QUEUE_PREFIX") or DEFAULT_PREFIX)
SWEEP_INTERVAL = int(os.environ.get("SWEEP_INTERVAL_SECONDS") or 60)
ANALYTICS_INTERVAL = int(os.environ.get("ANALYTICS_REFRESH_SECONDS") or 300)
CLAIM_CHECK_INTERVAL = int(os.environ.get("CLAIM_CHECK_INTERVAL_SECONDS") or 15)

# Every minute: stale claims released, coach digests written, due rows claimed and handed to
# delivery jobs (retries come back the same way once their backoff has passed).
cron.register(
    sweep_outbox, queue_name=QUEUE, interval=SWEEP_INTERVAL, result_ttl=300, failure_ttl=86400
)
# Every 15 seconds: claims of workers that died mid-batch released, and swept out again at
# once (a lapsed lease and no live RQ job: workers/claims.py). Cheap: it reads rows in flight.
cron.register(
    release_claims_job,
    queue_name=QUEUE,
    interval=CLAIM_CHECK_INTERVAL,
    result_ttl=60,
    failure_ttl=86400,
)
# Daily at 03:30 UTC: opportunities with no answer 30 days after the last interview.
cron.register(
    mark_no_response_job,
    queue_name=QUEUE,
    cron=os.environ.get("NO_RESPONSE_CRON") or "30 3 * * *",
    result_ttl=86400,
    failure_ttl=7 * 86400,
)
# Every 5 minutes: analytics facts a deadline has passed since, recomputed so the dashboard
# sums them in SQL instead of reading them one by one (docs/analytics.md).
cron.register(
    refresh_analytics_job,
    queue_name=QUEUE,
    interval=ANALYTICS_INTERVAL,
    result_ttl=300,
    failure_ttl=86400,
)
# Every minute: client summaries whose figures a deadline has moved, recomputed so the
# pipeline reads them as stored (readers are exact without it, only slower; docs/architecture.md).
cron.register(
    fold_summaries_job, queue_name=QUEUE, interval=SWEEP_INTERVAL, result_ttl=300, failure_ttl=86400
)
