"""`{{ text|linked }}`: a caption or comment with its @mentions and #tags as links."""

from __future__ import annotations

import re

from django import template
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from accounts.mentions import MENTION

from ..tags import TAG

register = template.Library()

_LINKABLE = re.compile(f"{MENTION.pattern}|{TAG.pattern}")


@register.filter(is_safe=True)
def linked(text: str | None, breaks: str = "") -> SafeString:
    """The text escaped, each @handle linking to that profile and each #tag to its page;
    `|linked:"br"` keeps line breaks."""
    text = text or ""
    out: list[str] = []
    last = 0
    for match in _LINKABLE.finditer(text):
        out.append(escape(text[last : match.start()]))
        handle, tag = match.group(1), match.group(2)
        if handle is not None:
            url = reverse("accounts:profile", kwargs={"handle": handle.lower()})
            out.append(f'<a class="mention" href="{escape(url)}">@{escape(handle)}</a>')
        else:
            url = reverse("feed:tag", kwargs={"tag": tag.lower()})
            out.append(f'<a class="tag" href="{escape(url)}">#{escape(tag)}</a>')
        last = match.end()
    out.append(escape(text[last:]))
    html = "".join(out)
    if breaks == "br":
        html = html.replace("\n", "<br>")
    return mark_safe(html)  # noqa: S308 - every piece above is escaped
