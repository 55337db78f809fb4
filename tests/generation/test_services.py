"""The job service: one declared state graph, prompt policy and allowances before queueing,
cancel, the sweeper, and drafts that become posts."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from feed.models import Post
from feed.services import post_publish, remix_source
from generation import services
from generation.models import GenerationJob, GenerationQuota
from generation.selectors import eta_seconds, job_status, queue_position, quota_usage
from moderation.models import PolicyCategory, PolicyRule, PromptRefusal
from ranking.models import EngagementEvent
from tests.factories import PostFactory

from .factories import job_in_state

pytestmark = pytest.mark.django_db
State = GenerationJob.State

PARAMS = {"model_key": "tiny-wan", "aspect": "9:16", "duration_s": 1.0, "steps": 4}


def create(user, prompt="a red kite over the dunes", **kwargs):
    return services.generation_job_create(owner=user, prompt=prompt, params=PARAMS, **kwargs)


def test_a_new_job_is_queued_and_its_task_sent_on_commit(
    user, django_capture_on_commit_callbacks, gpu_queue
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = create(user, prompt="  a red kite  ")
    assert job.state == State.QUEUED
    assert job.prompt == "a red kite"
    assert 0 <= job.seed < 2**31
    assert gpu_queue() == [], "nothing is sent before the job row is committed"
    for callback in callbacks:
        callback()
    assert gpu_queue() == [str(job.pk)]


@pytest.mark.parametrize(
    ("start", "to"),
    [
        (State.QUEUED, State.ENCODING),
        (State.QUEUED, State.SUCCEEDED),
        (State.RUNNING, State.SUCCEEDED),
        (State.SUCCEEDED, State.RUNNING),
        (State.FAILED, State.QUEUED),
        (State.CANCELLED, State.RUNNING),
    ],
)
def test_undeclared_transitions_raise(user, start, to):
    job = job_in_state(user, start)
    with pytest.raises(services.InvalidTransition):
        services.job_transition(job=job, to=to)
    job.refresh_from_db()
    assert job.state == start


def test_declared_path_sets_timestamps(user):
    job = job_in_state(user)
    services.job_transition(job=job, to=State.RUNNING)
    assert job.started_at is not None and job.heartbeat_at is not None
    services.job_transition(job=job, to=State.ENCODING)
    services.job_transition(job=job, to=State.SUCCEEDED)
    job.refresh_from_db()
    assert job.state == State.SUCCEEDED and job.finished_at >= job.started_at


def test_blocked_prompt_never_reaches_the_queue(
    user, django_capture_on_commit_callbacks, gpu_queue
):
    category = PolicyCategory.objects.create(
        slug="test-glitter", name="Glitter", description="This instance has no glitter."
    )
    PolicyRule.objects.create(category=category, kind=PolicyRule.Kind.TERM, value="glitter")
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(services.GenerationRefused) as refused,
    ):
        create(user, prompt="lots of GLITTER please")
    assert "glitter" in refused.value.rule and refused.value.category == "test-glitter"
    assert "can't be generated" in refused.value.messages[0]
    assert not GenerationJob.objects.exists() and gpu_queue() == []
    # The refusal is kept (it can be appealed) although no job was made.
    refusal = PromptRefusal.objects.get(pk=refused.value.refusal_id)
    assert refused.value.appeal_url == f"/appeals/refusal/{refusal.pk}/"
    # Whole words only: "glittery" is another word.
    create(user, prompt="a glittery disco ball")


def test_concurrent_allowance(user, settings):
    settings.GENERATION_CONCURRENT_QUOTA = 2
    create(user)
    create(user)
    with pytest.raises(services.QuotaExceeded, match="already have 2 clips in the works"):
        create(user)
    assert GenerationJob.objects.count() == 2


def test_daily_allowance_with_an_admin_override_and_refunds(user, settings):
    settings.GENERATION_CONCURRENT_QUOTA = 10
    GenerationQuota.objects.create(user=user, daily_limit=2, concurrent_limit=10)
    first = create(user)
    create(user)
    with pytest.raises(services.QuotaExceeded, match="daily allowance"):
        create(user)
    # A failure that was ours gives the clip back.
    services.job_transition(
        job=first, to=State.FAILED, failure=GenerationJob.Failure.INFRASTRUCTURE, message="x"
    )
    assert quota_usage(user=user) == (1, 1)
    create(user)


def test_cancelled_and_policy_failures_are_not_refunded(user):
    job = create(user)
    services.job_cancel(job=job, actor=user)
    job.refresh_from_db()
    assert job.state == State.CANCELLED and job.quota_refunded is False
    assert quota_usage(user=user) == (1, 0)


def test_a_watermark_id_already_taken_is_drawn_again(user, monkeypatch):
    taken = job_in_state(user, State.FAILED)
    field = GenerationJob._meta.get_field("watermark_id")
    monkeypatch.setattr(field, "_get_default", lambda: taken.watermark_id)

    job = create(user)

    assert job.watermark_id != taken.watermark_id
    assert GenerationJob.objects.filter(watermark_id=taken.watermark_id).count() == 1


def test_idempotency_key_returns_the_first_job_for_the_same_request_only(user):
    first = create(user, idempotency_key="abc")
    again = create(user, idempotency_key="abc")
    assert again.pk == first.pk
    with pytest.raises(services.IdempotencyConflict) as conflict:
        create(user, prompt="something else", idempotency_key="abc")
    assert conflict.value.job == first and conflict.value.differs == ["prompt"]
    assert GenerationJob.objects.count() == 1


def test_unknown_model_is_refused(user):
    with pytest.raises(ValidationError, match="no model called"):
        services.generation_job_create(
            owner=user, prompt="x", params={**PARAMS, "model_key": "sora-9000"}
        )


def test_cancel_running_job_sets_the_flag_only(user, other_user):
    job = job_in_state(user, State.RUNNING)
    with pytest.raises(PermissionDenied):
        services.job_cancel(job=job, actor=other_user)
    services.job_cancel(job=job, actor=user)
    job.refresh_from_db()
    assert job.state == State.RUNNING and job.cancel_requested
    finished = job_in_state(user, State.SUCCEEDED)
    with pytest.raises(ValidationError, match="already ready"):
        services.job_cancel(job=finished, actor=user)


def test_sweeper_requeues_a_dead_workers_job_then_gives_up(
    user, settings, gpu_queue, django_capture_on_commit_callbacks
):
    settings.GENERATION_MAX_ATTEMPTS = 2
    now = timezone.now()
    long_ago = now - timedelta(seconds=5)
    job = job_in_state(user, State.RUNNING, attempts=1, started_at=now, lease_expires_at=long_ago)
    alive = job_in_state(
        user,
        State.RUNNING,
        attempts=1,
        started_at=now,
        lease_expires_at=now + timedelta(seconds=60),
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert services.jobs_sweep()["requeued"] == 1
    assert gpu_queue() == [str(job.pk)]
    job.refresh_from_db()
    alive.refresh_from_db()
    assert job.state == State.QUEUED and job.worker == ""
    assert alive.state == State.RUNNING

    GenerationJob.objects.filter(pk=job.pk).update(
        state=State.RUNNING, attempts=2, lease_expires_at=long_ago
    )
    assert services.jobs_sweep()["failed"] == 1
    job.refresh_from_db()
    assert job.state == State.FAILED
    assert job.failure == GenerationJob.Failure.INFRASTRUCTURE and job.quota_refunded
    assert "stopped answering" in job.failure_message


def test_sweeper_sends_again_a_job_that_waited_long_once_a_while(
    user, settings, gpu_queue, django_capture_on_commit_callbacks
):
    settings.GENERATION_RESEND_QUEUED_S = 300
    now = timezone.now()
    # Its message was lost (a Redis restart): nothing on the queue, and it waits on.
    long_ago, lately = now - timedelta(seconds=301), now - timedelta(seconds=60)
    lost = job_in_state(user, queued_at=long_ago, sent_at=long_ago)
    recent = job_in_state(user, queued_at=lately, sent_at=lately)
    assert gpu_queue() == []
    with django_capture_on_commit_callbacks(execute=True):
        counts = services.jobs_sweep()
    assert counts["resent"] == 1
    assert gpu_queue() == [str(lost.pk)]
    lost.refresh_from_db()
    assert lost.state == State.QUEUED and lost.sent_at >= now
    assert lost.queued_at == long_ago, "it keeps its place in line"
    # Sent again only once a while, not at every sweep.
    with django_capture_on_commit_callbacks(execute=True):
        assert services.jobs_sweep()["resent"] == 0
    assert gpu_queue() == [str(lost.pk)]
    recent.refresh_from_db()
    assert recent.state == State.QUEUED


@pytest.mark.parametrize("state", [State.RUNNING, State.ENCODING])
def test_retry_policy_gives_a_job_back_below_the_most_attempts(user, settings, state):
    settings.GENERATION_MAX_ATTEMPTS = 3
    job = job_in_state(
        user, state, attempts=2, worker="gpu-1", progress_step=5, heartbeat_at=timezone.now()
    )
    job = services.job_retry_or_fail(job=job, reason="never shown")
    job.refresh_from_db()
    assert (job.state, job.worker, job.attempts, job.progress_step) == (State.QUEUED, "", 2, 0)
    assert job.started_at is None and job.heartbeat_at is None
    assert (job.failure, job.failure_message, job.finished_at) == ("", "", None)


def test_retry_policy_fails_with_the_reason_at_the_most_attempts(user, settings):
    settings.GENERATION_MAX_ATTEMPTS = 3
    job = job_in_state(user, State.RUNNING, attempts=3)
    job = services.job_retry_or_fail(job=job, reason="It broke, several times.")
    job.refresh_from_db()
    assert job.state == State.FAILED and job.finished_at is not None
    assert job.failure == GenerationJob.Failure.INFRASTRUCTURE and job.quota_refunded
    assert job.failure_message == "It broke, several times."


def test_sweeper_times_out_what_ran_or_waited_too_long(user, settings):
    now = timezone.now()
    ran = job_in_state(
        user,
        State.RUNNING,
        started_at=now - timedelta(seconds=settings.GENERATION_TIMEOUT_S + 1),
        heartbeat_at=now,
    )
    waited = job_in_state(
        user, queued_at=now - timedelta(seconds=settings.GENERATION_QUEUE_TIMEOUT_S + 1)
    )
    assert services.jobs_sweep()["timed_out"] == 2
    for job in (ran, waited):
        job.refresh_from_db()
        assert job.state == State.TIMED_OUT and job.quota_refunded


def test_queue_position_and_eta(user):
    now = timezone.now()
    job_in_state(
        user,
        State.SUCCEEDED,
        started_at=now - timedelta(seconds=30),
        finished_at=now - timedelta(seconds=20),
    )
    GenerationJob.objects.filter(state=State.SUCCEEDED).update(
        started_at=now - timedelta(seconds=30), finished_at=now - timedelta(seconds=20)
    )
    first = job_in_state(user, queued_at=now - timedelta(seconds=5))
    second = job_in_state(user, queued_at=now)
    assert queue_position(job=first) == 1
    assert queue_position(job=second) == 2
    assert eta_seconds(job=second, position=2) == pytest.approx(20, abs=0.5)
    status = job_status(job=second)
    assert status["queue_position"] == 2 and status["state"] == "queued"


def test_draft_becomes_a_post_that_owns_its_files(user, other_user):
    source = PostFactory(owner=other_user)
    job = job_in_state(user, State.SUCCEEDED, source_post_id=source.pk)
    video_name = job.video.name
    with pytest.raises(PermissionDenied):
        post_publish(job=job, actor=other_user)
    post = post_publish(job=job, actor=user, caption="mine", visibility="followers")
    assert post.video.name == video_name and post.remix_of == source
    assert post.visibility == "followers" and post.model_name == "tiny-wan"
    # The ranking hears of the remix (and the post has its prompt's embedding).
    assert EngagementEvent.objects.filter(viewer=user, post=source, kind="remix").count() == 1
    assert len(bytes(post.prompt_embedding)) == 384 * 4
    job.refresh_from_db()
    assert job.published_post_id == post.pk and not job.video
    with pytest.raises(ValidationError, match="already been posted"):
        post_publish(job=job, actor=user)
    assert Post.objects.filter(owner=user).count() == 1


@pytest.mark.django_db(transaction=True)
def test_discarding_a_draft_removes_its_files(user):
    job = job_in_state(user, State.SUCCEEDED)
    storage, name = job.video.storage, job.video.name
    services.draft_discard(job=job, actor=user)
    assert not storage.exists(name)
    job.refresh_from_db()
    assert job.discarded_at is not None and not job.is_draft


def test_remix_source_respects_allow_remix(user, other_user):
    post = PostFactory(owner=other_user)
    published = job_in_state(other_user, State.SUCCEEDED, seed=1234)
    GenerationJob.objects.filter(pk=published.pk).update(published_post_id=post.pk)
    source = remix_source(post=post)
    assert (source.post_id, source.video, source.seed) == (post.pk, post.video.name, 1234)
    job = create(user, source=source)
    assert job.seed == 1234 and job.source_post_id == post.pk
    post.allow_remix = False
    with pytest.raises(PermissionDenied, match="doesn't allow remixes"):
        remix_source(post=post)
