"""Sessions, password confirmation and password reset routes for the access matrix."""

from tests.access_routes import expect

ROUTES = {
    "auth.sessions": ("GET", "/auth/sessions", expect(200)),
    # Nobody's session: sessions are only ever visible to their owner (tests/test_sessions.py).
    "auth.revoke_session": ("POST", "/auth/sessions/999999/revoke", expect(404)),
    "auth.revoke_other_sessions": ("POST", "/auth/sessions/others/revoke", expect(302)),
    "auth.confirm_password": ("GET", "/auth/confirm", expect(200)),
    "auth.forgot_password": ("GET", "/auth/reset", expect(200, anon=200)),
    "auth.reset_password": ("GET", "/auth/reset/not-a-token", expect(410, anon=410)),
    # {client_user} is the user id of `client`; only their organisation's admin may send.
    "auth.send_reset": (
        "POST",
        "/auth/reset/send/{client_user}",
        expect(403, admin=302, foreign_admin=404),
    ),
}
