"""The feeds a viewer can open, by name, and who makes their pages.

Following is the feed's own: the newest posts of the people you follow. For You belongs to
the ranking, which sits above the feed: it registers its page maker here in its AppConfig,
so the feed's pages and API serve it without importing it. A later feed (Discover, a tag)
registers the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol


class Page(Protocol):
    """What a feed's page maker returns: posts in order, and the cursor of the next page."""

    @property
    def items(self) -> Sequence[Any]:
        """The page's posts, in the order shown."""
        ...

    @property
    def next_cursor(self) -> str | None:
        """Where the next page starts; None at the end."""
        ...


# page_of(*, viewer, live, cursor, size) -> Page. `live` is every post anyone may be shown
# (moderation, suspensions and the viewer's blocks applied); the feed narrows it further.
PageMaker = Callable[..., Page]

_feeds: dict[str, PageMaker] = {}


def feed_register(name: str, page_of: PageMaker) -> None:
    """Serve the feed `name` with `page_of` (the last registration wins)."""
    _feeds[name] = page_of


def feed_maker(name: str) -> PageMaker:
    """The page maker of a feed; ValueError for a feed nobody registered."""
    try:
        return _feeds[name]
    except KeyError:
        raise ValueError(f"Unknown feed {name!r}") from None
