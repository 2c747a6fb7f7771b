"""Time-zone choices: current IANA names grouped by region, aliases kept for those who have one."""

import json
import re
from zoneinfo import ZoneInfo

import pytest
import wtforms
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from coach_app.extensions import db
from coach_app.forms import TimeZoneField, timezone_field
from coach_app.models import ClientProfile, User
from coach_app.services import zones
from coach_app.services.accounts import timezone_choices
from tests.factories import interview_for

ALIASES = [
    "Africa/Asmera",
    "Africa/Timbuktu",
    "Asia/Calcutta",
    "Europe/Kiev",
    "America/Buenos_Aires",
    "US/Eastern",
    "US/Pacific",
    "Etc/GMT+5",
    "Etc/UTC",
    "GMT",
    "EST5EDT",
]


def _values():
    return [choice.value for choice in timezone_choices()]


def test_choices_hold_no_alias_and_every_one_loads():
    values = _values()
    assert len(values) == len(set(values))
    for alias in ALIASES:
        assert alias not in values, alias
    assert not [v for v in values if v.startswith(("US/", "Etc/", "SystemV/"))]
    for value in values:
        ZoneInfo(value)  # every offered name loads
    # Current names of places that were renamed are offered, and places merged by tzdata
    # (Europe/Amsterdam links to Europe/Brussels since 2022) are still listed by name.
    for current in ("Africa/Asmara", "Asia/Kolkata", "Europe/Kyiv", "Europe/Amsterdam"):
        assert current in values, current
    assert "America/Argentina/Buenos_Aires" in values
    assert 350 < len(values) < 480  # far fewer than the ~600 names zoneinfo knows


def test_choices_are_grouped_by_region_with_utc_first():
    choices = timezone_choices()
    assert (choices[0].value, choices[0].region) == ("UTC", None)
    rest = choices[1:]
    assert all(c.region == c.value.split("/", 1)[0] for c in rest)
    regions = [c.region for c in rest]
    # Each region is one contiguous block, the blocks A-Z, places A-Z within each.
    blocks = [r for i, r in enumerate(regions) if i == 0 or regions[i - 1] != r]
    assert blocks == sorted(set(regions))
    assert {"Africa", "America", "Asia", "Europe", "Pacific"} <= set(blocks)
    for region in blocks:
        labels = [c.label.casefold() for c in rest if c.region == region]
        assert labels == sorted(labels)
    buenos = next(c for c in rest if c.value == "America/Argentina/Buenos_Aires")
    assert buenos.label == "Argentina / Buenos Aires"


def test_aliases_point_at_an_offered_name():
    targets = zones.alias_targets()
    assert targets["Asia/Calcutta"] == "Asia/Kolkata"
    assert targets["Europe/Kiev"] == "Europe/Kyiv"
    assert targets["US/Eastern"] == "America/New_York"
    assert targets["Etc/UTC"] == "UTC"
    offered = set(_values())
    assert all(target in offered for target in targets.values())
    assert not offered & set(targets)


def test_the_select_renders_optgroups_and_marks_itself_for_the_script(app, world, as_user):
    html = as_user(world.coach).get("/coach/invite").get_data(as_text=True)
    select_html = html.split("<select", 1)[1].split("</select>")[0]
    assert "data-tz-select" in select_html
    assert '<optgroup label="Europe">' in select_html
    assert '<option value="Europe/Paris">Paris</option>' in select_html
    assert "Africa/Asmera" not in select_html and "US/Eastern" not in select_html
    assert '<option selected value="">Organisation default</option>' in select_html
    # Someone else's zone: the coach's browser zone is not preselected for the client.
    assert "data-tz-guess" not in select_html
    # The script is a static file with this request's nonce, never inline.
    script = re.search(r'<script src="/static/timezone.js" nonce="([^"]+)" defer></script>', html)
    assert script is not None
    response = as_user(world.coach).get("/static/timezone.js")
    assert response.status_code == 200 and "resolvedOptions().timeZone" in response.get_data(
        as_text=True
    )
    response.close()


