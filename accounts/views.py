"""Profile pages, follow lists, following, blocking and profile editing."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import trigger_client_event

from core.web import (
    HtmxHttpRequest,
    bad_request,
    login_required_htmx,
    redirect_back,
    signup_remembering,
)

from . import selectors, services
from .export import account_export
from .forms import ProfileForm
from .models import User
from .profile import profile_posts

GRID_PAGE_SIZE = 30
LIST_PAGE_SIZE = 50


def user_or_404(handle: str) -> User:
    """The active user with this handle, or a 404."""
    user = selectors.user_by_handle(handle=handle)
    if user is None:
        raise Http404("No one has that handle.")
    return user


def forbidden(request: HtmxHttpRequest, message: str) -> HttpResponse:
    """A 403 that says why: a bare message for htmx (the page toasts it), the 403 page otherwise."""
    if request.htmx:
        return HttpResponse(message, status=403, content_type="text/plain; charset=utf-8")
    return render(request, "403.html", {"exception": message}, status=403)


def _profile_context(request: HtmxHttpRequest, owner: User) -> dict[str, object]:
    """What the profile page and its action fragment show: counts, buttons, the posts."""
    block = selectors.block_state(user=request.user, other=owner)
    page: Page | None = None
    if not block.any:  # blocked either way: neither sees the other's clips
        posts = profile_posts(viewer=request.user, owner=owner)  # type: ignore[arg-type]
        page = Paginator(posts, GRID_PAGE_SIZE).get_page(request.GET.get("page"))
    return {
        "owner": owner,
        "profile": owner.profile,
        "page": page,
        "following": not block.any
        and selectors.is_following(follower=request.user, followee=owner),  # type: ignore[arg-type]
        "blocks": block,  # not "block": templates reserve it inside {% block %}
        "is_self": request.user.pk == owner.pk,
    }


@require_GET
def profile(request: HtmxHttpRequest, handle: str) -> HttpResponse:
    """Someone's profile: who they are, their counts and the posts the viewer may see."""
    owner = user_or_404(handle)
    return render(request, "accounts/profile.html", _profile_context(request, owner))


def _follow_list(
    request: HtmxHttpRequest, owner: User, people: QuerySet[User], kind: str
) -> HttpResponse:
    page = Paginator(people, LIST_PAGE_SIZE).get_page(request.GET.get("page"))
    followed = selectors.following_ids(
        user=request.user,  # type: ignore[arg-type]
        among=[person.pk for person in page.object_list],
    )
    rows = [(person, person.pk in followed) for person in page.object_list]
    context = {"owner": owner, "page": page, "rows": rows, "kind": kind}
    return render(request, "accounts/follow_list.html", context)


@require_GET
def followers(request: HtmxHttpRequest, handle: str) -> HttpResponse:
    """People who follow this person."""
    owner = user_or_404(handle)
    return _follow_list(request, owner, selectors.followers_of(user=owner), "followers")


@require_GET
def following(request: HtmxHttpRequest, handle: str) -> HttpResponse:
    """People this person follows."""
    owner = user_or_404(handle)
    return _follow_list(request, owner, selectors.followed_by(user=owner), "following")


