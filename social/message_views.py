"""Message pages: the inbox, Requests, a conversation (live), and sharing a clip into one."""

from __future__ import annotations

from django import forms
from django.contrib import messages as toasts
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import User
from accounts.selectors import user_by_handle
from core.web import HtmxHttpRequest, login_required_htmx
from feed.views.common import visible_post_or_404

from . import messaging
from .models import Conversation


class MessageForm(forms.Form):
    """A message's text (a shared clip comes from the clip's own page)."""

    body = forms.CharField(
        label="Message",
        max_length=messaging.BODY_MAX,
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 1, "placeholder": "Message…"}),
        error_messages={"max_length": f"A message can be at most {messaging.BODY_MAX} characters."},
    )


def _other_or_404(user: User, handle: str) -> tuple[User, Conversation | None]:
    """The person and their conversation with `user`; 404, saying nothing more, when there
    is nothing here for `user` (messaging.talk_with)."""
    found = messaging.talk_with(user=user, handle=handle)
    if found is None:
        raise Http404("No conversation here.")
    return found


@require_GET
@login_required_htmx
def inbox(request: HtmxHttpRequest) -> HttpResponse:
    """A person's conversations, newest first, and how many wait in Requests."""
    user: User = request.user  # type: ignore[assignment]
    context = {
        "rows": messaging.conversations_of(user=user),
        "requests": messaging.requests_count(user=user),
        "showing_requests": False,
    }
    return render(request, "social/inbox.html", context)


@require_GET
@login_required_htmx
def requests(request: HtmxHttpRequest) -> HttpResponse:
    """Messages from people the person doesn't follow, waiting for an answer."""
    user: User = request.user  # type: ignore[assignment]
    rows = messaging.conversations_of(user=user, requests=True)
    context = {"rows": rows, "requests": len(rows), "showing_requests": True}
    return render(request, "social/inbox.html", context)


def _conversation_page(
    request: HtmxHttpRequest, other: User, conversation: Conversation | None, form: MessageForm
) -> dict[str, object]:
    user: User = request.user  # type: ignore[assignment]
    shown = list(messaging.messages_of(conversation=conversation)) if conversation else []
    return {
        "other": other,
        "conversation": conversation,
        "shown": shown,
        "seen_clips": messaging.clips_seen(viewer=user, messages=shown),
        "is_request": conversation is not None and conversation.is_request_for(user.pk),
        "form": form,
        "last_id": shown[-1].pk if shown else 0,
    }


@require_http_methods(["GET", "POST"])
@login_required_htmx
def conversation(request: HtmxHttpRequest, handle: str) -> HttpResponse:
    """A conversation with someone: read it (which marks it read), or send a message."""
    user: User = request.user  # type: ignore[assignment]
    other, talk = _other_or_404(user, handle)
    form = MessageForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                sent = messaging.message_send(
                    sender=user, recipient=other, body=form.cleaned_data["body"]
                )
            except ValidationError as exc:
                form.add_error("body", " ".join(exc.messages))
            except PermissionDenied as exc:
                form.add_error("body", str(exc))
            else:
                if request.htmx:
                    seen = messaging.clips_seen(viewer=user, messages=[sent])
                    fragment = {"shown": [sent], "seen_clips": seen}
                    return render(request, "social/_messages.html", fragment)
                return redirect("social:conversation", handle=other.username)
        status = 400
    else:
        status = 200
    if talk is not None and request.method == "GET":
        messaging.conversation_read(user=user, conversation=talk)
    page = _conversation_page(request, other, talk, form)
    return render(request, "social/conversation.html", page, status=status)


@require_GET
@login_required_htmx
def conversation_since(request: HtmxHttpRequest, handle: str) -> HttpResponse:
    """The messages after `?after=<id>`, as a fragment the open page appends."""
    user: User = request.user  # type: ignore[assignment]
    _other, talk = _other_or_404(user, handle)
    try:
        after = int(request.GET.get("after", "0"))
    except ValueError:
        after = 0
    shown = list(messaging.messages_of(conversation=talk, after=after)) if talk else []
    if talk is not None and shown:
        messaging.conversation_read(user=user, conversation=talk)
    context = {"shown": shown, "seen_clips": messaging.clips_seen(viewer=user, messages=shown)}
    return render(request, "social/_messages.html", context)


@require_POST
@login_required_htmx
def conversation_answer(request: HtmxHttpRequest, handle: str, answer: str) -> HttpResponse:
    """Accept, decline or block the sender of a request."""
    if answer not in messaging.ANSWERS:
        raise Http404("No such answer.")
    user: User = request.user  # type: ignore[assignment]
    other, talk = _other_or_404(user, handle)
    if talk is None or not talk.is_request_for(user.pk):
        return redirect("social:conversation", handle=other.username)
    messaging.request_answer(user=user, other=other, conversation=talk, answer=answer)
    if answer == "accept":
        return redirect("social:conversation", handle=other.username)
    if answer == "block":
        toasts.success(request, f"You blocked @{other.username}.")
    else:
        toasts.success(request, f"Declined: @{other.username} can't message you again.")
    return redirect("social:message_requests")


class ShareForm(forms.Form):
    """Who to send a clip to, and a few words with it."""

    to = forms.CharField(label="To", max_length=31, help_text="Their @handle.")
    body = MessageForm.base_fields["body"]


@require_http_methods(["GET", "POST"])
@login_required_htmx
def share(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Send a clip to someone in a message."""
    user: User = request.user  # type: ignore[assignment]
    post = visible_post_or_404(request, pk)
    form = ShareForm(request.POST or None, initial={"to": request.GET.get("to", "")})
    if request.method == "POST" and form.is_valid():
        handle = form.cleaned_data["to"].lstrip("@").strip().lower()
        other = user_by_handle(handle=handle)
        try:
            if other is None or not messaging.may_message(sender=user, recipient=other):
                raise PermissionDenied(messaging.CANNOT)
            messaging.message_send(
                sender=user, recipient=other, body=form.cleaned_data["body"], post=post
            )
        except (PermissionDenied, ValidationError) as exc:
            text = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
            form.add_error("to", text)
        else:
            return redirect(reverse("social:conversation", kwargs={"handle": other.username}))
    recent = messaging.conversations_of(user=user)[:8]
    status = 400 if request.method == "POST" else 200
    context = {"post": post, "form": form, "recent": recent}
    return render(request, "social/share.html", context, status=status)
