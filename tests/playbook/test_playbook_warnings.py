"""Non-blocking advice: tangible gifts, skills pitches, contacts too close together."""

from datetime import UTC, datetime, timedelta

import pytest

from coach_app.playbook import (
    contact_spacing_warnings,
    skills_pitch_warnings,
    tangible_gift_warnings,
)

UTC = UTC


@pytest.mark.parametrize(
    "text",
    [
        "A $25 gift card for the bookshop",
        "Gift-Card",
        "a COFFEE CARD",
        "a box of chocolates",
        "some candy for the team",
        "Flowers for her desk",
        "cash",
        "a voucher for a cooking class",
        "two concert tickets",
        "€20 towards lunch",
    ],
)
def test_tangible_gifts_are_flagged(text):
    messages = tangible_gift_warnings(text)
    assert len(messages) == 1
    assert "bribe" in messages[0]
    assert "informational gift" in messages[0]
    assert "article" in messages[0] and "association" in messages[0]


@pytest.mark.parametrize(
    "text",
    [
        "An article on quilt patterns she mentioned",
        "The title of a book about the history of jazz",
        "Web site of the regional woodworking association",
        "Her business card had the magazine's name on it",
        "candidate, cashier, flowering (word parts are not words)",
        "",
        None,
    ],
)
def test_informational_gifts_pass(text):
    assert tangible_gift_warnings(text) == []


def test_found_terms_are_named_once():
    [message] = tangible_gift_warnings("gift card, another gift card and candy")
    assert message.startswith('"gift card", "candy"')


@pytest.mark.parametrize(
    "text",
    [
        "Thank you. My skills in SQL would help your team.",
        "I am proficient in Python and skilled at negotiation.",
        "With my experience in logistics I bring a lot.",
        "I have expertise in payroll and am well qualified.",
        "Ten years of experience in retail.",
    ],
)
def test_skills_pitches_are_flagged(text):
    messages = skills_pitch_warnings(text)
    assert len(messages) == 1
    assert "skills" in messages[0]


def test_bulleted_lists_are_flagged():
    note = "Thank you for meeting me. I offer:\n- Excel\n- SQL\n* Tableau\n"
    messages = skills_pitch_warnings(note)
    assert len(messages) == 1
    assert "list" in messages[0]


def test_a_plain_thank_you_note_passes():
    note = (
        "Dear Ms Ortiz,\n\nThank you for our conversation on Tuesday about the new warehouse "
        "project. I enjoyed hearing about your team's move to the north site, and I remain "
        "very interested in the role.\n\nKind regards,\nSam"
    )
    assert skills_pitch_warnings(note) == []
    assert skills_pitch_warnings(None) == []


class TestContactSpacing:
    new = datetime(2024, 6, 10, 15, 0, tzinfo=UTC)

    def test_previous_contact_two_days_earlier(self):
        [message] = contact_spacing_warnings([self.new - timedelta(days=2)], self.new)
        assert message.startswith("This contact comes 2 days after another contact")
        assert "5 days" in message

    def test_nearest_contact_is_reported(self):
        previous = [self.new - timedelta(days=4, hours=23), self.new - timedelta(days=1)]
        [message] = contact_spacing_warnings(previous, self.new)
        assert "1 day after" in message

    def test_later_and_same_time_contacts(self):
        [after] = contact_spacing_warnings([self.new + timedelta(days=3)], self.new)
        assert "3 days before" in after
        [same] = contact_spacing_warnings([self.new - timedelta(hours=5)], self.new)
        assert "less than a day after" in same
        [equal] = contact_spacing_warnings([self.new], self.new)
        assert "same time" in equal

    def test_five_days_apart_is_fine(self):
        previous = [self.new - timedelta(days=5), self.new + timedelta(days=6)]
        assert contact_spacing_warnings(previous, self.new) == []
        assert contact_spacing_warnings([], self.new) == []

    def test_never_raises(self):
        naive = datetime(2024, 6, 9, 15, 0)
        assert contact_spacing_warnings([naive], self.new)  # naive is read as UTC
        assert contact_spacing_warnings([None, "yesterday"], self.new) == []
        assert contact_spacing_warnings(None, self.new) == []
        assert contact_spacing_warnings([self.new], None) == []
