"""The client home and checklist pages: a fixed number of statements, whatever the history."""

from coach_app.extensions import db
from coach_app.services.todo import HISTORY_SHOWN
from tests.conftest import past
from tests.factories import interview_for
from tests.test_pipeline_queries import count_queries


def _page_queries(browser, path):
    # A first request notes the session's activity when a minute has passed (one UPDATE):
    # the counted one is a page view like any other.
    assert browser.get(path).status_code == 200
    db.session.expire_all()
    with count_queries() as seen:
        response = browser.get(path)
    assert response.status_code == 200, path
    return len(seen), response.get_data(as_text=True)


def _old_rounds(world, n, opportunity=None, *, start=0):
    """`n` rounds logged months ago, their tasks all open: missed, past every horizon."""
    interview = None
    for i in range(start, start + n):
        interview = interview_for(
            world.profile,
            world.client_user,
            start_at=past(days=60 + i),
            company=f"Old Company {i}",
            opportunity=opportunity,
        )
    return interview


def test_home_query_count_does_not_grow_with_history(app, world, as_user):
    browser = as_user(world.client_user)
    interview_for(world.profile, world.client_user, start_at=past(hours=3))
    # session, profile, recent open tasks, older misses, opportunities, rounds, unread count
    small, html = _page_queries(browser, "/me/")
    assert "Due today" in html or "Coming up" in html
    assert small == 7, small

    _old_rounds(world, 1)  # fewer old misses than a page: they are counted by reading them
    few, html = _page_queries(browser, "/me/")
    assert few == small

    _old_rounds(world, 4, start=1)
    large, html = _page_queries(browser, "/me/")
    assert "Old Company 4" in html  # every opportunity is still listed
    # a full page of older misses: one more statement counts them all
    assert large == small + 1, (small, large)
    _old_rounds(world, 6, start=5)
    larger, html = _page_queries(browser, "/me/")
    assert larger == large
    # the missed history stays exact: every open task past its horizon, twenty shown
    total = int(html.split("Missed (", 1)[1].split(")", 1)[0])
    assert total > HISTORY_SHOWN
    assert html.count("was due") == HISTORY_SHOWN


def test_checklist_query_count_does_not_grow_with_history(app, world, as_user):
    browser = as_user(world.client_user)
    first = interview_for(
        world.profile, world.client_user, start_at=past(days=3), referrals=["Lee at the guild"]
    )
    path = f"/me/interviews/{first.id}"
    # session, the round with its opportunity and client, contacts, referrals, rounds,
    # tasks, unread count
    small, _html = _page_queries(browser, path)
    assert small == 7, small

    _old_rounds(world, 8, first.opportunity)
    _old_rounds(world, 8, start=8)
    large, html = _page_queries(browser, path)
    assert large == small, (small, large)
    assert html.count('data-testid="task-') >= 8  # the round's whole checklist
    # the round's contacts and referrals, read as rows
    assert "<strong>Dana Reyes</strong>, Hiring manager" in html
    assert "Interests: sailing" in html
    assert "<li>Lee at the guild</li>" in html


def test_checklist_lists_every_round_of_the_opportunity(app, world, as_user):
    browser = as_user(world.client_user)
    first = interview_for(world.profile, world.client_user, start_at=past(days=3))
    second = interview_for(
        world.profile, world.client_user, start_at=past(days=1), opportunity=first.opportunity
    )
    _count, html = _page_queries(browser, f"/me/interviews/{first.id}")
    assert f'href="/me/interviews/{second.id}"' in html
    assert "<strong>1</strong>" in html  # this round, first by start
