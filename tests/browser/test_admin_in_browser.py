"""An admin deactivating a coach and reading the audit log, in a real browser with CSRF on."""

from datetime import UTC, datetime, timedelta

import pytest

from coach_app.extensions import db
from coach_app.models import AuditEvent, ClientProfile, Organization, Role, User
from coach_app.services.accounts import create_user, invite_staff
from tests.browser.conftest import screenshot
from tests.browser.test_roles_in_browser import sign_in
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser
TZ = "Europe/London"
SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.fixture(scope="module")
def org(live_server):
    with live_server.app_context():
        org = Organization(name="Admin Browser Coaching", timezone=TZ)
        db.session.add(org)
        db.session.flush()

        def person(role, email, name, password=PASSWORD):
            return create_user(
                organization_id=org.id, role=role, email=email, name=name,
                password=password, timezone=TZ,
            )  # fmt: skip

        admin = person(Role.ADMIN, "ada@admin.example", "Ada Admin")
        coach = person(Role.COACH, "cora@admin.example", "Cora Coach")
        person(Role.COACH, "cole@admin.example", "Cole Coach")
        person(Role.ORGANIZER, "olga@admin.example", "Olga Organizer")
        for number in range(12):
            client = person(Role.CLIENT, f"client{number}@admin.example", f"Client {number:02d}")
            db.session.add(
                ClientProfile(user_id=client.id, organization_id=org.id, coach_id=coach.id)
            )
        invite_staff(admin=admin, role=Role.COACH, email="nina@admin.example", name="Nina New")
        start = datetime.now(UTC) - timedelta(days=2)
        for minute, action in enumerate(("auth.sign_in", "task.waived", "export.downloaded")):
            at = start + timedelta(minutes=minute)
            db.session.add(
                AuditEvent(
                    organization_id=org.id, actor_id=coach.id, action=action,
                    object_type="User", object_id=coach.id, created_at=at,
                )
            )  # fmt: skip
        db.session.commit()
        return {"base": live_server.config["BASE_URL"], "coach_id": coach.id}


def test_admin_deactivates_a_coach_and_reads_the_audit_log(new_page, org, live_server):
    base = org["base"]
    page = new_page()
    sign_in(page, base, "ada@admin.example")
    page.goto(f"{base}/admin/users")
    row = page.locator(f'tr[data-person="{org["coach_id"]}"]')
    row.get_by_role("link", name="Deactivate").click()
    warning = page.locator('[data-testid="clients-warning"]').inner_text()
    assert "still coaches 12 active clients" in warning
    page.get_by_role("button", name="Deactivate Cora Coach").click()
    page.wait_for_load_state()
    assert "Cora Coach is deactivated" in page.content()
    with live_server.app_context():
        assert db.session.get(User, org["coach_id"]).active is False

    page.goto(f"{base}/admin/audit")
    assert page.locator('tr[data-action="user.deactivated"]').count() == 1
    page.get_by_label("Action").select_option("task.waived")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_load_state()
    assert page.locator("tr[data-action]").count() == 1


@pytest.mark.parametrize("size", sorted(SIZES))
def test_people_and_audit_pages_at_desktop_and_phone_sizes(new_page, org, size):
    base = org["base"]
    page = new_page(viewport=SIZES[size])
    sign_in(page, base, "ada@admin.example")
    for path, name in [
        ("/admin/users", "people"),
        ("/admin/clients", "clients"),
        (f"/admin/people/{org['coach_id']}", "person"),
        ("/admin/invitations", "invitations"),
        ("/admin/audit", "audit"),
    ]:
        page.goto(f"{base}{path}")
        assert page.locator("h1").count() == 1
        # Nothing wider than the screen: a phone never scrolls sideways.
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= SIZES[size]["width"], (path, width)
        screenshot(page, f"admin-{name}-{size}")
