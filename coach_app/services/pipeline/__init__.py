"""Read-side queries for coaches: the client pipeline and the exceptions queue.

- query.py: what the coach asked for (PipelineQuery) and the clients it selects;
- page.py: the page of client ids, sorted and counted (`pipeline`);
- rows.py: each row's figures, from the per-client summaries (models/summaries.py);
- exceptions.py: the exceptions queue (`exceptions`);
- choices.py: the filters' cohorts and coaches.
"""

from coach_app.services.pipeline.choices import coach_choices, cohort_choices
from coach_app.services.pipeline.exceptions import (
    COMING_UP,
    COMING_UP_DAYS,
    DUE_TODAY,
    EXCEPTION_ROWS_PER_GROUP,
    KINDS,
    OVERDUE,
    ExceptionGroup,
    ExceptionItem,
    exceptions,
)
from coach_app.services.pipeline.page import pipeline
from coach_app.services.pipeline.query import (
    ARCHIVE_FILTERS,
    LIKE_ESCAPE,
    PAGE_SIZES,
    SORTS,
    PipelineQuery,
    _like_escaped,
)
from coach_app.services.pipeline.rows import NextDue, PipelinePage, PipelineRow, rule_title
from coach_app.services.summary_sql import COMPLIANCE_WINDOW

__all__ = [
    "ARCHIVE_FILTERS",
    "COMING_UP",
    "COMING_UP_DAYS",
    "COMPLIANCE_WINDOW",
    "DUE_TODAY",
    "EXCEPTION_ROWS_PER_GROUP",
    "KINDS",
    "LIKE_ESCAPE",
    "OVERDUE",
    "PAGE_SIZES",
    "SORTS",
    "ExceptionGroup",
    "ExceptionItem",
    "NextDue",
    "PipelinePage",
    "PipelineQuery",
    "PipelineRow",
    "_like_escaped",
    "coach_choices",
    "cohort_choices",
    "exceptions",
    "pipeline",
    "rule_title",
]
