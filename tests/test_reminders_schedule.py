"""The `rq cron` configuration and the daily job it schedules."""

import logging
from datetime import UTC, datetime, timedelta

from redis import Redis
from rq.cron import CronScheduler
from sqlalchemy import select

from coach_app.extensions import db
from coach_app.models import Opportunity
from tests.factories import interview_for
from workers.jobs import mark_no_response_job


def load_schedule(monkeypatch, **env):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    # Never connects: loading the file only registers the jobs.
    scheduler = CronScheduler(connection=Redis(), logging_level=logging.WARNING)
    scheduler.load_config_from_file("workers/cron.py")
    return {job.func_name: job for job in scheduler.get_jobs()}


def test_cron_sweeps_every_minute_on_the_configured_queue(monkeypatch):
    monkeypatch.delenv("SWEEP_INTERVAL_SECONDS", raising=False)
    jobs = load_schedule(monkeypatch, RQ_QUEUE_PREFIX="acme")
    sweep = jobs["workers.jobs.sweep_outbox"]
    assert sweep.queue_name == "acme-default" and sweep.interval == 60
    daily = jobs["workers.jobs.mark_no_response_job"]
    assert daily.queue_name == "acme-default" and daily.cron == "30 3 * * *"
    analytics = jobs["workers.jobs.refresh_analytics_job"]
    assert analytics.queue_name == "acme-default" and analytics.interval == 300


def test_cron_defaults_to_the_followthrough_queue(monkeypatch):
    monkeypatch.delenv("RQ_QUEUE_PREFIX", raising=False)
    jobs = load_schedule(monkeypatch, SWEEP_INTERVAL_SECONDS="5")
    sweep = jobs["workers.jobs.sweep_outbox"]
    assert sweep.queue_name == "followthrough-default" and sweep.interval == 5


def test_the_daily_job_marks_no_response_and_is_safe_to_rerun(app, world):
    now = datetime.now(UTC)
    old = interview_for(
        world.profile, world.client_user, start_at=now - timedelta(days=40), company="Old Co"
    )
    recent = interview_for(
        world.profile, world.client_user, start_at=now - timedelta(days=3), company="New Co"
    )
    assert mark_no_response_job() == 1
    assert mark_no_response_job(now.isoformat()) == 0
    db.session.expire_all()
    outcomes = dict(db.session.execute(select(Opportunity.id, Opportunity.outcome)).all())
    assert outcomes[old.opportunity_id] == "no_response"
    assert outcomes[recent.opportunity_id] == "open"
