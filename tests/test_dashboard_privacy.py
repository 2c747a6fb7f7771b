"""Organisers can't isolate a client by differencing two filters (issue 13, item 2).

Every pair of neighbouring organiser filters (day by day and month by month at both ends of
the date range, each cohort, each industry, each rounds choice) is asked for every organiser
view. Whenever a figure is shown under both filters and differs, an independent oracle (the
admin's unsuppressed per-client and per-opportunity views over the same sets) says which
clients the difference rests on: never fewer than MIN_GROUP_SIZE.
"""

import io
from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from coach_app.models.analytics import FACT_RULES
from coach_app.playbook import MIN_GROUP_SIZE
from coach_app.playbook.analytics import rule_group
from dashboards import data, privacy
from tests.privacy_fixtures import NOW, build_crowd

MEASURES = tuple(data.MEASURES)


@pytest.fixture
def crowd(world, monkeypatch):
    monkeypatch.setattr(data, "current_time", lambda: NOW)
    _FIGURES.clear()
    return build_crowd(world)


def _month_bounds(month: str) -> tuple[date, date]:
    first = date.fromisoformat(f"{month}-01")
    return first, data.privacy.month_end(first)


# --- the oracle: the admin's unsuppressed views over the same opportunities -----------------


class Oracle:
    """Which clients a difference between two organiser filters rests on, per figure."""

    def __init__(self, world, crowd):
        self.admin = world.admin
        self.organizer = world.organizer
        self.mine = (crowd.spring.id, crowd.solo.id, crowd.late.id)
        self.cache = {}

    def admin_filters(self, filters: data.Filters) -> data.Filters:
        applied = data.applied_filters(self.organizer, filters)
        return replace(applied, cohorts=applied.cohorts or self.mine)

    def _clients(self, filters) -> pd.DataFrame:
        key = ("clients", filters)
        if key not in self.cache:
            frame = data.by_client(self.admin, filters, NOW)
            self.cache[key] = frame.set_index("client_id") if len(frame) else frame
        return self.cache[key]

    def _opportunities(self, filters) -> pd.DataFrame:
        key = ("opps", filters)
        if key not in self.cache:
            frame = data.opportunities(self.admin, filters, NOW)
            self.cache[key] = frame.set_index("opportunity_id")
        return self.cache[key]

    def measure_clients(self, a, b, measure) -> set:
        """Clients whose counts for `measure` (None: opportunities) differ between a and b."""
        first, second = self._clients(a), self._clients(b)
        columns = ["opportunities"]
        if measure:
            columns = [f"{measure}_num", f"{measure}_den"]
        ids = set(first.index) | set(second.index)
        empty = pd.Series(0, index=columns)

        def row(frame, i):
            return frame.loc[i, columns] if i in frame.index else empty

        return {i for i in ids if row(first, i).tolist() != row(second, i).tolist()}

    def opportunity_clients(self, a, b, keep) -> set:
        """Clients of the decided opportunities in one set and not the other, within `keep`."""
        first, second = self._opportunities(a), self._opportunities(b)
        both = pd.concat([first, second])
        changed = set(first.index) ^ set(second.index)
        rows = both[both.index.isin(changed)]
        rows = rows[~rows.index.duplicated()]
        return set(rows[[keep(r) for r in rows.to_dict("records")]]["client_id"])


def _group_of(rule, group):
    def keep(record):
        counts = [record[f"{rule}_{p}"] for p in ("on_time", "late", "missed")]
        return rule_group(*counts) == group

    return keep


_FIGURES = {}


def organizer_figures(user, filters) -> dict:
    """Every figure an organiser sees for `filters`: key -> (value, oracle question)."""
    key = (user.id, filters)
    if key not in _FIGURES:
        _FIGURES[key] = _organizer_figures(user, filters)
    return _FIGURES[key]


