"""Done means: logging an interview produces the nudge email and the in-app notification at
the right local time, through the real sweep and delivery jobs on a real Redis."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from coach_app.extensions import db
from coach_app.models import Notification, OutboxMessage
from tests.factories import interview_for
from tests.reminders_helpers import redis_app_fixture, sweep_at  # noqa: F401
from workers.mail import MemoryBackend

NY = ZoneInfo("America/New_York")


def notifications_for(user) -> list[Notification]:
    db.session.expire_all()
    return db.session.scalars(select(Notification).where(Notification.user_id == user.id)).all()


def test_logging_an_interview_sends_the_nudge_two_hours_after_it_ends(redis_app, world):
    start = datetime(2026, 6, 10, 10, 0, tzinfo=NY)  # ends 11:00 New York time
    interview_for(world.profile, world.client_user, start_at=start, now=start + timedelta(hours=1))
    nudge_at = datetime(2026, 6, 10, 13, 0, tzinfo=NY)

    sweep_at(redis_app, nudge_at - timedelta(minutes=1))
    assert MemoryBackend.outbox == []
    assert notifications_for(world.client_user) == []

    sweep_at(redis_app, nudge_at)
    [email] = MemoryBackend.outbox
    assert email["To"] == world.client_user.email
    ids = [int(i) for i in email["X-Followthrough-Ids"].split(",")]
    kinds = {
        m.kind for m in db.session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids)))
    }
    assert len(ids) == 3 and kinds == {"nudge"}  # notes, contacts, next step: one message
    text = email.get_body(("plain",)).get_content()
    assert "http://localhost/me/tasks/" in text
    assert email.get_body(("html",)) is not None
    assert email["List-Unsubscribe"].startswith("<http://localhost/unsubscribe/")
    notes = notifications_for(world.client_user)
    assert len(notes) == 3 and all(n.link.startswith("http://localhost/me/tasks/") for n in notes)

    sweep_at(redis_app, nudge_at + timedelta(minutes=5))  # nothing is sent twice
    assert len(MemoryBackend.outbox) == 1
    assert len(notifications_for(world.client_user)) == 3


def test_console_backend_prints_the_nudge_as_make_run_shows_it(redis_app, world, capsys):
    redis_app.config["MAIL_BACKEND"] = "console"
    start = datetime(2026, 6, 10, 10, 0, tzinfo=NY)
    interview_for(world.profile, world.client_user, start_at=start, now=start + timedelta(hours=1))
    sweep_at(redis_app, datetime(2026, 6, 10, 12, 59, tzinfo=NY))
    assert "EMAIL" not in capsys.readouterr().out
    sweep_at(redis_app, datetime(2026, 6, 10, 13, 0, tzinfo=NY))
    out = capsys.readouterr().out
    assert out.count(" EMAIL ") == 1
    assert f"| To:      {world.client_user.email}" in out
    assert "| Subject: 3 follow-up reminders" in out
    assert "| Link:    http://localhost/me/tasks/" in out
    assert "Your interview ended a little while ago" in out


def test_the_header_badge_counts_the_new_notifications(redis_app, world, as_user):
    start = datetime(2026, 6, 10, 10, 0, tzinfo=NY)
    interview_for(world.profile, world.client_user, start_at=start, now=start + timedelta(hours=1))
    sweep_at(redis_app, datetime(2026, 6, 10, 13, 0, tzinfo=NY))
    page = as_user(world.client_user).get("/settings/reminders").get_data(as_text=True)
    assert 'data-testid="unread-count">3<' in page
    unread = db.session.scalar(
        select(func.count(Notification.id)).where(Notification.read_at.is_(None))
    )
    assert unread == 3
