"""Trained versions of the For You learner: retrain, load, roll back, prune; the admin."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from feed.models import Post
from ranking.event_log import events_record
from ranking.intake import EventIn
from ranking.learner import Learner
from ranking.live import GRACE_S, live
from ranking.models import EngagementEvent, RankingModel
from ranking.selectors import ranking_model_previous
from ranking.services import ranking_model_activate, ranking_model_train, ranking_models_prune
from tests.factories import PostFactory, UserFactory


def _settle() -> None:
    """Age every event past the grace period, as time would."""
    EngagementEvent.objects.update(created=timezone.now() - timedelta(seconds=GRACE_S + 5))


@pytest.fixture
def engaged(user: User, other_user: User) -> list[Post]:
    posts = [PostFactory(owner=other_user) for _ in range(3)]
    for post in posts:
        events_record(viewer=user, events=[EventIn(post_id=post.pk, kind="impression")])
    events_record(viewer=user, events=[EventIn(post_id=posts[0].pk, kind="like")])
    _settle()
    return posts


def _more_events(user: User, posts: list[Post]) -> None:
    """Newer settled events (each clip shown again, one liked): what a retrain holds out
    and checks the live version against."""
    events_record(viewer=user, events=[EventIn(post_id=p.pk, kind="impression") for p in posts])
    events_record(viewer=user, events=[EventIn(post_id=posts[1].pk, kind="like")])
    _settle()


def test_a_retrain_learns_every_settled_event_and_goes_live(engaged: list[Post], user: User):
    model = ranking_model_train(note="test")
    assert model.is_active and model.version == 1
    assert model.events == EngagementEvent.objects.count() == 4
    assert model.through_event == EngagementEvent.objects.latest("pk").pk
    assert (model.viewers, model.clips) == (1, 3)
    learner = Learner.from_bytes(model.state.read())
    assert set(learner.items) == {str(p.pk) for p in engaged}
    # Prompts got embeddings on posting; the learner has them as side information.
    assert learner.item_embeddings([str(engaged[0].pk)])[1].all()

    # A web process loads the active version, then learns what came after it.
    assert live.sync() is live.learner and live.model_version == 1
    applied = live.applied
    events_record(viewer=user, events=[EventIn(post_id=engaged[1].pk, kind="like")])
    live.sync()
    assert live.applied == applied + 1


def test_unsettled_events_wait_for_the_next_retrain(engaged: list[Post], user: User):
    events_record(viewer=user, events=[EventIn(post_id=engaged[2].pk, kind="like")])
    model = ranking_model_train()
    assert model.events == 4  # the fresh like is within the grace period
    # ...and the live learner applies it on top of the version.
    live.sync()
    assert live.applied == 1


def test_rollback_and_pruning(engaged: list[Post], user: User, settings: Any):
    first = ranking_model_train()
    _more_events(user, engaged)
    second = ranking_model_train()
    assert second.is_active and not RankingModel.objects.get(pk=first.pk).is_active
    assert ranking_model_previous() == first
    ranking_model_activate(model=first, by=None)
    live.sync()
    assert live.model_version == first.version
    third = ranking_model_train(activate=False)
    fourth = ranking_model_train(activate=False)
    assert not third.is_active and not fourth.is_active
    # Keep one: the newest stays; the active one, and the one a rollback goes back to,
    # are never pruned.
    assert ranking_models_prune(keep=1) == 1
    assert set(RankingModel.objects.values_list("version", flat=True)) == {1, 2, 4}


def test_a_reset_is_learnt_by_every_process_and_every_retrain(engaged: list[Post], user: User):
    from ranking.services import recommendations_reset

    learner = live.sync()
    assert learner.viewer_taste(str(user.pk)) is not None
    recommendations_reset(viewer=user)
    assert live.sync().viewer_taste(str(user.pk)) is None
    _settle()
    model = ranking_model_train()
    assert Learner.from_bytes(model.state.read()).viewer_taste(str(user.pk)) is None


def test_beat_retrains_on_schedule():
    entry = settings.CELERY_BEAT_SCHEDULE["retrain-ranking"]
    assert entry["task"] == "ranking.tasks.ranking_retrain"
    assert entry["schedule"] == settings.RANKING_RETRAIN_HOURS * 3600.0


@pytest.fixture
def admin_client(client: Client, db: None) -> Client:
    boss = UserFactory(username="boss", is_staff=True, is_superuser=True)
    client.force_login(boss)
    return client


def test_admin_lists_versions_and_rolls_back_in_one_click(
    admin_client: Client, engaged: list[Post], user: User
):
    first = ranking_model_train()
    _more_events(user, engaged)
    ranking_model_train()
    page = admin_client.get(reverse("admin:ranking_rankingmodel_changelist"))
    assert page.status_code == 200
    assert b"Retrain now" in page.content and b"Roll back to model v1" in page.content
    # A GET asks for a confirmation (and changes nothing); the POST rolls back.
    confirm = admin_client.get(reverse("admin:ranking_rankingmodel_rollback"))
    assert confirm.status_code == 200 and b"Roll back to model v1?" in confirm.content
    assert RankingModel.objects.get(is_active=True) != first
    admin_client.post(reverse("admin:ranking_rankingmodel_rollback"))
    assert RankingModel.objects.get(is_active=True) == first


def test_admin_retrain_runs_on_the_worker(admin_client: Client, engaged: list[Post], settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    from config.celery import app

    app.conf.task_always_eager = True
    try:
        response = admin_client.post(reverse("admin:ranking_rankingmodel_retrain"))
    finally:
        app.conf.task_always_eager = False
    assert response.status_code == 302
    assert RankingModel.objects.filter(is_active=True).count() == 1


def test_people_without_admin_rights_cannot_retrain(client: Client, user: User):
    client.force_login(user)
    response = client.post(reverse("admin:ranking_rankingmodel_retrain"))
    assert response.status_code == 302 and "login" in response["Location"]
    assert not RankingModel.objects.exists()