def _organizer_figures(user, filters) -> dict:
    figures = {}
    views = data.overview(user, filters, NOW)
    for r in views["headline"].to_dict("records"):
        if not r["too_few"]:
            figures[("headline", r["measure"])] = ((r["num"], r["den"]), ("measure", r["measure"]))
    if views["headline"]["opportunities"].notna().all():
        total = int(views["headline"]["opportunities"].iloc[0])
        figures[("headline", "opportunities")] = (total, ("measure", None))
    for r in views["bands"].to_dict("records"):
        if not r["too_few"]:
            band = r["band"]
            figures[("bands", band)] = (
                (r["offers"], r["opportunities"]),
                ("opps", lambda rec, band=band: rec["band"] == band),
            )
    for r in views["rules"].to_dict("records"):
        if not r["too_few"]:
            figures[("rules", r["rule"], r["group"])] = (
                (r["offers"], r["opportunities"]),
                ("opps", _group_of(r["rule"], r["group"])),
            )
    hours = views["hours"]
    for outcome, part in hours.groupby("outcome"):
        if not part["too_few"].any():
            figures[("hours", outcome)] = (
                tuple(part["opportunities"]),
                (
                    "opps",
                    lambda rec, o=outcome: rec["outcome"] == o and pd.notna(rec["hours_bucket"]),
                ),
            )
    for r in views["months"].to_dict("records"):
        for measure in MEASURES:
            if not r[f"{measure}_too_few"]:
                value = (r[f"{measure}_num"], r[f"{measure}_den"])
                figures[("months", r["month"], measure)] = (value, ("month", r["month"], measure))
    for r in data.by_cohort(user, filters, NOW).to_dict("records"):
        for measure in MEASURES:
            if not r[f"{measure}_too_few"]:
                value = (r[f"{measure}_num"], r[f"{measure}_den"])
                figures[("cohorts", r["cohort_id"], measure)] = (
                    value,
                    ("cohort", r["cohort_id"], measure),
                )
    return figures


def difference_clients(oracle, a, b, question) -> set:
    kind, *rest = question
    fa, fb = oracle.admin_filters(a), oracle.admin_filters(b)
    if kind == "measure":
        return oracle.measure_clients(fa, fb, rest[0])
    if kind == "opps":
        return oracle.opportunity_clients(fa, fb, rest[0])
    if kind == "month":
        month, measure = rest
        first, last = _month_bounds(month)
        within = [
            replace(f, start=max(f.start or first, first), end=min(f.end or last, last))
            for f in (fa, fb)
        ]
        return oracle.measure_clients(*within, measure)
    cohort_id, measure = rest
    return oracle.measure_clients(
        replace(fa, cohorts=(cohort_id,)), replace(fb, cohorts=(cohort_id,)), measure
    )


def assert_no_small_difference(world, oracle, a, b):
    first = organizer_figures(world.organizer, a)
    second = organizer_figures(world.organizer, b)
    for key in first.keys() & second.keys():
        (value_a, question), (value_b, _) = first[key], second[key]
        if value_a != value_b:
            clients = difference_clients(oracle, a, b, question)
            assert not 0 < len(clients) < MIN_GROUP_SIZE, (key, a, b, value_a, value_b, clients)


def neighbour_pairs(crowd):
    """Pairs of organiser filters one step apart on every filter the organiser has."""
    months = ["2026-03", "2026-04", "2026-05", "2026-06", "2026-07"]
    pairs = []
    for this, following in zip(months, months[1:], strict=False):
        first, last = _month_bounds(this)
        after_first, after_last = _month_bounds(following)
        pairs += [
            (data.Filters(end=last), data.Filters(end=after_last)),
            (data.Filters(start=first), data.Filters(start=after_first)),
            (data.Filters(start=first, end=last), data.Filters(start=first, end=after_last)),
        ]
    cohorts = (crowd.spring.id, crowd.solo.id, crowd.late.id)
    for c in cohorts:
        pairs.append((data.Filters(), data.Filters(cohorts=(c,))))
        for d in cohorts:
            if c < d:
                pairs.append((data.Filters(cohorts=(c,)), data.Filters(cohorts=(c, d))))
    for industry in ("Tech", "Health", "Retail"):
        pairs.append((data.Filters(), data.Filters(industries=(industry,))))
        pairs.append(
            (data.Filters(industries=("Tech",)), data.Filters(industries=("Tech", industry)))
        )
    for rounds in data.ROUND_CHOICES:
        pairs.append((data.Filters(), data.Filters(rounds=rounds)))
    return pairs


@pytest.mark.slow
def test_month_by_month_and_every_filter_difference_rests_on_five_clients(world, crowd):
    oracle = Oracle(world, crowd)
    shown = 0
    for a, b in neighbour_pairs(crowd):
        assert_no_small_difference(world, oracle, a, b)
        shown += len(organizer_figures(world.organizer, a))
    assert shown > 50  # the test compares real figures, not only blanks


def _headline_csv(browser, **query) -> pd.DataFrame:
    response = browser.get("/analytics/export/headline.csv", query_string=query)
    assert response.status_code == 200
    return pd.read_csv(io.StringIO(response.get_data(as_text=True)))


