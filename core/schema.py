"""What every API operation may answer besides its own responses, added to the schema.

(And one rule of every PATCH: its body names at least one field to change.)

Each view documents what it does; these answers come from the plumbing around every view,
so they are added here once (a drf-spectacular post-processing hook) rather than in each:
401 where a sign-in is needed, 403 on moderators' endpoints, 404 where the path names
something, 400 for a bad page cursor or limit, 400 and 415 for a request body that can't be
read, 429 from the rate limits, and 503 for a write while the limits can't be counted
(core/throttling.py).
"""

from __future__ import annotations

from typing import Any

WRITES = {"post", "put", "patch", "delete"}
COMMON = {
    "401": "Sign in (session or `Authorization: Token ...`) to do this.",
    "403": "Only moderators may do this.",
    "404": "Nothing there, or nothing you may see.",
    "400": "A page cursor or limit that isn't valid.",
    "400-body": "A field that isn't valid, or a body that can't be read (malformed JSON or "
    "form data).",
    "415": "A body in a format this operation doesn't read; see its request content types.",
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
    if "requestBody" in operation:
        # DRF refuses a body it can't parse (400) or whose type it doesn't read (415);
        # daphne itself answers 400 to form data it can't split into parts.
        codes += ["400-body", "415"]
    if method in WRITES:
        codes.append("503")
    return codes


def _patch_needs_a_change(result: dict[str, Any], operation: dict[str, Any]) -> None:
    """A PATCH must send a body naming at least one field (core.api.changes_of refuses an
    empty one)."""
    schemas = result.get("components", {}).get("schemas", {})
    body = operation.get("requestBody")
    if body is None:
        return
    body["required"] = True
    for content in body.get("content", {}).values():
        ref = content.get("schema", {}).get("$ref", "")
        component = schemas.get(ref.rsplit("/", 1)[-1])
        if component is not None:
            component["minProperties"] = 1


def document_common_responses(
    result: dict[str, Any], generator: Any, request: Any, public: Any
) -> dict[str, Any]:
    """Add each operation's common answers that its view did not already document."""
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            if method == "patch":
                _patch_needs_a_change(result, operation)
            responses = operation.setdefault("responses", {})
            for code in _answers(path, method, operation):
                responses.setdefault(code.split("-")[0], {"description": COMMON[code]})
    return result
