"""What accounts tells the apps above it (see core/events.py).

Moderation keeps every change of who may do what in its audit log; notifications tell a
person who started following them.
"""

from core.events import DomainEvent

# `by` changed `user`'s staff or superuser flag or groups; `before` and `after` are
# {"is_staff", "is_superuser", "groups"} as they were and are.
roles_changed = DomainEvent("accounts.roles_changed", ("user", "by", "before", "after"))
# `follower` started following `followee` (sent once per new follow, not for one that was).
followed = DomainEvent("accounts.followed", ("follower", "followee"))
