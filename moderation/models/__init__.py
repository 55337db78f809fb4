"""Moderation's records: the prompt policy, the hash bank, reports, decisions, appeals,
audit, and checks of uploaded videos."""

from .audit import AuditEntry, ModerationSettings
from .output import ClipFingerprint, HashBankEntry
from .policy import (
    PolicyCategory,
    PolicyExample,
    PolicyRule,
    PromptRefusal,
    ProtectedName,
    Severity,
)
from .review import Appeal, Case, Decision, Notice, Report, Strike
from .verify import VerifyCheck

__all__ = [
    "Appeal",
    "AuditEntry",
    "Case",
    "ClipFingerprint",
    "Decision",
    "HashBankEntry",
    "ModerationSettings",
    "Notice",
    "PolicyCategory",
    "PolicyExample",
    "PolicyRule",
    "PromptRefusal",
    "ProtectedName",
    "Report",
    "Severity",
    "Strike",
    "VerifyCheck",
]
