"""Hostile input to every route, as every role: never a 5xx, never a partial write.

Hypothesis picks a rule of `app.url_map` (any method it allows), a role (anonymous, admin,
coach, client, organizer, another organisation's admin), values for the path's parameters
(real ids of the world's objects, or hostile ones), a query string and a form body drawn
from the field names the app's own pages use plus hostile names and values: NUL and other
control characters, huge and negative numbers, very long strings, unicode, wrong types
(repeated keys, JSON-looking text), missing fields.

Every answer must be below 500. When it is a 4xx, no table may have gained or lost a row
(counted from a separate connection, so only committed rows count); security bookkeeping
such as failed sign-ins and the audit trail of a refusal is the exception. A GET must not
write at all.

Runs on SQLite and on PostgreSQL (TEST_DATABASE_URL). FT_FUZZ_EXAMPLES sets the number of
requests per test (default sized for CI on two cores, about a minute per engine); for a
longer hunt outside CI, try FT_FUZZ_EXAMPLES=5000.
"""

import os
import re
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import event as hypothesis_event
from hypothesis import strategies as st
from sqlalchemy import event, text
from werkzeug.datastructures import MultiDict

from coach_app.extensions import db
from tests.conftest import login
from tests.test_access_matrix import objects  # noqa: F401  (the fixture)

pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("FT_FUZZ_EXAMPLES", "300"))
ROLES = ["anon", "admin", "coach", "client", "organizer", "foreign_admin"]
# Tables a refused request may still write: the record of the refusal itself.
BOOKKEEPING = re.compile(r"attempt|audit|session", re.I)
# Tables any request may write, GET included: bookkeeping, not state a person changed. A
# session's "last seen" (at most once a minute) and the audit record of a download (exports
# and the audit log's CSV are links, so their record is written by a GET).
GET_MAY_WRITE = frozenset({"user_sessions", "audit_events"})
# Query keys the views read (found in the code, not on the pages' forms).
QUERY_KEYS = [
    "q", "cohort", "coach", "page", "per_page", "sort", "dir", "overdue", "archived", "rule",
    "kind", "start", "end", "industry", "format", "rounds", "next", "opportunity", "view",
]  # fmt: skip
HOSTILE = [
    "", " ", "\x00", "a\x00b", "\x01", "\x1b[31m", "\x7f", "\x85", "\t", "\r\n", "\u2028",
    "\ufeff", "\u202e", "-1", "0", "1", str(2**31 - 1), str(2**31), str(2**63), str(2**64),
    str(-(2**63)), "1e309", "NaN", "-0", "0x10", "1.5", "9999-12-31", "0000-00-00",
    "2026-02-30", "1970-01-01", "25:61", "<script>alert(1)</script>", "' OR 1=1 --",
    "=HYPERLINK(\"http://x\")", "../../etc/passwd", "true", "[]", "{}", "null", "x" * 5000,
    "é" * 300, "😀" * 200, "coach@acme.example", "a@b", "on", "y", "decline", "approve",
]  # fmt: skip
values = st.one_of(
    st.sampled_from(HOSTILE),
    # Mostly printable text, so that requests get past the control-character filter too.
    st.text(st.characters(exclude_categories=("Cs", "Cc")), max_size=60),
    st.text(max_size=60),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
)
# Which of the world's objects a path parameter names when it takes a real id.
REAL_OBJECT = {
    "client_id": "client",
    "task_id": "task",
    "interview_id": "interview",
    "opportunity_id": "opportunity",
    "cohort_id": "cohort",
    "message_id": "task",  # the task's first outbox row has the same id in a fresh world
}
FIELD_NAME = re.compile(r'name="([^"]+)"')


def row_counts() -> dict[str, int]:
    """Rows per table, read on a connection of its own (committed data only)."""
    tables = [t.name for t in db.metadata.sorted_tables]
    query = " UNION ALL ".join(f"SELECT '{name}', COUNT(*) FROM \"{name}\"" for name in tables)
    with db.engine.connect() as connection:
        return dict(connection.execute(text(query)).all())


def _users(world):
    return {
        "admin": world.admin,
        "coach": world.coach,
        "client": world.client_user,
        "organizer": world.organizer,
        "foreign_admin": world.foreign_admin,
    }


