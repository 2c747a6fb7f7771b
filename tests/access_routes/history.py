"""Correcting history (edit and delete a round or an opportunity) and everyone's profile.

The edit and delete pages serve the client, their coach and the organisation's admin like
the checklist does; everyone else gets 404 (another coach, another client, another
organisation) or 403 (organizers, by role). Only the GET pages are walked: a deletion needs
its confirmation, which tests/test_correcting_history.py posts. The profile is for every
signed-in person; a made-up email-change link is refused (410) for everyone.
"""

from tests.access_routes import expect

OWNERS = {"admin": 200, "coach": 200, "client": 200, "organizer": 403, "organizer2": 403}
SIGNED_IN = expect(200)

ROUTES = {
    "client.edit_interview": ("GET", "/me/interviews/{interview}/edit", expect(404, **OWNERS)),
    "client.delete_interview": (
        "GET",
        "/me/interviews/{interview}/delete",
        expect(404, **OWNERS),
    ),
    "client.delete_opportunity": (
        "GET",
        "/me/opportunities/{opportunity}/delete",
        expect(404, **OWNERS),
    ),
    "account.profile_page": ("GET", "/account/", SIGNED_IN),
    "account.change_email": ("GET", "/account/email", SIGNED_IN),
    "account.confirm_email": ("GET", "/account/email/confirm/not-a-real-token", expect(410)),
}
