"""Ranking configs: versions made in the admin, one active, activation after a confirmation,
rollback (to version 0, the built-in defaults, too). Previews: test_preview_task.py."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.admin.models import LogEntry
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse

from accounts.models import User
from feed.selectors import Feed
from feed.services import feed_serve
from ranking.learner import DEFAULT_WEIGHTS
from ranking.models import TUNABLE_FIELDS, RankingConfig, ServedItem
from ranking.selectors import active_config
from ranking.services import (
    ranking_config_activate,
    ranking_config_create,
    ranking_config_defaults_ensure,
)
from tests.factories import PostFactory, UserFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:ranking_rankingconfig_changelist")
ADD = reverse("admin:ranking_rankingconfig_add")


def change_url(config: RankingConfig) -> str:
    return reverse("admin:ranking_rankingconfig_change", args=[config.pk])


def activate_url(config: RankingConfig) -> str:
    return reverse("admin:ranking_rankingconfig_activate", args=[config.pk])


def preview_url(config: RankingConfig) -> str:
    return reverse("admin:ranking_rankingconfig_preview", args=[config.pk])


@pytest.fixture
def boss() -> User:
    return User.objects.create_superuser(
        username="boss", email="boss@example.com", password="pass-word-123"
    )


@pytest.fixture
def admin_client(client: Client, boss: User) -> Client:
    client.force_login(boss)
    return client


def form_data(config: RankingConfig | None = None, **changes: Any) -> dict[str, Any]:
    """What the admin's form posts: the settings of `config` (or the defaults), changed."""
    data: dict[str, Any] = dict((config or RankingConfig()).values)
    data.update(note="a reason", _save="Save")
    data.update(changes)
    return data


def make(note: str = "v", **values: Any) -> RankingConfig:
    return ranking_config_create(
        values={**RankingConfig().values, **values}, note=note, based_on=None, created_by=None
    )


def test_defaults_follow_the_learner_and_active_config_falls_back_to_them():
    defaults = active_config()
    assert defaults.pk is None
    assert defaults.weights == DEFAULT_WEIGHTS
    assert defaults.weight_skip < 0 and defaults.weight_negative < 0
    first = make()
    assert active_config().pk is None  # saved but not activated
    ranking_config_activate(config=first, by=None)
    assert active_config() == first


def test_adding_starts_from_the_live_settings(admin_client: Client, boss: User):
    live = make(weight_share=3.0)
    ranking_config_activate(config=live, by=boss)
    page = admin_client.get(ADD)
    assert page.status_code == 200
    assert page.context["adminform"].form.initial["weight_share"] == 3.0
    response = admin_client.post(ADD, form_data(live, weight_comment=4.0, note="comments matter"))
    assert response.status_code == 302
    new = RankingConfig.objects.get(note="comments matter")
    assert (new.version, new.based_on, new.created_by) == (2, live, boss)
    assert new.changes == {"weight_comment": [1.0, 4.0]}
    assert not new.is_active


def test_saving_an_edit_makes_a_new_version_and_leaves_the_old_one(
    admin_client: Client, boss: User
):
    response = admin_client.post(ADD, form_data(exploration_share=0.2, note="first"))
    assert response.status_code == 302
    first = RankingConfig.objects.get()
    assert (first.version, first.created_by, first.based_on) == (1, boss, None)
    assert first.changes == {"exploration_share": [0.1, 0.2]}
    before = {f.attname: getattr(first, f.attname) for f in RankingConfig._meta.concrete_fields}

    page = admin_client.get(change_url(first))
    assert page.status_code == 200
    assert page.context["adminform"].form.initial["note"] == ""  # a new version needs its why
    response = admin_client.post(
        change_url(first), form_data(first, weight_like=2.0, remix_gap=3, note="likes count more")
    )
    assert response.status_code == 302
    second = RankingConfig.objects.get(version=2)
    assert response["Location"] == change_url(second)
    assert second.based_on == first and second.created_by == boss
    assert second.changes == {"weight_like": [1.0, 2.0], "remix_gap": [1, 3]}
    assert second.exploration_share == 0.2  # carried over from the version it was based on
    first.refresh_from_db()
    assert {f.attname: getattr(first, f.attname) for f in RankingConfig._meta.concrete_fields} == (
        before
    )
    entry = LogEntry.objects.filter(object_id=str(second.pk)).latest("action_time")
    assert "weight_like 1.0 → 2.0" in entry.get_change_message()
    assert "weight_like 1.0 → 2.0" in admin_client.get(CHANGELIST).content.decode()


def test_a_saved_version_is_immutable():
    config = make()
    config.weight_like = 9.0
    with pytest.raises(ValueError, match="immutable"):
        config.save()
    config.refresh_from_db()
    assert config.weight_like == DEFAULT_WEIGHTS["like"]


