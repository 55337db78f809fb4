"""A post's own page, likes, comments, editing and deleting."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import reswap, retarget

from accounts.models import User
from core.web import (
    HtmxHttpRequest,
    bad_request,
    login_required_htmx,
    redirect_back,
    signup_remembering,
)

from .. import selectors, services
from ..models import Comment, Post
from .common import error_text, owned_post_or_403, visible_post_or_404


class CommentForm(forms.Form):
    """A comment's text."""

    body = forms.CharField(
        label="Add a comment",
        max_length=500,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 1, "placeholder": "Add a comment…", "maxlength": 500}),
        error_messages={"required": "A comment can't be empty."},
    )
    parent = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=1)


class PostEditForm(forms.Form):
    """What an owner can change about a published post."""

    caption = forms.CharField(
        max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    visibility = forms.ChoiceField(choices=Post.Visibility.choices, label="Who can see it")
    allow_remix = forms.BooleanField(required=False, label="Allow others to remix")
    allow_download = forms.BooleanField(required=False, label="Allow downloads")


@require_GET
def post_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """A post on its own page, with its comments."""
    post = visible_post_or_404(request, pk)
    card = selectors.cards_for(viewer=request.user, posts=[post])[0]  # type: ignore[arg-type]
    context = {
        "card": card,
        "post": post,
        "remix_count": selectors.remix_count(viewer=request.user, post=post),  # type: ignore[arg-type]
        "threads": selectors.comment_threads(post=post, viewer=request.user),  # type: ignore[arg-type]
        "form": CommentForm(),
    }
    return render(request, "feed/post_detail.html", context)


@require_GET
def comments_sheet(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """A clip's comments as a fragment: the sheet (phone) or side panel (desktop) the feed
    opens over the clip, without leaving it."""
    post = visible_post_or_404(request, pk)
    context = {
        "post": post,
        "threads": selectors.comment_threads(post=post, viewer=request.user),  # type: ignore[arg-type]
        "form": CommentForm(),
    }
    return render(request, "feed/_comments_sheet.html", context)


@require_GET
def post_lineage(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Where a clip comes from and every remix made from it."""
    post = visible_post_or_404(request, pk)
    lineage = selectors.post_lineage(viewer=request.user, post=post)  # type: ignore[arg-type]
    return render(request, "feed/lineage.html", {"lineage": lineage, "post": post})


@require_POST
@signup_remembering("like", pk="pk")
def post_like(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Like or unlike a post (`action` = like|unlike; toggles when absent)."""
    post = visible_post_or_404(request, pk)
    user = request.user
    action = request.POST.get("action", "toggle")
    if action not in {"like", "unlike", "toggle"}:
        return bad_request(request, "Unknown action: use like or unlike.")
    if action == "toggle":
        liked = selectors.cards_for(viewer=user, posts=[post])[0].liked  # type: ignore[arg-type]
        action = "unlike" if liked else "like"
    if action == "like":
        services.like_create(user=user, post=post)  # type: ignore[arg-type]
    else:
        services.like_delete(user=user, post=post)  # type: ignore[arg-type]
    if not request.htmx:
        return redirect_back(request, post.get_absolute_url())
    post.refresh_from_db(fields=["like_count"])
    card = selectors.cards_for(viewer=user, posts=[post])[0]  # type: ignore[arg-type]
    return render(request, "feed/_like_button.html", {"card": card})


@require_POST
@signup_remembering("comment", pk="pk")
def comment_create(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Add a comment; htmx gets the new comment plus the updated count."""
    post = visible_post_or_404(request, pk)
    form = CommentForm(request.POST)
    comment: Comment | None = None
    parent_id = form.data.get("parent") or None
    if form.is_valid():
        parent = None
        if form.cleaned_data["parent"]:
            parent = Comment.objects.filter(pk=form.cleaned_data["parent"], post=post).first()
        try:
            if form.cleaned_data["parent"] and parent is None:
                raise ValidationError("That comment is gone; reply to another.")
            comment = services.comment_create(
                author=request.user,  # type: ignore[arg-type]
                post=post,
                body=form.cleaned_data["body"],
                parent=parent,
            )
        except ValidationError as exc:
            form.add_error("body", error_text(exc))
        except PermissionDenied as exc:
            form.add_error("body", str(exc))
    if comment is None:
        message = " ".join(str(e) for errors in form.errors.values() for e in errors)
        if request.htmx:
            response = render(
                request, "feed/_comment_errors.html", {"message": message}, status=400
            )
            errors = f"#reply-errors-{parent_id}" if parent_id else "#comment-errors"
            return reswap(retarget(response, errors), "innerHTML")
        context = {
            "card": selectors.cards_for(viewer=request.user, posts=[post])[0],  # type: ignore[arg-type]
            "post": post,
            "threads": selectors.comment_threads(post=post, viewer=request.user),  # type: ignore[arg-type]
            "form": form,
        }
        return render(request, "feed/post_detail.html", context, status=400)
    if not request.htmx:
        return redirect(f"{post.get_absolute_url()}#comment-{comment.pk}")
    post.refresh_from_db(fields=["comment_count"])
    context = {"comment": comment, "post": post, "oob": True, "reply": comment.parent_id}
    return render(request, "feed/_comment_created.html", context)


@require_POST
@login_required_htmx
def comment_like(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Like or unlike a comment (`action` = like|unlike; toggles when absent)."""
    comment = selectors.comment_visible(viewer=request.user, pk=pk)  # type: ignore[arg-type]
    if comment is None:
        raise Http404("That comment doesn't exist or isn't visible to you.")
    user: User = request.user  # type: ignore[assignment]
    action = request.POST.get("action", "toggle")
    if action not in {"like", "unlike", "toggle"}:
        return bad_request(request, "Unknown action: use like or unlike.")
    if action == "toggle":
        action = "unlike" if comment.likes.filter(user=user).exists() else "like"
    if action == "like":
        services.comment_like_create(user=user, comment=comment)
    else:
        services.comment_like_delete(user=user, comment=comment)
    if not request.htmx:
        return redirect(f"{comment.post.get_absolute_url()}#comment-{comment.pk}")
    comment.refresh_from_db(fields=["like_count"])
    context = {"comment": comment, "liked": action == "like"}
    return render(request, "feed/_comment_like.html", context)


@require_POST
@login_required_htmx
def comment_delete(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Delete a comment: its author's own, or any comment on the viewer's post."""
    comment = get_object_or_404(Comment.objects.select_related("post"), pk=pk)
    post = visible_post_or_404(request, comment.post_id)
    services.comment_delete(comment=comment, actor=request.user)  # type: ignore[arg-type]
    if not request.htmx:
        messages.success(request, "Comment deleted.")
        return redirect(f"{post.get_absolute_url()}#comments")
    post.refresh_from_db(fields=["comment_count"])
    return render(request, "feed/_comment_count.html", {"post": post, "oob": True})


@require_http_methods(["GET", "POST"])
@login_required_htmx
def post_edit(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """The owner changes a post's caption, visibility and remix/download settings."""
    post = owned_post_or_403(request, pk)
    if request.method == "POST":
        form = PostEditForm(request.POST)
        if form.is_valid():
            try:
                services.post_update(post=post, actor=request.user, **form.cleaned_data)  # type: ignore[arg-type]
            except ValidationError as exc:
                form.add_error(None, error_text(exc))
            else:
                messages.success(request, "Post updated.")
                return redirect(post)
        return render(request, "feed/post_edit.html", {"post": post, "form": form}, status=400)
    form = PostEditForm(
        initial={
            "caption": post.caption,
            "visibility": post.visibility,
            "allow_remix": post.allow_remix,
            "allow_download": post.allow_download,
        }
    )
    return render(request, "feed/post_edit.html", {"post": post, "form": form})


@require_http_methods(["GET", "POST"])
@login_required_htmx
def post_delete(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """The owner confirms, then deletes a post."""
    post = owned_post_or_403(request, pk)
    if request.method == "POST":
        services.post_delete(post=post, actor=request.user)  # type: ignore[arg-type]
        messages.success(request, "Post deleted.")
        return redirect(request.user)  # type: ignore[arg-type]
    return render(request, "feed/post_delete.html", {"post": post})
