"""Admin pages for people and the audit log, for the access matrix.

Only the main organisation's admin reaches a person of the main organisation; the other
organisation's admin gets 404 for them (access.py scopes User by organisation), every other
role 403. The POSTs are chosen so the admin's request changes nothing that later roles need:
deactivating oneself and posting an empty role form are refused (400), reactivating an active
account and resending to someone with a password change nothing (302 back).
"""

from tests.access_routes import expect

ADMINS = expect(403, admin=200, foreign_admin=200)
MAIN_ADMIN = expect(403, admin=200, foreign_admin=404)

ROUTES = {
    "admin.clients": ("GET", "/admin/clients", ADMINS),
    "admin.invitations": ("GET", "/admin/invitations", ADMINS),
    "admin.audit": ("GET", "/admin/audit", ADMINS),
    "admin.audit_csv": ("GET", "/admin/audit.csv", ADMINS),
    "admin.person": ("GET", "/admin/people/{client_user}", MAIN_ADMIN),
    "admin.change_role": (
        "POST",
        "/admin/people/{admin_user}/role",
        expect(403, admin=400, foreign_admin=404),
    ),
    "admin.deactivate": (
        "POST",
        "/admin/people/{admin_user}/deactivate",
        expect(403, admin=400, foreign_admin=404),
    ),
    "admin.reactivate": (
        "POST",
        "/admin/people/{coach_user}/reactivate",
        expect(403, admin=302, foreign_admin=404),
    ),
    "admin.resend_invitation": (
        "POST",
        "/admin/people/{client_user}/invitation",
        expect(403, admin=302, foreign_admin=404),
    ),
    # No invitation exists in the matrix's world: the id only tests the role gate (403) and
    # that a missing invitation is a 404 for admins. tests/test_admin_people.py covers a real
    # invitation of another organisation.
    "admin.revoke_invitation": (
        "POST",
        "/admin/invitations/999999/revoke",
        expect(403, admin=404, foreign_admin=404),
    ),
}
