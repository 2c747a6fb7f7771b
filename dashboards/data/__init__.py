"""Every analytics query, as pandas DataFrames: the dashboard's one data layer.

The scope is enforced here, from the role of the user passed in, never only in the layout:

- a coach sees opportunities of their own clients;
- an organizer sees members of their own cohorts (their opportunities from each cohort's
  start date on), as aggregates only: no per-client or per-opportunity rows, no coach
  comparison, dates in whole months, and every figure that dashboards/privacy.py finds
  isolable comes back as "too few" with its numbers blanked;
- an admin sees their organisation, including the comparison across coaches.

A file per concern (read them in this order): `filters` (cleaning filter values), `scope`
(roles, where-clauses, the clock), `facts` (the per-opportunity facts at a moment),
`rollups` (the same sums from the rollups, corrected to the moment), `measures` (rates and
intervals), `universe` (the organiser's privacy checks), `overview` (tiles, bands, rules,
hours, months), `groups` (cohorts, coaches, clients, filter choices), `opportunities` (the
per-opportunity table). Every query runs on dashboards.source.analytics_connection().
"""

from dashboards import privacy
from dashboards.data.facts import _current_sums, _live_rows
from dashboards.data.filters import ROUND_CHOICES, FilterError, Filters, parse_filters
from dashboards.data.groups import by_client, by_coach, by_cohort, filter_options
from dashboards.data.measures import MEASURES, MIN_GROUP_SIZE, NOTE, TOO_FEW
from dashboards.data.opportunities import OPPORTUNITY_COLUMNS, opportunities, opportunity_pages
from dashboards.data.overview import (
    OverviewSums,
    by_band,
    by_month,
    by_rule,
    headline,
    overview,
    overview_sums,
    thank_you_hours,
)
from dashboards.data.scope import (
    ANALYTICS_ROLES,
    AnalyticsAccessError,
    applied_filters,
    counted_for_cohorts,
    current_time,
    filter_clauses,
    is_organizer,
    require_role,
    scope_clauses,
    visible_coaches,
    visible_cohorts,
)
from dashboards.data.universe import organizer_universe

__all__ = [
    "ANALYTICS_ROLES",
    "MEASURES",
    "MIN_GROUP_SIZE",
    "NOTE",
    "OPPORTUNITY_COLUMNS",
    "ROUND_CHOICES",
    "TOO_FEW",
    "AnalyticsAccessError",
    "FilterError",
    "Filters",
    "OverviewSums",
    "_current_sums",
    "_live_rows",
    "applied_filters",
    "by_band",
    "by_client",
    "by_coach",
    "by_cohort",
    "by_month",
    "by_rule",
    "counted_for_cohorts",
    "current_time",
    "filter_clauses",
    "filter_options",
    "headline",
    "is_organizer",
    "opportunities",
    "opportunity_pages",
    "organizer_universe",
    "overview",
    "overview_sums",
    "parse_filters",
    "privacy",
    "require_role",
    "scope_clauses",
    "thank_you_hours",
    "visible_coaches",
    "visible_cohorts",
]
