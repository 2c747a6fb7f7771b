"""Reminder pages (preferences, snooze, unsubscribe) for the access matrix."""

from tests.access_routes import expect

ROUTES = {
    # Every signed-in person has a reminder settings page (some roles have nothing to set).
    "reminders.settings": ("GET", "/settings/reminders", expect(200)),
    # Client only, through get_visible_or_404: the task's own client snoozes (and is sent back).
    "reminders.snooze_task": (
        "POST",
        "/tasks/{task}/snooze",
        expect(403, client=302, client2=404),
    ),
    # Works without signing in: the signed token is the credential; a bad one is 404 for all.
    "reminders.unsubscribe": ("GET", "/unsubscribe/not-a-token", expect(404, anon=404)),
}
