"""The client's address behind Riff's own reverse proxies, set once for every connection.

Each proxy of ours appends the address it saw to X-Forwarded-For, so with TRUSTED_PROXY_COUNT
= N the N-th entry from the right is the address the outermost of them saw: the client's.
Everything left of it is whatever the client wrote, and is never read. This ASGI wrapper
puts that address in scope["client"], which Django turns into REMOTE_ADDR and Channels hands
to WebSocket consumers; every limit by address (DRF's throttles, allauth's, the sign-in
lockout) then reads REMOTE_ADDR alone, so the header is counted once, here.

With N = 0 the header is ignored. A header with fewer than N entries did not come through
all N proxies (something reached Riff around them, or a proxy is set up wrongly), and its
leftmost entry may be the client's own words: it is ignored too, and the connection's own
address (the innermost proxy's) stands. Daphne's --proxy-headers would trust the leftmost
entry, which is why it is not used.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

from django.conf import settings

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def forwarded_client(values: Iterable[str], proxy_count: int) -> str | None:
    """The client's address in X-Forwarded-For `values` (every such header, in order) behind
    `proxy_count` proxies of ours, or None when the header can't say it."""
    if proxy_count <= 0:
        return None
    entries = [entry.strip() for value in values for entry in value.split(",")]
    entries = [entry for entry in entries if entry]
    if len(entries) < proxy_count:
        return None
    return _address(entries[-proxy_count])


def _address(entry: str) -> str | None:
    """An IP address as a proxy writes it (bare, "[v6]" or with a ":port"), normalised."""
    candidates = [entry]
    if entry.startswith("["):  # "[2001:db8::1]" or "[2001:db8::1]:443"
        candidates = [entry[1:].split("]", 1)[0]]
    elif entry.count(":") == 1:  # "203.0.113.9:51234"
        candidates.append(entry.split(":", 1)[0])
    for candidate in candidates:
        try:
            return str(ipaddress.ip_address(candidate))
        except ValueError:
            continue
    return None


class TrustedProxyMiddleware:
    """ASGI middleware: scope["client"] becomes the address TRUSTED_PROXY_COUNT proxies of
    ours vouch for in X-Forwarded-For, for HTTP and WebSocket connections alike."""

    def __init__(self, app: ASGIApp, *, proxy_count: int | None = None) -> None:
        self.app = app
        # None: the setting, read on each connection (so tests can change it).
        self.proxy_count = proxy_count

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Rewrite the client's address when the proxies say it, then call the app."""
        count = settings.TRUSTED_PROXY_COUNT if self.proxy_count is None else self.proxy_count
        if count > 0 and scope.get("type") in ("http", "websocket"):
            values = [
                value.decode("latin-1")
                for name, value in scope.get("headers", [])
                if name.lower() == b"x-forwarded-for"
            ]
            address = forwarded_client(values, count)
            if address:
                # The client's own port is not forwarded; 0 says so.
                scope = {**scope, "client": (address, 0)}
        await self.app(scope, receive, send)
