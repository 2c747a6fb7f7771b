"""Client pages (home, logging, checklists, tasks, outcomes) for the access matrix.

Object pages also serve the client's coach and the organisation's admin; everyone else gets
404 (another coach, another client, another organisation) or 403 (organizers, by role).
POST routes are sent empty: the form is invalid (400) and nothing is written, so the walk
through the roles never changes the objects the next role sees.
"""

from tests.access_routes import expect

CLIENT_ONLY = expect(403, client=200, client2=200)
# Who may open (or post to) an object of `coach`'s client, and with which answer.
OWNERS = {"admin": 200, "coach": 200, "client": 200, "organizer": 403, "organizer2": 403}
INVALID_POST = {role: 400 if status == 200 else status for role, status in OWNERS.items()}

ROUTES = {
    "client.home": ("GET", "/me/", CLIENT_ONLY),
    "client.log_interview": ("GET", "/me/interviews/new", CLIENT_ONLY),
    "client.interview": ("GET", "/me/interviews/{interview}", expect(404, **OWNERS)),
    "client.add_referral": (
        "POST",
        "/me/interviews/{interview}/referrals",
        expect(404, **INVALID_POST),
    ),
    "client.task": ("GET", "/me/tasks/{task}", expect(404, **OWNERS)),
    "client.complete_task": ("POST", "/me/tasks/{task}/complete", expect(404, **INVALID_POST)),
    "client.waive_task": ("POST", "/me/tasks/{task}/waive", expect(404, **INVALID_POST)),
    # The task is not waived, so un-waiving it is refused (400) and nothing changes.
    "client.unwaive_task": ("POST", "/me/tasks/{task}/unwaive", expect(404, **INVALID_POST)),
    # The task is not done, so undoing its completion is refused (400) and nothing changes.
    "client.undo_completion": ("POST", "/me/tasks/{task}/undo", expect(404, **INVALID_POST)),
    "client.record_outcome": (
        "GET",
        "/me/opportunities/{opportunity}/outcome",
        expect(404, **OWNERS),
    ),
}
