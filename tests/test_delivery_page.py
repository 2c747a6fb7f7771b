"""The admin's Delivery page: each status explained, why rows were cancelled, what goes out
next and what went out, paged in SQL and limited to the admin's organisation."""

import re
from datetime import UTC, datetime, timedelta

from coach_app.extensions import db
from coach_app.models import OutboxMessage
from coach_app.services import outbox_lists
from tests.test_pipeline_queries import count_queries

NOW = datetime.now(UTC)


def _row(world, n, status, *, org=None, due=None, sent=None, reason=None, kind="due_soon"):
    org = org or world.org
    row = OutboxMessage(
        dedupe_key=f"test:{org.id}:{status}:{n}",
        organization_id=org.id,
        recipient_id=world.client_user.id,
        to_email=world.client_user.email,
        kind=kind,
        channel="both",
        subject=f"{status} message {n}",
        body_text="x",
        due_at=due or NOW + timedelta(hours=n),
        status=status,
        status_reason=reason,
        sent_at=sent,
    )
    db.session.add(row)
    return row


def _page(as_user, world, query="") -> str:
    response = as_user(world.admin).get(f"/admin/ops{query}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _subjects(html: str, testid: str) -> list[str]:
    table = html.split(f'data-testid="{testid}"')[1].split("</table>")[0]
    return re.findall(r'<td data-label="Subject">([^<]+)</td>', table)


def test_every_status_is_explained_and_cancellations_give_their_reasons(world, as_user):
    for n in range(5):
        _row(world, n, "cancelled", reason="task completed")
    _row(world, 9, "cancelled", reason="task waived")
    _row(world, 10, "cancelled", reason="something new")
    db.session.commit()
    html = _page(as_user, world)
    counts = html.split('data-testid="outbox-counts"')[1].split("</table>")[0]
    for status, text in outbox_lists.STATUS_HELP.items():
        assert f'data-status="{status}"' in counts and text in counts
    assert '<td class="text-end" data-label="Messages">7</td>' in counts
    reasons = html.split('data-testid="cancel-reasons"')[1].split("</ul>")[0]
    assert re.findall(r"<strong>(\d+)</strong>: ([^<]+)</li>", reasons) == [
        ("5", "the task was done before the reminder&#39;s time"),
        ("1", "something new"),
        ("1", "the task was waived, so nobody needs reminding"),
    ]


def test_upcoming_and_sent_lists_are_ordered_and_paged(world, as_user):
    per_page = outbox_lists.PER_PAGE
    for n in range(per_page + 3):
        _row(world, n, "pending", due=NOW + timedelta(minutes=10 * (per_page + 3 - n)))
        _row(world, n, "sent", due=NOW - timedelta(days=2), sent=NOW - timedelta(minutes=n))
    _row(world, 99, "pending", org=world.other_org)  # another organisation's: never shown
    _row(world, 98, "sent", org=world.other_org, sent=NOW)
    db.session.commit()

    html = _page(as_user, world)
    upcoming = _subjects(html, "upcoming-messages")
    # The next due first: the last rows written are due soonest.
    assert upcoming[:2] == [f"pending message {per_page + 2}", f"pending message {per_page + 1}"]
    assert len(upcoming) == per_page
    sent = _subjects(html, "sent-messages")
    assert sent[:2] == ["sent message 0", "sent message 1"] and len(sent) == per_page
    assert "message 99" not in html and "message 98" not in html
    assert f"({per_page + 3} waiting, the next first)" in html
    assert "Two hours before a deadline" in html  # the kind in words

    second = _page(as_user, world, "?up=2&sent=2")
    assert _subjects(second, "upcoming-messages") == [f"pending message {n}" for n in (2, 1, 0)]
    assert _subjects(second, "sent-messages") == [
        f"sent message {n}" for n in range(per_page, per_page + 3)
    ]
    # Pager links keep the other list's page.
    assert 'href="/admin/ops?up=1&amp;sent=2#upcoming"' in second


def test_odd_page_numbers_are_harmless(world, as_user):
    _row(world, 1, "pending")
    db.session.commit()
    for query in ("?up=999", "?up=abc", "?up=-1", "?sent=0", "?up=99999999999999999999"):
        html = _page(as_user, world, query)
        assert _subjects(html, "upcoming-messages") == ["pending message 1"], query


def test_the_lists_cost_the_same_few_queries_however_many_rows(world, as_user):
    browser = as_user(world.admin)
    _row(world, 0, "pending")
    _row(world, 0, "sent", sent=NOW)
    _row(world, 0, "cancelled", reason="task completed")
    db.session.commit()
    browser.get("/admin/ops")

    def queries():
        db.session.expire_all()
        with count_queries() as seen:
            assert browser.get("/admin/ops").status_code == 200
        return len(seen)

    few = queries()
    for n in range(1, 40):
        _row(world, n, "pending")
        _row(world, n, "sent", sent=NOW - timedelta(minutes=n))
        _row(world, n, "cancelled", reason="task completed" if n % 2 else "task waived")
    db.session.commit()
    assert queries() == few


def test_only_admins_see_the_lists(world, as_user):
    _row(world, 1, "pending")
    db.session.commit()
    assert as_user(world.coach).get("/admin/ops").status_code == 403
    assert outbox_lists.upcoming(world.coach, total=1).rows == []
    assert outbox_lists.upcoming(world.foreign_admin, total=1).rows == []
    assert [r.subject for r in outbox_lists.upcoming(world.admin, total=1).rows] == [
        "pending message 1"
    ]
