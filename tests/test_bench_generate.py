"""The benchmark generator writes what the services would have: checked on a small load."""

from sqlalchemy import create_engine, text

from benchmarks.generate import generate
from coach_app import playbook
from coach_app.extensions import db
from tests.conftest import make_app


def test_generated_history_follows_the_services_life_cycle(tmp_path):
    url = f"sqlite:///{tmp_path / 'bench.sqlite3'}"
    app = make_app(url, tmp_path)
    with app.app_context():
        db.create_all()
        db.engine.dispose()
    counts = generate(url, 300)
    assert counts["tasks"] > 300 * 30 and counts["waived_tasks"] > 0
    engine = create_engine(url)
    with engine.connect() as connection:
        one = lambda sql: connection.execute(text(sql)).scalar()  # noqa: E731
        assert connection.execute(text("PRAGMA foreign_key_check")).all() == []
        # Keys and unique constraints were rebuilt after the load.
        assert one("SELECT COUNT(*) FROM sqlite_master WHERE type = 'index'") > 10
        # A decision waived only what DECISION_WAIVES lists, and only tasks still pending then.
        for outcome, rules in playbook.DECISION_WAIVES.items():
            allowed = ", ".join(f"'{rule.value}'" for rule in rules)
            assert not one(
                "SELECT COUNT(*) FROM follow_up_tasks t JOIN opportunities o"
                " ON o.id = t.opportunity_id WHERE t.waived_reason = 'decision recorded'"
                f" AND o.outcome = '{outcome.value}' AND (t.rule NOT IN ({allowed})"
                " OR t.due_at <= o.decided_at OR t.waived_at != o.decided_at)"
            )
        assert one("SELECT COUNT(*) FROM follow_up_tasks WHERE waived_reason = :r".replace(
            ":r", f"'{playbook.SUPERSEDED_REASON}'"))  # fmt: skip
        assert not one(
            "SELECT COUNT(*) FROM follow_up_tasks WHERE waived_reason IS NOT NULL"
            " AND (completed_at IS NOT NULL OR waived_at IS NULL)"
        )
        # Every rejection brought up its thanks; no open opportunity has a decision date.
        assert one("SELECT COUNT(*) FROM opportunities WHERE outcome = 'rejected'") == one(
            "SELECT COUNT(*) FROM follow_up_tasks WHERE rule = 'rejection_thanks'"
        )
        assert not one("SELECT COUNT(*) FROM opportunities WHERE outcome = 'open'"
                       " AND decided_at IS NOT NULL")  # fmt: skip
        assert one("SELECT COUNT(*) FROM cohort_members") == 240
        assert one("SELECT COUNT(*) FROM user_sessions WHERE expires_at > datetime('now')") > 0
    engine.dispose()
