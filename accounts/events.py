"""What accounts tells the apps above it (see core/events.py).

Moderation keeps every change of who may do what in its audit log.
"""

from core.events import DomainEvent

# `by` changed `user`'s staff or superuser flag or groups; `before` and `after` are
# {"is_staff", "is_superuser", "groups"} as they were and are.
roles_changed = DomainEvent("accounts.roles_changed", ("user", "by", "before", "after"))
