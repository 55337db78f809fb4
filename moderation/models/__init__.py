"""Moderation's records: the prompt policy, the hash bank, reports, decisions, appeals, audit."""

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
]