def test_saving_with_nothing_changed_is_refused(admin_client: Client):
    first = make()
    response = admin_client.post(change_url(first), form_data(first, note="no reason"))
    assert response.status_code == 200
    assert "Nothing changed" in response.content.decode()
    assert RankingConfig.objects.count() == 1


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"exploration_share": 0.9}, "exploration_share"),
        ({"exploration_share": -0.1}, "exploration_share"),
        ({"freshness_half_life_hours": -5}, "freshness_half_life_hours"),
        ({"freshness_half_life_hours": 0}, "freshness_half_life_hours"),
        ({"weight_negative": 2.0}, "weight_negative"),
        ({"weight_like": -1.0}, "weight_like"),
        ({"max_per_author": 0}, "max_per_author"),
        ({"note": ""}, "note"),
    ],
)
def test_invalid_settings_are_shown_not_500(
    admin_client: Client, changes: dict[str, Any], field: str
):
    response = admin_client.post(ADD, form_data(**changes))
    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert "errornote" in response.content.decode()
    assert not RankingConfig.objects.exists()


def test_the_database_refuses_out_of_range_settings():
    config = make()
    with pytest.raises(IntegrityError), transaction.atomic():
        RankingConfig.objects.filter(pk=config.pk).update(exploration_share=0.9)
    with pytest.raises(IntegrityError), transaction.atomic():
        RankingConfig.objects.filter(pk=config.pk).update(freshness_half_life_hours=-1)


def test_activating_switches_the_live_version(admin_client: Client, boss: User):
    first, second = make("one"), make("two", weight_like=2.5)
    assert admin_client.post(activate_url(first)).status_code == 302
    assert list(RankingConfig.objects.filter(is_active=True)) == [first]
    response = admin_client.post(activate_url(second), follow=True)
    assert "Now live: v2 (was v1)." in response.content.decode()
    assert list(RankingConfig.objects.filter(is_active=True)) == [second]
    second.refresh_from_db()
    assert second.activated_by == boss and second.activated is not None
    # Two selected: refused, nothing changes.
    admin_client.post(
        CHANGELIST, {"action": "activate_selected", "_selected_action": [first.pk, second.pk]}
    )
    assert list(RankingConfig.objects.filter(is_active=True)) == [second]


def test_activating_asks_first(admin_client: Client):
    first, second = make("one"), make("two", weight_like=2.5, remix_gap=3)
    ranking_config_activate(config=first, by=None)
    # The version's page links to a confirmation, not straight to the activation.
    page = admin_client.get(change_url(second)).content.decode()
    assert f'href="{activate_url(second)}"' in page
    # A GET shows what would change and a button; nothing is activated.
    response = admin_client.get(activate_url(second))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Activate v2?" in html
    assert ("weight of like", "1.0", "2.5") in response.context["facts"]
    assert ("remix gap", "1", "3") in response.context["facts"]
    assert f'action="{activate_url(second)}"' in html and 'type="submit"' in html
    assert "Not previewed" in html
    assert list(RankingConfig.objects.filter(is_active=True)) == [first]
    # The POST the button sends activates.
    assert admin_client.post(activate_url(second)).status_code == 302
    assert list(RankingConfig.objects.filter(is_active=True)) == [second]
    # The changelist's action asks too: first a confirmation page, then the activation.
    response = admin_client.post(
        CHANGELIST, {"action": "activate_selected", "_selected_action": [first.pk], "index": 0}
    )
    assert response.status_code == 200
    assert "Roll back to v1?" in response.content.decode()
    assert list(RankingConfig.objects.filter(is_active=True)) == [second]
    response = admin_client.post(
        CHANGELIST,
        {"action": "activate_selected", "_selected_action": [first.pk], "confirm": "yes"},
    )
    assert response.status_code == 302
    assert list(RankingConfig.objects.filter(is_active=True)) == [first]
    # So does the rollback: a GET asks, the POST rolls back.
    response = admin_client.get(reverse("admin:ranking_rankingconfig_rollback"))
    assert response.status_code == 200 and "Activate v2?" in response.content.decode()
    assert list(RankingConfig.objects.filter(is_active=True)) == [first]


def test_the_database_never_holds_two_active():
    first, second = make(), make()
    ranking_config_activate(config=first, by=None)
    with pytest.raises(IntegrityError), transaction.atomic():
        RankingConfig.objects.filter(pk=second.pk).update(is_active=True)
    assert list(RankingConfig.objects.filter(is_active=True)) == [first]


def test_rollback_in_one_click(admin_client: Client):
    first, second = make("one"), make("two")
    assert "Roll back to" not in admin_client.get(CHANGELIST).content.decode()
    ranking_config_activate(config=first, by=None)
    ranking_config_activate(config=second, by=None)
    listing = admin_client.get(CHANGELIST).content.decode()
    assert "Roll back to v1" in listing
    assert f'href="{reverse("admin:ranking_rankingconfig_rollback")}"' in listing
    # From the old version's own page, too.
    assert "Roll back to this version" in admin_client.get(change_url(first)).content.decode()
    response = admin_client.post(reverse("admin:ranking_rankingconfig_rollback"))
    assert response.status_code == 302
    assert active_config() == first
    # Rolling back again returns to the version just left.
    admin_client.post(reverse("admin:ranking_rankingconfig_rollback"))
    assert active_config() == second


