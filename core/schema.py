"""What every API operation may answer besides its own responses, added to the schema.

Each view documents what it does; these answers come from the plumbing around every view,
so they are added here once (a drf-spectacular post-processing hook) rather than in each:
401 where a sign-in is needed, 403 on moderators' endpoints, 404 where the path names
something, 400 for a bad page cursor or limit, 429 from the rate limits, and 503 for a
write while the limits can't be counted (core/throttling.py).
"""

from __future__ import annotations

from typing import Any

WRITES = {"post", "put", "patch", "delete"}
COMMON = {
    "401": "Sign in (session or `Authorization: Token ...`) to do this.",
    "403": "Only moderators may do this.",
    "404": "Nothing there, or nothing you may see.",
    "400": "A page cursor or limit that isn't valid.",
    "429": "Too many requests, or sign-ins locked out for a while; see Retry-After.",
    "503": "The rate limits can't be counted right now; try again in a minute.",
}


def _answers(path: str, method: str, operation: dict[str, Any]) -> list[str]:
    """The common answers this operation may give."""
    codes = ["429"]
    security = operation.get("security", [])
    if security and {} not in security:
        codes.append("401")
    if "/moderation/" in path:
        codes.append("403")
    if "{" in path:
        codes.append("404")
    if any(p.get("name") == "cursor" for p in operation.get("parameters", [])):
        codes.append("400")
    if method in WRITES:
        codes.append("503")
    return codes


def document_common_responses(
    result: dict[str, Any], generator: Any, request: Any, public: Any
) -> dict[str, Any]:
    """Add each operation's common answers that its view did not already document."""
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            responses = operation.setdefault("responses", {})
            for code in _answers(path, method, operation):
                responses.setdefault(code, {"description": COMMON[code]})
    return result