def _tile_values(frame: pd.DataFrame) -> dict:
    rows = frame.set_index("measure")
    values = {m: rows.loc[m, ["num", "den"]].tolist() for m in MEASURES}
    values["opportunities"] = [rows["opportunities"].iloc[0]]
    return {k: v for k, v in values.items() if not any(pd.isna(x) for x in v)}


@pytest.mark.slow
def test_day_by_day_differencing_of_the_export_isolates_nobody(world, crowd, as_user):
    browser = as_user(world.organizer)
    oracle = Oracle(world, crowd)
    first, last = date(2026, 3, 30), date(2026, 7, 2)
    for side in ("end", "start"):
        day, before = first, None
        while day <= last:
            shown = _tile_values(_headline_csv(browser, **{side: day.isoformat()}))
            if before is not None:
                for measure in shown.keys() & before[1].keys():
                    if shown[measure] != before[1][measure]:
                        clients = oracle.measure_clients(
                            oracle.admin_filters(data.Filters(**{side: before[0]})),
                            oracle.admin_filters(data.Filters(**{side: day})),
                            None if measure == "opportunities" else measure,
                        )
                        assert not 0 < len(clients) < MIN_GROUP_SIZE, (side, day, measure)
            before = (day, shown)
            day += timedelta(days=1)


def test_the_issues_pair_of_days_gives_the_same_figures(world, crowd, as_user):
    browser = as_user(world.organizer)
    tenth = _headline_csv(browser, end="2026-06-10")
    eleventh = _headline_csv(browser, end="2026-06-11")
    pd.testing.assert_frame_equal(tenth, eleventh)
    # Whole months: June's only client (Sam) is in both, and July has nobody.
    assert tenth.equals(_headline_csv(browser, end="2026-06-30"))


def test_dates_are_clamped_to_whole_months_for_organizers_only(world):
    asked = data.Filters(start=date(2026, 6, 10), end=date(2026, 6, 11))
    clamped = data.applied_filters(world.organizer, asked)
    assert (clamped.start, clamped.end) == (date(2026, 6, 1), date(2026, 6, 30))
    assert data.applied_filters(world.coach, asked) == asked
    february = data.applied_filters(world.organizer, data.Filters(end=date(2028, 2, 3)))
    assert february.end == date(2028, 2, 29)


def test_a_figure_resting_on_fewer_than_five_clients_is_too_few(world, crowd):
    # Retail is Lena alone (one counted opportunity): nothing is shown.
    tiles = data.headline(world.organizer, data.Filters(industries=("Retail",)), NOW)
    assert tiles["too_few"].all() and tiles["opportunities"].isna().all()
    # The Solo cohort: one client, so too few however many opportunities.
    cohorts = data.by_cohort(world.organizer, None, NOW).set_index("cohort")
    assert bool(cohorts.loc["Solo", "too_few"]) and cohorts.loc["Solo", "offer_num"] is None
    # Spring is big, but the whole scope is Spring plus Lena's one counted opportunity:
    # showing both would isolate Lena, so Spring's row is blanked and the whole is shown.
    assert bool(cohorts.loc["Spring", "compliance_too_few"])
    tiles = data.headline(world.organizer, None, NOW).set_index("measure")
    assert not bool(tiles.loc["compliance", "too_few"])


def _universe(clients, months=None, industries=None, cohorts=None):
    """A synthetic universe: one opportunity per entry of `clients` (sorted by client)."""
    n = len(clients)
    rows = pd.DataFrame(
        {
            "opportunity_id": range(1, n + 1),
            "client_id": clients,
            "first_interview_on": [date(2026, m, 2) for m in (months or [4] * n)],
            "rounds": [1] * n,
            "industry": industries or ["Tech"] * n,
            "is_decided": [1] * n,
        }
    )
    qualifies = np.array(cohorts or [[True]] * n, dtype=bool)
    return privacy.Universe(rows, tuple(range(1, qualifies.shape[1] + 1)), qualifies)


def test_five_opportunities_of_one_client_are_too_few():
    every = np.ones((6, 1), dtype=bool)
    assert privacy.blocked_cells(_universe([7] * 6), data.Filters(), every).tolist() == [True]
    five = _universe([1, 2, 3, 4, 5])
    assert privacy.blocked_cells(five, data.Filters(), every[:5]).tolist() == [False]
    four = _universe([1, 2, 3, 4, 4])
    assert privacy.blocked_cells(four, data.Filters(), every[:5]).tolist() == [True]


