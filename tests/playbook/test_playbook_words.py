"""What people read: plain second-person words, no jargon, quotes as the person wrote them."""

import pytest

from coach_app.playbook import RULES
from coach_app.playbook.reminders import KINDS, TASK_KINDS, body_text
from coach_app.playbook.warnings import tangible_gift_warnings


@pytest.mark.parametrize("spec", list(RULES.values()), ids=lambda s: s.id.value)
def test_every_step_speaks_to_the_client_in_plain_words(spec):
    assert spec.todo and spec.todo[0].isupper() and spec.todo.endswith(".")
    lowered = spec.todo.lower()
    assert "playbook" not in lowered and "the client" not in lowered


@pytest.mark.parametrize("kind", TASK_KINDS)
def test_reminder_bodies_have_no_jargon(kind):
    assert kind in KINDS
    for spec in RULES.values():
        text = body_text(kind, spec)
        assert "playbook" not in text.lower() and spec.todo in text


@pytest.mark.parametrize(
    ("written", "quoted"),
    [("a $25 card.", '"$25"'), ("£1,000.50 of wine", '"£1,000.50"'), ("€ 3 voucher", '"€ 3"')],
)
def test_prices_are_quoted_whole(written, quoted):
    [warning] = tangible_gift_warnings(written)
    assert warning.startswith(quoted)