class WriteRecorder:
    """Records INSERT/UPDATE/DELETE statements run on the engine while active."""

    def __init__(self, engine):
        self.engine = engine
        self.statements = []
        self.active = False

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._record)

    def _record(self, _conn, _cursor, statement, *_args):
        head = statement.lstrip().split(None, 3)
        if self.active and head and head[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            table = head[2] if head[0].upper() != "UPDATE" else head[1]
            if table.strip('"') not in GET_MAY_WRITE:
                self.statements.append(statement.split("\n")[0][:120])


class Fuzzer:
    """The app's rules, signed-in test clients per role, and the field names its pages use."""

    def __init__(self, app, world, objects):  # noqa: F811
        self.app = app
        self.world = world
        self.objects = objects
        self.users = _users(world)
        self.cookies = {role: self.sign_in(role) for role in ROLES}
        self.rules = sorted(
            (rule for rule in app.url_map.iter_rules() if rule.endpoint != "static"),
            key=lambda rule: (rule.rule, rule.endpoint),
        )
        self.fields = sorted(self.discover_fields())

    def sign_in(self, role):
        """The session cookie of a fresh sign-in as `role` (None for anonymous)."""
        if role == "anon":
            return None
        browser = self.app.test_client()
        login(browser, self.users[role].email)
        return browser.get_cookie(self.app.config["SESSION_COOKIE_NAME"]).value

    def browser(self, role):
        """A test client holding `role`'s session as it was after signing in.

        Fresh for every request: a fuzzed sign-out, password change or pile of flashed
        messages in one request must not turn the next request's admin into someone else.
        """
        browser = self.app.test_client()
        if self.cookies[role] is not None:
            browser.set_cookie(self.app.config["SESSION_COOKIE_NAME"], self.cookies[role])
        return browser

    def discover_fields(self) -> set[str]:
        names = {"csrf_token", "email", "password", "name", "body", "reason", "decision"}
        for role in ("admin", "coach", "client", "organizer"):
            for rule in self.rules:
                if "GET" not in rule.methods or rule.rule.startswith("/analytics/_"):
                    continue
                url = self.fill(rule, {arg: None for arg in rule.arguments})
                html = self.browser(role).get(url).get_data(as_text=True)
                names.update(FIELD_NAME.findall(html))
            db.session.rollback()
        return names

    def fill(self, rule, chosen: dict) -> str:
        """The rule's path with each parameter replaced by `chosen` (None: a real object's id)."""

        def replace(match):
            converter, name = match.group(1) or "default", match.group(2)
            value = chosen.get(name)
            if value is None:
                if converter != "int":
                    return "x"
                kind = REAL_OBJECT.get(name, "task")
                return str(self.objects[kind])
            return quote(value, safe="/" if converter == "path" else "")

        return re.sub(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>", replace, rule.rule)


@pytest.fixture
def fuzzer(app, world, objects):  # noqa: F811
    return Fuzzer(app, world, objects)


def _check(fuzzer, role, method, url, query, form):
    before = row_counts()
    with WriteRecorder(db.engine) as recorder:
        recorder.active = method == "GET"
        response = fuzzer.browser(role).open(url, method=method, query_string=query, data=form)
    status = response.status_code
    hypothesis_event(f"answer {status // 100}xx")  # shown with --hypothesis-show-statistics
    where = f"{method} {url} as {role} query={query!r:.300} form={form!r:.300}"
    db.session.rollback()  # what a request's teardown does outside tests
    assert status < 500 or (status == 503 and url == "/readyz"), f"{status} for {where}"
    if 400 <= status < 500 or method == "GET":
        after = row_counts()
        changed = {
            table: (before[table], after[table])
            for table in before
            if before[table] != after[table] and not BOOKKEEPING.search(table)
        }
        assert not changed, f"{status} for {where} changed rows: {changed}"
    assert not recorder.statements, f"{status} for {where} wrote: {recorder.statements}"


fuzz_settings = settings(
    max_examples=EXAMPLES,
    deadline=None,
    print_blob=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)


@fuzz_settings
@given(data=st.data())
def test_every_route_survives_hostile_input_as_every_role(fuzzer, data):
    rule = data.draw(st.sampled_from(fuzzer.rules), label="rule")
    method = data.draw(st.sampled_from(sorted(rule.methods - {"HEAD", "OPTIONS"})))
    role = data.draw(st.sampled_from(ROLES), label="role")
    chosen = {
        arg: data.draw(st.one_of(st.none(), values), label=arg) for arg in sorted(rule.arguments)
    }
    url = fuzzer.fill(rule, chosen)
    keys = st.one_of(st.sampled_from(fuzzer.fields + QUERY_KEYS), st.text(max_size=20))
    pairs = st.lists(st.tuples(keys, values), max_size=8)
    query = data.draw(pairs, label="query")
    form = data.draw(pairs, label="form") if method != "GET" else []
    _check(fuzzer, role, method, url, MultiDict(query), MultiDict(form))


@fuzz_settings
@given(data=st.data())
def test_every_form_survives_hostile_values_in_its_own_fields(fuzzer, data):
    """Posts to the rules that take a body, with the fields their pages really have."""
    rule = data.draw(
        st.sampled_from([r for r in fuzzer.rules if "POST" in r.methods]), label="rule"
    )
    role = data.draw(st.sampled_from(ROLES), label="role")
    url = fuzzer.fill(rule, {})
    form = data.draw(
        st.dictionaries(st.sampled_from(fuzzer.fields), values, max_size=12), label="form"
    )
    _check(fuzzer, role, "POST", url, [], form)
