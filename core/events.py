"""Domain events: how an app tells the apps above it what happened, without importing them.

An app declares its events in its own `events.py` and sends them from its services, inside
their transaction; an app higher up connects a receiver in its `AppConfig.ready()`. So the
lower app never learns who listens (the ranking hears of likes and reports, the feed of
moderators' decisions; notifications will hear of everything), and the import layering
(`.importlinter`) stays one-way.

Receivers run synchronously, in the sender's transaction: a receiver's write commits or
rolls back with the fact it reacts to, and its exception fails the sender. A receiver
with slow or outside work (email, push, fan-out) defers it with `transaction.on_commit`.
"""

from __future__ import annotations

from typing import Any

from django.dispatch import Signal


class DomainEvent(Signal):
    """A named fact with a fixed set of fields, sent by the one service that makes it true."""

    def __init__(self, name: str, fields: tuple[str, ...]) -> None:
        """`name` reads as a fact ("post.liked"); `fields` are what every sending carries."""
        super().__init__()
        self.name = name
        self.fields = frozenset(fields)

    def emit(self, **payload: Any) -> None:
        """Tell every receiver; a missing or unknown field is the sender's bug, so it raises."""
        given = frozenset(payload)
        if given != self.fields:
            missing, unknown = sorted(self.fields - given), sorted(given - self.fields)
            raise TypeError(f"{self.name}: missing {missing}, unknown {unknown}")
        self.send(sender=self.name, **payload)

    def __repr__(self) -> str:
        """The event's name, for logs and test failures."""
        return f"<DomainEvent {self.name}>"
