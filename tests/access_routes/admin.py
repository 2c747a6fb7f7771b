"""Admin pages (people, reminder delivery, reminder policy) for the access matrix."""

from tests.access_routes import expect

ADMINS = expect(403, admin=200, foreign_admin=200)

ROUTES = {
    "admin.users": ("GET", "/admin/users", ADMINS),
    "admin.operations": ("GET", "/admin/ops", ADMINS),
    "admin.reminder_policy_page": ("GET", "/admin/reminders", ADMINS),
    # Outbox row {task} exists (the task's reminders were written first) and belongs to the
    # main organisation; it has not failed, so the admin's retry changes nothing (302 back).
    "admin.retry_outbox": (
        "POST",
        "/admin/outbox/{task}/retry",
        expect(403, admin=302, foreign_admin=404),
    ),
}