def test_own_zone_fields_preselect_the_browser_zone(app, world, as_user):
    html = as_user(world.client_user).get("/account/").get_data(as_text=True)
    select_html = html.split("<select", 1)[1].split(">", 1)[0]
    assert "data-tz-guess" in select_html
    aliases = json.loads(
        re.search(r"data-tz-aliases=\"([^\"]+)\"", select_html).group(1).replace("&#34;", '"')
    )
    assert aliases["Asia/Calcutta"] == "Asia/Kolkata"


def test_an_alias_stored_on_a_user_is_shown_and_still_accepted(app, world, as_user):
    world.client_user.timezone = "Africa/Asmera"
    db.session.commit()
    browser = as_user(world.client_user)
    html = browser.get("/account/").get_data(as_text=True)
    assert '<optgroup label="Current"><option selected value="Africa/Asmera">' in html
    assert "Africa/Asmera (an older name; same clock as Africa/Nairobi)" in html
    # Saving the profile with the stored alias (the name changes) is accepted.
    response = browser.post("/account/", data={"name": "Cleo Renamed", "timezone": "Africa/Asmera"})
    assert response.status_code == 302
    db.session.expire_all()
    user = db.session.get(User, world.client_user.id)
    assert (user.name, user.timezone) == ("Cleo Renamed", "Africa/Asmera")
    # Another alias nobody stored is not offered, so it is refused and nothing changes.
    response = browser.post("/account/", data={"name": "Cleo", "timezone": "Africa/Timbuktu"})
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(User, world.client_user.id).timezone == "Africa/Asmera"
    # Moving to a current zone works, and the alias is then no longer offered.
    assert (
        browser.post("/account/", data={"name": "Cleo", "timezone": "Africa/Asmara"}).status_code
        == 302
    )
    html = browser.get("/account/").get_data(as_text=True)
    assert 'value="Africa/Asmera"' not in html and 'selected value="Africa/Asmara"' in html


def test_an_alias_is_refused_for_a_new_person(app, world, as_user):
    coach = as_user(world.coach)
    data = {"name": "Nia New", "email": "nia@acme.example", "timezone": "US/Eastern"}
    response = coach.post("/coach/invite", data=data)
    assert response.status_code == 400
    assert db.session.scalar(select(User).where(User.email == "nia@acme.example")) is None
    data["timezone"] = "America/New_York"
    assert coach.post("/coach/invite", data=data).status_code == 200
    profile = db.session.scalar(
        select(ClientProfile)
        .join(User, User.id == ClientProfile.user_id)
        .where(User.email == "nia@acme.example")
    )
    assert profile.user.timezone == "America/New_York"


def test_an_interview_logged_in_an_alias_zone_keeps_it_when_edited(app, world, as_user):
    interview = interview_for(world.profile, world.client_user)
    interview.timezone = "Asia/Calcutta"
    db.session.commit()
    browser = as_user(world.client_user)
    html = browser.get(f"/me/interviews/{interview.id}/edit").get_data(as_text=True)
    assert 'selected value="Asia/Calcutta"' in html


def test_the_field_keeps_only_known_names():
    class Form(wtforms.Form):
        timezone = timezone_field("Zone")

    form = Form(data={"timezone": "Not/AZone"})
    assert isinstance(form.timezone, TimeZoneField)
    assert "Not/AZone" not in {c.value for c in form.timezone.choices}
    assert not form.validate()
    form = Form(data={"timezone": "US/Pacific"})
    assert form.timezone.choices[1].value == "US/Pacific" and form.validate()
    # Posted without being the stored value, the same alias is refused.
    form = Form(formdata=MultiDict({"timezone": "US/Pacific"}))
    assert not form.validate()


@pytest.mark.parametrize("name", ["UTC", "Europe/Paris", "Africa/Asmera"])
def test_services_accept_every_known_name(name):
    from coach_app.services.accounts import check_timezone

    assert check_timezone(name) == name
