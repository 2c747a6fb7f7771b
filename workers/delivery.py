"""Claiming due outbox rows and delivering them, safely under concurrency.

A row moves pending -> claimed -> sent (or back to pending for a retry, or failed, or
cancelled when it is no longer wanted). The claim is a conditional UPDATE ... WHERE
status = 'pending' (after SELECT ... FOR UPDATE SKIP LOCKED on PostgreSQL), so two sweeps
never claim the same row on SQLite or PostgreSQL, and delivery only touches rows that still
carry its claim token. A duplicate email is possible only in the window between the SMTP
server accepting a message and the worker committing `sent` (see docs/reminders.md).
"""

import hashlib
import logging
import secrets
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from markupsafe import escape
from sqlalchemy import Row, bindparam, select, update
from sqlalchemy.exc import OperationalError

from coach_app.extensions import db
from coach_app.models import FollowUpTask, Interview, Organization, OutboxMessage, User
from coach_app.models.reminders import pending_rows
from coach_app.playbook import reminders as policy
from coach_app.services import notifications
from coach_app.services import reminders as planning
from coach_app.services.outbox import retry_failed as _retry_failed_row
from coach_app.urls import absolute_url, url_context
from workers.claims import release_stale_claims, renew
from workers.mail import build_message, describe, get_backend, is_permanent
from workers.settings import DEFAULTS, setting

log = logging.getLogger(__name__)
__all__ = ["release_stale_claims"]  # re-exported: it lives with the claims (workers/claims.py)

COALESCE_WINDOW = policy.COALESCE_WINDOW
BATCH_SIZE = DEFAULTS["OUTBOX_BATCH_SIZE"]
MAX_ATTEMPTS = DEFAULTS["OUTBOX_MAX_ATTEMPTS"]
CHUNK = 500
DEADLOCK_DETECTED = "40P01"
ROW_COLUMNS = (
    OutboxMessage.id,
    OutboxMessage.organization_id,
    OutboxMessage.recipient_id,
    OutboxMessage.to_email,
    OutboxMessage.kind,
    OutboxMessage.channel,
    OutboxMessage.task_id,
    OutboxMessage.subject,
    OutboxMessage.body_text,
    OutboxMessage.link,
    OutboxMessage.due_at,
    OutboxMessage.attempts,
)


class LostClaim(Exception):
    """Another sweep released and re-claimed our rows (we were too slow): stop sending."""


class Clock:
    """Real time, or a moved clock (tests) that keeps ticking from where it was set."""

    def __init__(self, now: datetime | None = None):
        self.base = now
        self.started = time.monotonic()

    def __call__(self) -> datetime:
        if self.base is None:
            return datetime.now(UTC)
        return self.base + timedelta(seconds=time.monotonic() - self.started)


def _chunks(items: list, size: int = CHUNK):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def retry_delay(attempts: int, base_seconds: int = DEFAULTS["OUTBOX_RETRY_BASE_SECONDS"]):
    """Exponential backoff: base, 2 x base, 4 x base ... after each failed attempt."""
    return timedelta(seconds=base_seconds * 2 ** max(0, attempts - 1))


def claim_due(
    now: datetime | None = None, limit: int | None = None, config=None
) -> tuple[str, list[int]]:
    """Claim up to `limit` due pending rows, with every other row of the same people due.

    Claiming per person keeps one person's rows in one claim even when sweeps overlap, so
    they can go out as one message: with each person's due rows come their task reminders
    due within COALESCE_WINDOW of the earliest one (a few minutes ahead, at most).
    """
    now = now or datetime.now(UTC)
    limit = limit or setting(config, "SWEEP_CLAIM_LIMIT")
    token = f"{now:%Y%m%dT%H%M%S}-{secrets.token_hex(6)}"
    claimed: list[int] = []
    try:
        ids = [message_id for message_id, _recipient in _select_claimable(now, limit)]
        for chunk in _chunks(ids):
            # RETURNING: the claimed ids come back with the UPDATE, not from a second read.
            claimed += db.session.scalars(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(chunk), OutboxMessage.status == "pending")
                .values(status="claimed", claimed_at=now, claim_token=token)
                .returning(OutboxMessage.id)
                .execution_options(synchronize_session=False)
            ).all()
        db.session.commit()
    except OperationalError as error:
        db.session.rollback()
        # PostgreSQL broke a lock cycle between two overlapping sweeps: the other one won.
        if getattr(error.orig, "sqlstate", None) == DEADLOCK_DETECTED:
            log.info("claim lost a lock race with another sweep; it claims those rows")
            return token, []
        raise
    return token, sorted(claimed)


