"""Domain events: how an app tells the apps above it what happened, without importing them.

An app declares its events in its own `events.py` and sends them from its services, inside
their transaction; an app higher up connects a receiver in its `AppConfig.ready()`. So the
lower app never learns who listens (the ranking hears of likes and reports, the feed of
moderators' decisions; notifications will hear of everything), and the import layering
(`.importlinter`) stays one-way.

Receivers run synchronously, in the sender's transaction: a receiver's write commits or
rolls back with the fact it reacts to, and its exception fails the sender. A receiver
with slow or outside work (email, push, fan-out) defers it with `after_commit`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.dispatch import Signal


class _AfterCommit:
    """`func(*args)` as Django's on-commit hooks take it: like `functools.partial` (`func`
    and `args` readable), with the `__qualname__` Django logs a failing hook by."""

    def __init__(self, func: Callable[..., object], args: tuple[object, ...]) -> None:
        self.func, self.args = func, args
        self.__qualname__ = getattr(func, "__qualname__", type(func).__name__)

    def __call__(self) -> None:
        self.func(*self.args)


def after_commit(func: Callable[..., object], *args: object) -> None:
    """Call `func(*args)` once the transaction commits, best effort: if it fails (a queue
    that can't be reached), the failure is logged and only this side effect is lost, never
    the write that committed or the request's answer.

    Django logs a failing hook by its `__qualname__`, which `functools.partial` lacks: the
    logging itself raised, and a like answered 500 while the queue was down.
    """
    transaction.on_commit(_AfterCommit(func, args), robust=True)


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
