"""Routes added for issue 13's input and header work, for the access matrix."""

from tests.access_routes import expect

ROUTES = {
    # Every signed-in person marks their own notifications read (a POST: GET changes nothing).
    "main.mark_notifications_read": ("POST", "/notifications/read", expect(302)),
}