def claim_statements(now: datetime, limit: int, recipient_ids: list[int]) -> dict:
    """The claim's queries: rows due now or within the window, and some people's such rows."""
    # status = 'pending' AND due_at <= now + window ORDER BY due_at LIMIT n: one range of the
    # partial index. On PostgreSQL the rows are locked (skipping rows another sweep holds);
    # SQLite serialises writers and relies on the conditional UPDATE.
    due = (
        select(
            OutboxMessage.id,
            OutboxMessage.recipient_id,
            OutboxMessage.due_at,
            OutboxMessage.task_id,
        )
        .where(pending_rows(), OutboxMessage.due_at <= now + COALESCE_WINDOW)
        .order_by(OutboxMessage.due_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    # Waits for rows another sweep has locked, then sees them claimed and leaves them.
    same_people = (
        select(
            OutboxMessage.id,
            OutboxMessage.recipient_id,
            OutboxMessage.due_at,
            OutboxMessage.task_id,
        )
        .where(
            pending_rows(),
            OutboxMessage.due_at <= now + COALESCE_WINDOW,
            OutboxMessage.recipient_id.in_(recipient_ids),
        )
        .order_by(OutboxMessage.id)
        .with_for_update()
    )
    return {"due": due, "same_people": same_people}


def claim_batches(now: datetime | None = None, config=None) -> list[tuple[str, list[int]]]:
    """Claim what claim_due claims, as delivery batches: each its own token, one UPDATE.

    Each batch holds OUTBOX_BATCH_SIZE rows at most (one person's rows stay together) and is
    claimed under `<token>-<n>`, the claim its delivery job (deliver-<token>-<n>) holds.
    """
    now = now or datetime.now(UTC)
    base = f"{now:%Y%m%dT%H%M%S}-{secrets.token_hex(6)}"
    claimed = []
    try:
        rows = _select_claimable(now, setting(config, "SWEEP_CLAIM_LIMIT"))
        for number, batch in enumerate(_split(rows, setting(config, "OUTBOX_BATCH_SIZE"))):
            token = f"{base}-{number}"
            ids = db.session.scalars(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(batch), OutboxMessage.status == "pending")
                .values(status="claimed", claimed_at=now, claim_token=token)
                .returning(OutboxMessage.id)
                .execution_options(synchronize_session=False)
            ).all()
            if ids:
                claimed.append((token, sorted(ids)))
        db.session.commit()
    except OperationalError as error:
        db.session.rollback()
        if getattr(error.orig, "sqlstate", None) == DEADLOCK_DETECTED:
            log.info("claim lost a lock race with another sweep; it claims those rows")
            return []
        raise
    return claimed


def _select_claimable(now: datetime, limit: int) -> list[tuple[int, int | None]]:
    # Rows due within the window come too, so that one person's rows go as one claim. When
    # the scan ends before `limit` it saw every pending row due up to the window: the common
    # case needs no other query. A backlog (an outage) fills it: then each person's rows are
    # read again by recipient, since some may lie past the scan's end.
    scan = db.session.execute(claim_statements(now, limit, [])["due"]).all()
    due = [row for row in scan if row.due_at <= now]
    earliest: dict[int, datetime] = {}
    for row in due:
        if row.recipient_id is not None and row.recipient_id not in earliest:
            earliest[row.recipient_id] = row.due_at
    ids = [(row.id, row.recipient_id) for row in due]
    taken = {row.id for row in due}
    if len(scan) < limit:
        candidates = [scan]
    else:
        candidates = (
            db.session.execute(claim_statements(now, limit, chunk)["same_people"]).all()
            for chunk in _chunks(list(earliest))
        )
    for rows in candidates:
        for row in rows:
            if row.id in taken or row.recipient_id not in earliest:
                continue
            soon = row.task_id is not None and row.due_at < earliest[row.recipient_id] + (
                COALESCE_WINDOW
            )
            if row.due_at <= now or soon:
                ids.append((row.id, row.recipient_id))
                taken.add(row.id)
    return ids


def unclaim(claim_token: str, message_ids: Iterable[int] | None = None) -> int:
    """Give claimed rows back (the sweep could not enqueue them): pending, no attempt used."""
    conditions = [OutboxMessage.claim_token == claim_token, OutboxMessage.status == "claimed"]
    total = 0
    for chunk in _chunks(list(message_ids)) if message_ids is not None else [None]:
        where = conditions + ([OutboxMessage.id.in_(chunk)] if chunk is not None else [])
        total += db.session.execute(
            update(OutboxMessage)
            .where(*where)
            .values(status="pending", claim_token=None, claimed_at=None)
            .execution_options(synchronize_session=False)
        ).rowcount
    db.session.commit()
    return total


def batches_by_recipient(message_ids: list[int], size: int = BATCH_SIZE) -> list[list[int]]:
    """Split claimed ids into job-sized batches, keeping one recipient's rows together."""
    rows = []
    for chunk in _chunks(message_ids):
        rows += db.session.execute(
            select(OutboxMessage.id, OutboxMessage.recipient_id).where(OutboxMessage.id.in_(chunk))
        ).all()
    return _split(rows, size)


def _split(rows: list[tuple[int, int | None]], size: int) -> list[list[int]]:
    rows = sorted(rows, key=lambda r: (r[1] or 0, r[0]))
    batches: list[list[int]] = [[]]
    last_recipient = object()
    for message_id, recipient_id in rows:
        if len(batches[-1]) >= size and recipient_id != last_recipient:
            batches.append([])
        batches[-1].append(message_id)
        last_recipient = recipient_id
    return [b for b in batches if b]


def coalesce(rows: list[Row]) -> list[list[Row]]:
    """Group one recipient's task reminders due within COALESCE_WINDOW into one message.

    `rows` must be ordered by recipient, then due time. Digests and invitations go alone.
    """
    groups: list[list[Row]] = []
    for row in rows:
        if groups:
            first = groups[-1][0]
            if (
                row.task_id is not None
                and first.task_id is not None
                and row.recipient_id == first.recipient_id
                and row.due_at - first.due_at < COALESCE_WINDOW
            ):
                groups[-1].append(row)
                continue
        groups.append([row])
    return groups


def _message_id(ids: list[int]) -> str:
    digest = hashlib.sha1(",".join(map(str, ids)).encode()).hexdigest()[:12]
    # The same rows always get the same Message-ID, so a duplicate can be spotted downstream.
    return f"<outbox-{ids[0]}-{len(ids)}-{digest}@followthrough.invalid>"


def compose(rows: list[Row], recipient_id: int | None):
    """One email (plain text + HTML) for a group of rows, with unsubscribe headers."""
    ids = [row.id for row in rows]
    kinds = [k for k in dict.fromkeys(row.kind for row in rows) if k in policy.KINDS]
    headers = {
        "X-Followthrough-Ids": ",".join(map(str, ids)),
        "Message-ID": _message_id(ids),
        "Auto-Submitted": "auto-generated",
    }
    per_kind = {}
    if kinds and recipient_id is not None:
        per_kind = {k: planning.unsubscribe_link(recipient_id, [k]) for k in kinds}
        # With one kind (most emails) the link for every kind is that same link.
        every = (
            per_kind[kinds[0]]
            if len(kinds) == 1
            else planning.unsubscribe_link(recipient_id, kinds)
        )
        # RFC 8058: mail providers POST "List-Unsubscribe=One-Click" to this URL.
        headers["List-Unsubscribe"] = f"<{every}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    settings_link = absolute_url("reminders.settings") if kinds else None
    if len(rows) == 1:
        subject = rows[0].subject
        intro = ""
    else:
        subject = f"{len(rows)} follow-up reminders"
        intro = "Here is what needs your attention:\n\n"
    parts = []
    for row in rows:
        part = row.body_text if len(rows) == 1 else f"* {row.subject}\n{row.body_text}"
        if row.link and row.link not in part:
            part = part.rstrip("\n") + f"\nOpen it: {row.link}\n"
        parts.append(part)
    footer = []
    for kind, link in per_kind.items():
        footer.append(f"Stop emails like this ({policy.KIND_LABELS[kind].lower()}): {link}")
    if settings_link:
        footer.append(f"Choose how you are reminded: {settings_link}")
    text = intro + "\n".join(parts)
    if footer:
        text += "\n--\n" + "\n".join(footer) + "\n"
    html = _html(rows, per_kind, settings_link)
    return build_message(
        to=rows[0].to_email, subject=subject, text=text, html=html, headers=headers
    )


def _html(rows: list[Row], per_kind: dict[str, str], settings_link: str | None):
    items = []
    for row in rows:
        body = "<br>".join(escape(line) for line in row.body_text.strip().splitlines())
        link = f'<p><a href="{escape(row.link)}">Open it</a></p>' if row.link else ""
        items.append(f"<li><p><strong>{escape(row.subject)}</strong></p><p>{body}</p>{link}</li>")
    footer = "".join(
        f'<p><a href="{escape(link)}">Stop emails like this '
        f"({escape(policy.KIND_LABELS[kind].lower())})</a></p>"
        for kind, link in per_kind.items()
    )
    if settings_link:
        footer += f'<p><a href="{escape(settings_link)}">Choose how you are reminded</a></p>'
    return (
        '<!doctype html><html><body style="font-family: sans-serif">'
        f"<ul>{''.join(items)}</ul>"
        f'<hr><div style="font-size: small; color: #555">{footer}</div></body></html>'
    )


class _Batch:
    """The state of one delivery run: the claim token, the clock, counters."""

    def __init__(self, claim_token: str, clock: Clock, config):
        self.token = claim_token
        self.clock = clock
        self.config = config
        self.max_attempts = setting(config, "OUTBOX_MAX_ATTEMPTS")
        self.retry_base = setting(config, "OUTBOX_RETRY_BASE_SECONDS")
        self.renew_every = setting(config, "OUTBOX_CLAIM_TIMEOUT_SECONDS") / 4
        self.last_renewal = time.monotonic()
        table = OutboxMessage.__table__
        # Built once per batch and run on the connection (no ORM flush or bookkeeping): this
        # runs once per accepted email, between the SMTP server's 250 and its commit.
        self._mark_sent = (
            update(table)
            .where(
                table.c.id.in_(bindparam("ids", expanding=True)),
                table.c.claim_token == claim_token,
                table.c.status == "claimed",
            )
            .values(
                status="sent",
                sent_at=bindparam("sent_at"),
                attempts=table.c.attempts + 1,
                status_reason=None,
            )
        )
        self.stats = dict.fromkeys(
            ("sent", "emails", "in_app", "cancelled", "put_off", "retry", "failed"), 0
        )

    def _mine(self, *ids: int):
        return (
            OutboxMessage.id.in_(ids),
            OutboxMessage.claim_token == self.token,
            OutboxMessage.status == "claimed",
        )

    def set(self, row: Row, **values) -> bool:
        """Update one row only if it still carries our claim."""
        result = db.session.execute(
            update(OutboxMessage)
            .where(*self._mine(row.id))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1

    def cancel(self, row: Row, reason: str) -> None:
        if self.set(row, status="cancelled", status_reason=reason, claim_token=None):
            self.stats["cancelled"] += 1

    def put_off(self, row: Row, until: datetime, reason: str) -> None:
        if self.set(
            row,
            status="pending",
            due_at=until,
            status_reason=reason,
            claim_token=None,
            claimed_at=None,
        ):
            self.stats["put_off"] += 1

    def mark_sent(self, rows: list[Row]) -> int:
        """Mark rows sent if they still carry our claim: one UPDATE by primary key."""
        result = db.session.connection().execute(
            self._mark_sent, {"ids": [row.id for row in rows], "sent_at": datetime.now(UTC)}
        )
        return result.rowcount

    def failed_attempt(self, rows: list[Row], error: Exception) -> None:
        """Count an attempt: retry later with backoff, or mark failed after the last one."""
        permanent = is_permanent(error)
        message = describe(error)
        now = self.clock()
        for row in rows:
            attempts = row.attempts + 1
            if permanent or attempts >= self.max_attempts:
                done = self.set(
                    row,
                    status="failed",
                    attempts=attempts,
                    last_error=message,
                    status_reason="refused permanently" if permanent else "out of attempts",
                    claim_token=None,
                    claimed_at=None,
                )
                self.stats["failed"] += done
            else:
                done = self.set(
                    row,
                    status="pending",
                    attempts=attempts,
                    last_error=message,
                    due_at=now + retry_delay(attempts, self.retry_base),
                    status_reason="retrying",
                    claim_token=None,
                    claimed_at=None,
                )
                self.stats["retry"] += done

    def renew(self, ids: list[int], force: bool = False) -> None:
        """Renew our lease every quarter of its length; LostClaim once it was released."""
        if not force and time.monotonic() - self.last_renewal < self.renew_every:
            return
        if not renew(self.token, ids, self.clock()):
            raise LostClaim(f"claim {self.token} was released while its batch was running")
        db.session.commit()
        self.last_renewal = time.monotonic()


def _context(rows: list[Row]):
    """Batch-load what the checks need: recipients, tasks, preferences, policies."""
    recipient_ids = {row.recipient_id for row in rows if row.recipient_id is not None}
    # Plain rows, not ORM objects: every commit in the batch (one per email) would expire
    # each object still held in the session, which cost more than the email itself.
    users = {}
    for chunk in _chunks(list(recipient_ids)):
        for user in db.session.execute(
            select(User.id, User.active, User.timezone, Organization.timezone.label("org_tz"))
            .join(Organization, Organization.id == User.organization_id)
            .where(User.id.in_(chunk))
        ):
            users[user.id] = user
    task_ids = {row.task_id for row in rows if row.task_id is not None}
    tasks = {}
    if task_ids:
        for item in db.session.execute(
            select(
                FollowUpTask.id,
                FollowUpTask.completed_at,
                FollowUpTask.waived_reason,
                FollowUpTask.snoozed_until,
                FollowUpTask.due_at,
                Interview.timezone,
            )
            .outerjoin(Interview, Interview.id == FollowUpTask.interview_id)
            .where(FollowUpTask.id.in_(task_ids))
        ):
            tasks[item.id] = item
    prefs = planning.preferences_for(recipient_ids)
    policies = planning.policies_for({row.organization_id for row in rows})
    return users, tasks, prefs, policies


def _check(batch: _Batch, row: Row, user, task, pref, org_policy):
    """Decide a row's fate at delivery time: None (handled here) or its channels."""
    now = batch.clock()
    if row.recipient_id is not None and (user is None or not user.active):
        batch.cancel(row, "recipient no longer active")
        return None
    tz = (task.timezone if task is not None else None) or (
        (user.timezone or user.org_tz) if user is not None else "UTC"
    )
    if row.task_id is not None:
        if task is None or task.completed_at is not None:
            batch.cancel(row, "task completed before the reminder went out")
            return None
        if task.waived_reason is not None:
            batch.cancel(row, "task waived")
            return None
        if row.kind in policy.BEFORE_DEADLINE and now >= task.due_at:
            batch.cancel(row, "its deadline passed before it could go out")
            return None
        if task.snoozed_until is not None and task.snoozed_until > now:
            later = policy.place(
                row.kind,
                row.due_at,
                due_at=task.due_at,
                tz=tz,
                now=now,
                policy=org_policy,
                not_before=task.snoozed_until,
            )
            if later is None:
                batch.cancel(row, "snoozed past its moment")
            else:
                batch.put_off(row, later, "snoozed")
            return None
    if row.kind in policy.KINDS:
        later = policy.quiet_hours_deferral(now, tz, org_policy)
        if later is not None:
            if task is not None:
                later = policy.place(row.kind, later, due_at=task.due_at, tz=tz, now=now)
            if later is None:
                batch.cancel(row, "quiet hours last past its deadline")
            else:
                batch.put_off(row, later, "quiet hours")
            return None
    channels = planning.effective_channels(row.kind, row.channel, pref, org_policy)
    if not channels:
        batch.cancel(row, "turned off in preferences or by the organisation")
        return None
    return channels


def deliver(message_ids: list[int], claim_token: str, config, now: datetime | None = None):
    """Check, then send the claimed rows (in-app and email, grouped per person); rerun-safe."""
    batch = _Batch(claim_token, Clock(now), config)
    rows = []
    # Plain rows, not ORM objects: they stay readable after each commit without a reload.
    for chunk in _chunks(list(message_ids)):
        rows += db.session.execute(
            select(*ROW_COLUMNS).where(
                OutboxMessage.id.in_(chunk),
                OutboxMessage.status == "claimed",
                OutboxMessage.claim_token == claim_token,
            )
        ).all()
    if not rows:
        return batch.stats
    try:
        # Our job is running: say so at once (the sweep releases claims whose lease lapsed).
        batch.renew([row.id for row in rows], force=True)
    except LostClaim as error:
        db.session.rollback()
        log.warning("%s before its batch started; sending nothing", error)
        return batch.stats
    rows.sort(key=lambda r: (r.recipient_id or 0, r.due_at, r.id))
    users, tasks, prefs, policies = _context(rows)
    notified = notifications.already_notified(row.id for row in rows)
    to_email: list[Row] = []
    for row in rows:
        channels = _check(
            batch,
            row,
            users.get(row.recipient_id),
            tasks.get(row.task_id),
            prefs.get(row.recipient_id),
            policies[row.organization_id],
        )
        if channels is None:
            continue
        wants_in_app = policy.IN_APP in channels and row.recipient_id is not None
        if wants_in_app and row.id not in notified:
            notifications.notify(
                user_id=row.recipient_id, message=row.subject, link=row.link, outbox_id=row.id
            )
            batch.stats["in_app"] += 1
        if policy.EMAIL in channels:
            to_email.append(row)
        else:
            batch.stats["sent"] += batch.mark_sent([row])
    db.session.commit()
    if to_email:
        _send_emails(batch, to_email)
    return batch.stats


def _send_emails(batch: _Batch, rows: list[Row]) -> None:
    groups = coalesce(rows)
    with url_context():
        messages = [compose(group, group[0].recipient_id) for group in groups]
    finished: set[int] = set()

    def renew() -> None:
        # Before the next message: a lease found released stops the batch before it sends.
        batch.renew([row.id for i, g in enumerate(groups) if i not in finished for row in g])

    def on_sent(index: int) -> None:
        group = groups[index]
        finished.add(index)
        marked = batch.mark_sent(group)
        # Commit each accepted message at once: this keeps the duplicate window one message.
        db.session.commit()
        batch.stats["sent"] += marked
        batch.stats["emails"] += 1
        if marked < len(group):
            raise LostClaim(f"claim {batch.token} was released while its batch was running")
        renew()

    def on_refused(index: int, error: Exception) -> None:
        finished.add(index)
        batch.failed_attempt(groups[index], error)
        db.session.commit()
        renew()

    try:
        renew()
        get_backend(batch.config).send_many(messages, on_sent=on_sent, on_refused=on_refused)
    except LostClaim as error:
        db.session.rollback()
        log.warning("%s; leaving the rest to the sweep that took it over", error)
    except Exception as error:  # the connection failed: everything not yet sent retries
        db.session.rollback()
        log.warning("delivery failed for claim %s: %s", batch.token, describe(error))
        for index, group in enumerate(groups):
            if index not in finished:
                batch.failed_attempt(group, error)
        db.session.commit()


def retry_failed(message_id: int) -> bool:
    """Put a failed row back in the queue (admin action; see services.outbox.retry_failed)."""
    row = db.session.get(OutboxMessage, message_id)
    if row is None:
        return False
    done = _retry_failed_row(row)
    db.session.commit()
    return done
