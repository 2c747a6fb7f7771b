"""All models, importable from one place (Alembic autogenerate sees them through here)."""

from coach_app.models.accounts import Invitation, LoginAttempt, Organization, Role, User
from coach_app.models.analytics import AnalyticsRollup, OpportunityFact, RollupMark
from coach_app.models.audit import AuditEvent
from coach_app.models.auth import PasswordReset, UserSession
from coach_app.models.clients import ClientProfile, CoachingNote, Cohort, CohortMember
from coach_app.models.cohort_requests import CohortRequest
from coach_app.models.email_changes import EmailChange
from coach_app.models.opportunities import (
    INTERVIEW_FORMATS,
    Interview,
    InterviewContact,
    Opportunity,
    Referral,
)
from coach_app.models.preferences import OrganizationReminderPolicy, ReminderPreference
from coach_app.models.reminders import Notification, OutboxMessage
from coach_app.models.summaries import ClientSummary
from coach_app.models.tasks import FollowUpTask
from coach_app.models.two_factor import RecoveryCode, TrustedDevice, TwoFactor
from coach_app.models.types import utcnow

__all__ = [
    "INTERVIEW_FORMATS",
    "AuditEvent",
    "ClientSummary",
    "ClientProfile",
    "CoachingNote",
    "Cohort",
    "CohortMember",
    "CohortRequest",
    "EmailChange",
    "FollowUpTask",
    "Interview",
    "InterviewContact",
    "Invitation",
    "LoginAttempt",
    "Notification",
    "Opportunity",
    "OpportunityFact",
    "AnalyticsRollup",
    "RollupMark",
    "Organization",
    "OrganizationReminderPolicy",
    "OutboxMessage",
    "PasswordReset",
    "RecoveryCode",
    "Referral",
    "ReminderPreference",
    "Role",
    "TrustedDevice",
    "TwoFactor",
    "User",
    "UserSession",
    "utcnow",
]
