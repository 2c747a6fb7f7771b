"""Second-factor pages (the person's own two-step page, the challenge, the admin's page)."""

from tests.access_routes import expect

ADMINS_400 = expect(403, admin=400, foreign_admin=400)

ROUTES = {
    # Everyone signed in manages their own second factor only: nothing here takes an id.
    "auth.two_factor": ("GET", "/auth/two-factor", expect(200)),
    "auth.two_factor_setup": ("POST", "/auth/two-factor/setup", expect(302)),
    "auth.two_factor_cancel": ("POST", "/auth/two-factor/cancel", expect(302)),
    # Empty forms: refused with 400 for every signed-in role, changing nothing.
    "auth.two_factor_confirm": ("POST", "/auth/two-factor/confirm", expect(400)),
    "auth.two_factor_recovery_codes": ("POST", "/auth/two-factor/recovery-codes", expect(400)),
    "auth.two_factor_disable": ("POST", "/auth/two-factor/disable", expect(400)),
    "auth.two_factor_forget_devices": ("POST", "/auth/two-factor/devices/forget", expect(302)),
    # Signed-in people are sent home; without a pending sign-in, back to the login page.
    "auth.two_factor_challenge": ("GET", "/auth/two-factor/challenge", expect(302)),
    "admin.security": ("GET", "/admin/security", expect(403, admin=200, foreign_admin=200)),
    "admin.reset_two_factor": ("POST", "/admin/security/reset", ADMINS_400),
}
