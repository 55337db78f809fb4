"""What moderation tells the apps above it (see core/events.py).

The feed applies decisions to the posts and comments it owns; the ranking learns from
reports. Each is sent by a service in moderation/services.py, inside its transaction.
"""

from core.events import DomainEvent

# Someone reported a post, comment or account (`report`: the Report row, with its case).
report_filed = DomainEvent("moderation.report_filed", ("report",))
# Automation held a post for review (`case`: the open case; `post`: the post held).
post_held = DomainEvent("moderation.post_held", ("case", "post"))
# A moderator (or automation) decided a case; `decision` knows its case and action.
decision_made = DomainEvent("moderation.decision_made", ("decision",))
# An appeal overturned a decision: what it did to the content is undone.
decision_reversed = DomainEvent("moderation.decision_reversed", ("decision",))
# A person was sent a notice: a statement of reasons, or the outcome of their appeal.
notice_sent = DomainEvent("moderation.notice_sent", ("notice",))
