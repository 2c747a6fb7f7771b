"""Form helpers shared by the blueprints."""

import json
from functools import cache

from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice

from coach_app.extensions import db
from coach_app.services import ServiceError
from coach_app.services.accounts import timezone_choices
from coach_app.services.zones import alias_targets, describe_stored, known_zones


@cache
def _zone_select_choices() -> tuple[SelectChoice, ...]:
    return tuple(SelectChoice(c.value, c.label, optgroup=c.region) for c in timezone_choices())


@cache
def _aliases_json() -> str:
    return json.dumps(alias_targets(), separators=(",", ":"), sort_keys=True)


class TimeZoneField(SelectField):
    """A select of current IANA zones grouped by region (services/zones.py).

    A zone already stored on the record (an older alias such as Africa/Asmera) is shown and
    accepted too: `keep(name)` adds it; data given to the form is kept automatically. With
    `guess=True`, static/timezone.js preselects the browser's zone while the field is empty.
    """

    def __init__(self, label=None, validators=None, *, blank: str | None = None, guess=False, **kw):
        self.blank = blank
        self.guess = guess
        self._kept: str | None = None
        super().__init__(label, validators, choices=self._all_choices(), default="", **kw)

    def _all_choices(self) -> list[SelectChoice]:
        kept = []
        if self._kept:
            kept = [SelectChoice(self._kept, describe_stored(self._kept), optgroup="Current")]
        blank = [SelectChoice("", self.blank)] if self.blank is not None else []
        return blank + kept + list(_zone_select_choices())

    def keep(self, tz_name: str | None) -> None:
        """Show and accept `tz_name` even if it is not offered (the record's stored zone)."""
        offered = {c.value for c in _zone_select_choices()}
        if tz_name and tz_name in known_zones() and tz_name not in offered:
            self._kept = tz_name
            self.choices = self._all_choices()

    def process(self, formdata, data=None, extra_filters=None):
        """Bind as usual, then keep a stored zone given as the field's data."""
        super().process(formdata, data, extra_filters)
        if isinstance(self.object_data, str):
            self.keep(self.object_data)

    def __call__(self, **kwargs):
        kwargs.setdefault("data-tz-select", True)
        if self.guess:
            kwargs.setdefault("data-tz-guess", True)
            kwargs.setdefault("data-tz-aliases", _aliases_json())
        return Markup(super().__call__(**kwargs))


def timezone_field(label: str = "Time zone", required: bool = False, guess: bool = False):
    """The zone select every form uses; blank means 'use the organisation's zone'."""
    return TimeZoneField(label, blank=None if required else "Organisation default", guess=guess)


def _render_field(self, field, render_kw):
    # The CSRF token is a hidden input that no label or script points at, and a page with
    # two forms would otherwise carry id="csrf_token" twice (tests/test_page_ids.py).
    if field.type == "CSRFTokenField":
        render_kw = {**render_kw, "id": False}
    return _default_render_field(self, field, render_kw)


# Once for every FlaskForm: each of the blueprints' forms renders its token without an id.
_default_render_field = FlaskForm.Meta.render_field
if getattr(_default_render_field, "__name__", "") != "_render_field":
    FlaskForm.Meta.render_field = _render_field


def apply_service_error(form, error) -> None:
    """Show a ServiceError next to the field it concerns (or at the form's top)."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        form.form_errors.append(error.message)


def commit_or_report(form, action):
    """Run one service action as this request's transaction: (True, result) once committed.

    A ServiceError rolls everything back and is shown next to its field; the view then
    re-renders the form with `(False, None)`. Views keep only what differs: what to call and
    where to go next.
    """
    try:
        result = action()
    except ServiceError as error:
        db.session.rollback()
        apply_service_error(form, error)
        return False, None
    db.session.commit()
    return True, result