@require_POST
@signup_remembering("follow", handle="handle")
def follow(request: HtmxHttpRequest, handle: str) -> HttpResponse:
    """Follow or unfollow someone (`action` = follow|unfollow; toggles when absent)."""
    target = user_or_404(handle)
    viewer: User = request.user  # type: ignore[assignment]
    action = request.POST.get("action", "toggle")
    if action not in {"follow", "unfollow", "toggle"}:
        return bad_request(request, "Unknown action: use follow or unfollow.")
    if action == "toggle":
        action = (
            "unfollow" if selectors.is_following(follower=viewer, followee=target) else "follow"
        )
    try:
        if action == "follow":
            services.follow_create(follower=viewer, followee=target)
        else:
            services.follow_delete(follower=viewer, followee=target)
    except ValidationError as exc:
        return bad_request(request, " ".join(exc.messages))
    except PermissionDenied as exc:  # a block stands between them
        return forbidden(request, str(exc))
    if not request.htmx:
        return redirect_back(request, target.get_absolute_url())
    target = user_or_404(handle)  # fresh counts
    is_following = action == "follow"
    response = render(
        request,
        "accounts/_follow_button.html",
        {
            "target": target,
            "following": is_following,
            "show_counts": bool(request.POST.get("counts")),
            "oob_counts": bool(request.POST.get("counts")),
            "compact": bool(request.POST.get("compact")),
        },
    )
    # Other buttons for the same person on the page (several clips by one author) follow suit.
    return trigger_client_event(
        response, "riff:follow", {"user": target.pk, "following": is_following}
    )


@require_POST
@login_required_htmx
def block(request: HtmxHttpRequest, handle: str) -> HttpResponse:
    """Block or unblock someone (`action` = block|unblock; toggles when absent)."""
    target = user_or_404(handle)
    viewer: User = request.user  # type: ignore[assignment]
    action = request.POST.get("action", "toggle")
    if action not in {"block", "unblock", "toggle"}:
        return bad_request(request, "Unknown action: use block or unblock.")
    if action == "toggle":
        blocking = selectors.block_state(user=viewer, other=target).blocking
        action = "unblock" if blocking else "block"
    try:
        if action == "block":
            services.block_create(blocker=viewer, blocked=target)
        else:
            services.block_delete(blocker=viewer, blocked=target)
    except ValidationError as exc:
        return bad_request(request, " ".join(exc.messages))
    if not request.htmx:
        if action == "block":
            messages.success(request, f"You blocked @{target.username}.")
        return redirect_back(request, target.get_absolute_url())
    # Blocking ends follows both ways and hides clips: redraw the actions, counts and grid.
    context = _profile_context(request, user_or_404(handle))
    return render(request, "accounts/_profile_actions.html", {**context, "oob": True})


class _AvatarInput(forms.FileInput):
    """A plain file input: the service replaces avatars but does not clear them."""

    def __init__(self) -> None:
        super().__init__(attrs={"accept": "image/*"})


@require_http_methods(["GET", "POST"])
@login_required_htmx
def profile_edit(request: HtmxHttpRequest) -> HttpResponse:
    """Change your display name, bio and avatar."""
    user: User = request.user  # type: ignore[assignment]
    profile_obj = services.profile_ensure(user=user)
    if request.method == "POST":
        form = ProfileForm(request.POST, request.FILES, instance=profile_obj)
        form.fields["avatar"].widget = _AvatarInput()
        if form.is_valid():
            avatar = form.cleaned_data.get("avatar")
            try:
                services.profile_update(
                    user=user,
                    display_name=form.cleaned_data["display_name"],
                    bio=form.cleaned_data["bio"],
                    avatar=avatar if isinstance(avatar, UploadedFile) else None,
                )
            except ValidationError as exc:
                form.add_error(None, " ".join(exc.messages))
            else:
                messages.success(request, "Profile saved.")
                return redirect(user)
        profile_obj.refresh_from_db()
        return render(
            request,
            "accounts/profile_edit.html",
            {"form": form, "profile": profile_obj},
            status=400,
        )
    form = ProfileForm(instance=profile_obj)
    form.fields["avatar"].widget = _AvatarInput()
    return render(request, "accounts/profile_edit.html", {"form": form, "profile": profile_obj})


@require_GET
@login_required_htmx
def data_export(request: HtmxHttpRequest) -> HttpResponse:
    """Download your data as one JSON file."""
    user: User = request.user  # type: ignore[assignment]
    response = JsonResponse(account_export(user=user), json_dumps_params={"indent": 2})
    response["Content-Disposition"] = f'attachment; filename="riff-{user.username}.json"'
    response["Cache-Control"] = "private, no-store"
    return response
