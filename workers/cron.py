"""`rq cron workers/cron.py`: the schedule of recurring jobs."""

from rq import cron

from workers.jobs import sweep_outbox

# Every minute: due reminders -> claimed -> delivery jobs (also retries and stale claims).
cron.register(sweep_outbox, queue_name="followthrough-default", interval=60)
