"""Route tables for tests/test_access_matrix.py, one module per feature.

Each module defines ROUTES: endpoint -> (method, url template, expected status per role).
URL templates may use {task}, {cohort}, {client}, {interview}, {opportunity}: ids of objects
that belong to `coach`'s client `client` in the main organisation; {client_user} is that
client's user id.
"""

ROLES = [
    "anon",
    "admin",
    "coach",
    "coach2",
    "client",
    "client2",
    "organizer",
    "organizer2",
    "foreign_admin",
    "foreign_coach",
]
STAFF_ONLY = {"anon": 302, "client": 403, "client2": 403, "organizer": 403, "organizer2": 403}


def expect(default, **overrides):
    """Expected status for every role: `default` unless overridden."""
    table = {role: default for role in ROLES}
    table["anon"] = 302
    table.update(overrides)
    return table