def test_a_version_that_was_live_is_read_only(admin_client: Client):
    first, second = make("one"), make("two")
    ranking_config_activate(config=first, by=None)
    ranking_config_activate(config=second, by=None)
    page = admin_client.get(change_url(first))
    assert page.status_code == 200
    assert not page.context["has_change_permission"]
    assert 'name="_save"' not in page.content.decode()
    response = admin_client.post(change_url(first), form_data(first, weight_like=5.0))
    assert response.status_code == 403
    assert RankingConfig.objects.count() == 2
    # The live one stays editable (into a new version).
    assert admin_client.get(change_url(second)).context["has_change_permission"]
    # Versions are history: nothing deletes them.
    delete = reverse("admin:ranking_rankingconfig_delete", args=[first.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403


def _for_you_weights(viewer: User) -> tuple[int | None, dict[str, float]]:
    """Serve the viewer a For You page: (the config version it logged, the weights it used)."""
    feed_serve(viewer=viewer, feed=Feed.FOR_YOU, cursor=None, size=3)
    served = ServedItem.objects.filter(viewer=viewer).latest("created")
    heads = served.terms["heads"]
    return served.config_version, {head: heads[head]["weight"] for head in heads}


def test_the_defaults_are_version_0(admin_client: Client):
    assert not RankingConfig.objects.exists()
    listing = admin_client.get(CHANGELIST)
    assert listing.status_code == 200
    zero = RankingConfig.objects.get()
    assert zero.version == 0 and zero.is_active and zero.activated is not None
    assert zero.values == RankingConfig().values
    assert zero.weights == DEFAULT_WEIGHTS
    assert "the built-in defaults" in listing.content.decode()
    admin_client.get(CHANGELIST)
    assert RankingConfig.objects.count() == 1  # made once
    assert active_config() == zero
    # The next version saved is v1, based on the defaults.
    response = admin_client.post(ADD, form_data(zero, weight_like=2.0, note="likes count more"))
    assert response.status_code == 302
    assert RankingConfig.objects.get(note="likes count more").version == 1


def test_rolling_back_to_version_0_brings_the_defaults_back(admin_client: Client):
    viewer = UserFactory(username="watcher")
    for _ in range(3):
        PostFactory()
    admin_client.get(CHANGELIST)  # version 0 appears, live
    assert _for_you_weights(viewer) == (0, DEFAULT_WEIGHTS)
    tuned = make("tuned", weight_like=3.0, weight_skip=-2.0)
    assert admin_client.post(activate_url(tuned)).status_code == 302
    version, weights = _for_you_weights(viewer)
    assert (version, weights["like"], weights["skip"]) == (1, 3.0, -2.0)
    # One step back: the version live before was version 0.
    listing = admin_client.get(CHANGELIST).content.decode()
    assert "Roll back to v0" in listing
    response = admin_client.post(reverse("admin:ranking_rankingconfig_rollback"), follow=True)
    assert "Now live: v0 (the built-in defaults) (was v1)." in response.content.decode()
    assert active_config().version == 0
    assert _for_you_weights(viewer) == (0, DEFAULT_WEIGHTS)


def test_version_0_waits_when_another_version_is_live(admin_client: Client):
    live = make("live", weight_share=4.0)
    ranking_config_activate(config=live, by=None)
    admin_client.get(CHANGELIST)
    zero = RankingConfig.objects.get(version=0)
    assert not zero.is_active and zero.activated is None
    assert active_config() == live
    assert ranking_config_defaults_ensure() == zero
    # It can be rolled back to from its own page, after the confirmation.
    assert "Roll back to this version" in admin_client.get(change_url(zero)).content.decode()
    confirm = admin_client.get(activate_url(zero))
    assert "Roll back to v0 (the built-in defaults)?" in confirm.content.decode()
    admin_client.post(activate_url(zero))
    assert active_config().weights == DEFAULT_WEIGHTS


def test_people_without_admin_rights_are_kept_out(client: Client, user: User):
    config = make()
    client.force_login(user)  # signed in, not staff
    for url in (CHANGELIST, ADD, change_url(config), preview_url(config), activate_url(config)):
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"], url
    response = client.post(activate_url(config))
    assert response.status_code == 302
    assert not RankingConfig.objects.filter(is_active=True).exists()
    # Staff without the model's permissions get a 403.
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    assert client.get(preview_url(config)).status_code == 403
    assert client.post(preview_url(config), {"days": 3}).status_code == 403
    assert client.get(activate_url(config)).status_code == 403
    assert client.post(activate_url(config)).status_code == 403
    assert client.post(reverse("admin:ranking_rankingconfig_rollback")).status_code == 403
    assert not RankingConfig.objects.filter(is_active=True).exists()


def test_every_setting_is_in_the_form():
    from ranking.admin import RankingConfigForm

    assert set(TUNABLE_FIELDS) | {"note"} == set(RankingConfigForm.base_fields)
