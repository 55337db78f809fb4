"""The API drill: schemathesis sends generated requests, valid and not, to every operation in
/api/schema/ on a real daphne, as an anonymous caller and as a signed-in one, and checks each
answer against the schema: no server error, only documented statuses, content types and
headers, bodies that match their schema, invalid input refused, valid input taken.

Bounded and reproducible: a fixed number of examples per operation, derandomized and seeded.
Run alone with `pytest tests/test_api_drill.py`; DRILL_EXAMPLES=50 digs deeper.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth.models import Permission
from rest_framework.authtoken.models import Token

from feed import services as feed_services
from generation.models import GenerationJob
from moderation import services as moderation_services
from moderation.models import Case, Report

from .factories import PostFactory, UserFactory
from .generation.factories import job_in_state
from .processes import BIN, ROOT, daphne, process_env

pytestmark = pytest.mark.django_db(transaction=True)

EXAMPLES = int(os.environ.get("DRILL_EXAMPLES", "8"))
SEED = 20261206

# Operations whose schema-valid requests may still be refused with a 400 because of state the
# schema can't state: a password that doesn't match, a cursor this server never handed out,
# a clip that isn't a draft (or is already finished), following or blocking oneself,
# "exactly one of" (reports, appeals), a prompt the policy refuses, an upload that isn't a
# picture (avatar) or a video (verify), a browser's push key that is not a point on the P-256
# curve (push_subscribe: the schema states its form, not the curve). Every other operation
# must take any request its schema calls valid.
STATE_DEPENDENT_400 = [
    "token_create",
    "feed_page",
    "posts_list",
    "user_posts",
    "user_followers",
    "user_following",
    "post_comments_list",
    "generations_list",
    "generations_create",
    "posts_remix",
    "generations_discard",
    "generations_cancel",
    "generations_post",
    "user_follow",
    "user_block",
    "report_create",
    "appeal_create",
    "moderation_case_decide",
    "moderation_appeal_decide",
    "verify_create",
    "me_update",
    "push_subscribe",
]
# schemathesis's own list for positive_data_acceptance, and 400.
POSITIVE_400 = ["2xx", "3xx", "400", "401", "403", "404", "409", "429", "5xx"]


def seed() -> dict[str, Any]:
    """People, posts, a comment, a draft and a case for the drill to find."""
    caller = UserFactory(username="drill")
    # A moderator too, so the moderators' endpoints are drilled past their 403.
    caller.user_permissions.add(Permission.objects.get(codename="review_case"))
    # A confirmed address, so that turning the email digest on is taken.
    EmailAddress.objects.create(user=caller, email=caller.email, verified=True, primary=True)
    other = UserFactory(username="other")
    UserFactory(username="bystander")
    PostFactory(owner=caller)  # one of their own, for the lists
    theirs = PostFactory(owner=other, allow_remix=True)
    comment = feed_services.comment_create(author=caller, post=theirs, body="nice boat")
    draft = job_in_state(caller, GenerationJob.State.SUCCEEDED, model_key="riff-house")
    # A case about someone else's post: a moderator never sees a case about their own.
    moderation_services.report_create(
        reporter=UserFactory(username="reporter"), reason=Report.Reason.SPAM, post=theirs
    )
    return {
        "caller": caller,
        "token": Token.objects.create(user=caller).key,
        "post": theirs.pk,
        "comment": comment.pk,
        "job": str(draft.pk),
        "case": Case.objects.get().pk,
    }


def drill_config(made: dict[str, Any], path: Path) -> Path:
    """A schemathesis.toml: bounds, the seeded ids each path names, the 400s allowed."""
    per_path = [
        ("/api/v1/posts/{id}/", "id", made["post"]),
        ("/api/v1/comments/{id}/", "id", made["comment"]),
        ("/api/v1/moderation/cases/{id}/", "id", made["case"]),
        ("/api/v1/generations/{job_id}/", "job_id", made["job"]),
        # Blocking hides one person's clips from the other: block a bystander, not `other`.
        ("/api/v1/users/{handle}/block/", "handle", "bystander"),
        ("/api/v1/users/{handle}/", "handle", "other"),
    ]
    lines = [
        f"seed = {SEED}",
        "[generation]",
        f"max-examples = {EXAMPLES}",
        "deterministic = true",
        # Nothing carried over from earlier runs: each run is the same run.
        'database = "none"',
        "[cache]",
        "enabled = false",
        "[phases.stateful]",
        "enabled = false",
    ]
    for prefix, name, value in per_path:
        regex = "^" + prefix.replace("{", "[{]").replace("}", "[}]")
        lines += ["[[operations]]", f"include-path-regex = {json.dumps(regex)}"]
        lines += [f'parameters = {{ "path.{name}" = {json.dumps(value)} }}']
    lines += [
        "[[operations]]",
        f"include-operation-id = {json.dumps(STATE_DEPENDENT_400)}",
        f"checks.positive_data_acceptance.expected-statuses = {json.dumps(POSITIVE_400)}",
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def drill(settings: Any, tmp_path: Path) -> Iterator[tuple[str, dict[str, Any], Path]]:
    """Daphne on the test database (emptied after each test), the seeded data, the config."""
    made = seed()
    config = drill_config(made, tmp_path / "schemathesis.toml")
    # No `verify` worker runs here: an upload is answered "pending" at once.
    env = process_env(media_root=settings.MEDIA_ROOT, VERIFY_WAIT_S="0")
    with daphne(env, tmp_path / "daphne.log") as base:
        yield base, made, config


@pytest.mark.parametrize("caller", ["anonymous", "signed-in"])
def test_drill(caller: str, drill: tuple[str, dict[str, Any], Path], tmp_path: Path) -> None:
    base, made, config = drill
    args = [
        str(BIN / "st"), "--no-color", "--config-file", str(config), "run",
        f"{base}/api/schema/", "--checks", "all", "--phases", "examples,coverage,fuzzing",
        "--workers", "1", "--request-timeout", "30",
    ]  # fmt: skip
    env = process_env(media_root=tmp_path, SCHEMATHESIS_HOOKS="tests.api_drill_hooks")
    if caller == "signed-in":
        args += ["--header", f"Authorization: Token {made['token']}"]
        env |= {"DRILL_TOKEN": made["token"], "DRILL_USER_ID": str(made["caller"].pk)}
    started = time.monotonic()
    result = subprocess.run(  # noqa: S603
        args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    report = result.stdout + result.stderr
    print(f"{caller}: {time.monotonic() - started:.0f} s\n{report[-3000:]}")
    assert result.returncode == 0, report[-30000:]