def test_a_neighbouring_month_with_one_client_blanks_the_smaller_range():
    u = _universe([1, 2, 3, 4, 5, 6], months=[4, 4, 4, 4, 4, 5])
    cell = np.ones((6, 1), dtype=bool)
    april = data.Filters(start=date(2026, 4, 1), end=date(2026, 4, 30))
    assert privacy.blocked_cells(u, april, cell).tolist() == [True]  # May adds client 6 alone
    assert privacy.blocked_cells(u, data.Filters(), cell).tolist() == [False]
    # An empty month between does not hide the step: the widening jumps to the next data.
    u = _universe([1, 2, 3, 4, 5, 6], months=[4, 4, 4, 4, 4, 7])
    assert privacy.blocked_cells(u, april, cell).tolist() == [True]


def test_two_filters_changed_at_once_are_covered():
    # Clients 1-5 in cohort 1 in April; client 6 in cohort 2 only, in May. April+cohort 1
    # against no filters differs by client 6 alone, though neither single step shows it.
    cohorts = [[True, False]] * 5 + [[False, True]]
    u = _universe([1, 2, 3, 4, 5, 6], months=[4, 4, 4, 4, 4, 5], cohorts=cohorts)
    narrow = data.Filters(start=date(2026, 4, 1), end=date(2026, 4, 30), cohorts=(1,))
    assert privacy.blocked_cells(u, narrow, np.ones((6, 1), dtype=bool)).tolist() == [True]


def test_a_split_whose_hidden_rest_is_small_hides_one_more_cell():
    u = _universe(list(range(1, 14)))
    frame = pd.DataFrame({"band": ["low", "medium", "high"]})
    u.rows["band"] = ["low"] * 6 + ["medium"] * 6 + ["high"]
    frame["opportunities"] = [6, 6, 1]
    blanked = privacy.bands(u, data.Filters(), frame)
    # "high" (one client) is too few; the whole minus low and medium would give it away, so
    # the smaller shown cell goes too (low, the first of two equal ones).
    assert blanked["too_few"].tolist() == [True, False, True]
    assert blanked["opportunities"].tolist() == [None, 6, None]


def test_cohorts_count_work_from_their_start_date(world, crowd):
    late = data.Filters(cohorts=(crowd.late.id,))
    assert data.headline(world.admin, late, NOW).set_index("measure").loc["offer", "den"] == 1
    cohorts = data.by_cohort(world.admin, None, NOW).set_index("cohort")
    assert cohorts.loc["Late", "opportunities"] == 1  # 2026-05-02 is before the start
    assert cohorts.loc["Late", "offer_num"] == 0  # the offer came before the cohort
    crowd.late.starts_on = None
    from coach_app.extensions import db

    db.session.commit()
    cohorts = data.by_cohort(world.admin, None, NOW).set_index("cohort")
    assert cohorts.loc["Late", "opportunities"] == 2


def test_a_foreign_cohort_yields_nothing(world, crowd):
    foreign = data.Filters(cohorts=(crowd.other.id,))
    tiles = data.headline(world.organizer, foreign, NOW)
    assert tiles["too_few"].all() and tiles["opportunities"].isna().all()
    assert data.by_cohort(world.organizer, foreign, NOW).empty
    assert (data.organizer_universe(world.organizer, NOW).rows["client_id"].nunique()) == 14


def test_the_privacy_universe_agrees_with_the_figures(world, crowd):
    universe = data.organizer_universe(world.organizer, NOW)
    tiles = data.headline(world.admin, data.Filters(cohorts=Oracle(world, crowd).mine), NOW)
    tiles = tiles.set_index("measure")
    assert len(universe.rows) == tiles["opportunities"].iloc[0]
    for measure, column in data.privacy.MEASURE_SETS.items():
        assert universe.column(column).sum() == tiles.loc[measure, "opps"], measure
    assert set(FACT_RULES)  # the rule bits the rules view uses


def test_the_start_date_set_in_the_cohort_form_is_the_one_counted(world, crowd, as_user):
    from sqlalchemy import select

    from coach_app.extensions import db
    from coach_app.models import Cohort, CohortMember

    response = as_user(world.organizer).post(
        "/cohorts/", data={"name": "From the form", "starts_on": "2026-05-15"}
    )
    assert response.status_code == 302
    made = db.session.scalar(select(Cohort).where(Cohort.name == "From the form"))
    db.session.add(CohortMember(cohort_id=made.id, client_id=crowd.clients["Lena"].id))
    db.session.commit()
    rows = data.by_cohort(world.admin, data.Filters(cohorts=(made.id,)), NOW)
    assert rows["opportunities"].tolist() == [1]
