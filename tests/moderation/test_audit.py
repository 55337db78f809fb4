"""The audit log keeps what moderators and admins change: the policy, who may moderate,
which ranking is live, and every automatic prompt refusal (tests/moderation/test_policy.py)."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import psycopg
import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.urls import reverse

from accounts.models import User
from moderation.apps import MODERATORS_GROUP
from moderation.models import AuditEntry, PolicyCategory, PolicyRule, ProtectedName
from moderation.services import audit_record
from ranking.models import RankingConfig
from ranking.services import ranking_config_activate, ranking_config_create

pytestmark = pytest.mark.django_db


class _Form(HTMLParser):
    """The fields of the admin's change form, as a browser would submit them unchanged."""

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, list[str]] = {}
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        name = a.get("name")
        if tag == "input" and name and a.get("type") not in ("submit", "button", "file"):
            checkable = a.get("type") in ("checkbox", "radio")
            if checkable and "checked" not in a:
                return
            self.data.setdefault(name, []).append(a.get("value", "on" if checkable else ""))
        elif tag == "select" and name:
            self._select = name
            self.data.setdefault(name, [])
        elif tag == "option" and self._select and "selected" in a:
            self.data[self._select].append(a.get("value", ""))
        elif tag == "textarea" and name:
            self._textarea = name
            self.data[name] = [""]

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            text = self.data[self._textarea]
            text[0] += data if text[0] else data.lstrip("\n")


def change_form(client: Client, url: str) -> dict[str, Any]:
    """The change page's form data, ready to edit and post back."""
    parser = _Form()
    parser.feed(client.get(url).content.decode())
    # A select with nothing selected sends nothing, as a browser's would.
    return {k: v if len(v) > 1 else v[0] for k, v in parser.data.items() if v}


@pytest.fixture
def boss(client: Client) -> User:
    user = User.objects.create_superuser(
        username="boss", email="boss@example.com", password="pass-word-123"
    )
    client.force_login(user)
    return user


def test_a_policy_edit_in_the_admin_is_audited(client: Client, boss: User) -> None:
    rule = PolicyRule.objects.filter(category__slug="weapons-illegal").first()
    assert rule is not None
    url = reverse("admin:moderation_policyrule_change", args=[rule.pk])
    data = change_form(client, url)
    data["value"] = "zip gun"
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    entry = AuditEntry.objects.get(action="policy:change", target=f"policyrule {rule.pk}")
    assert entry.actor_name == "@boss" and entry.details["fields"] == ["value"]


def test_inline_rows_and_deletions_are_audited(client: Client, boss: User) -> None:
    category = PolicyCategory.objects.get(slug="weapons-illegal")
    url = reverse("admin:moderation_policycategory_change", args=[category.pk])
    data = change_form(client, url)
    data["semantic_threshold"] = "0.7"
    extra = data["rules-INITIAL_FORMS"]  # the first of the empty rows after the saved ones
    data[f"rules-{extra}-value"] = "a brand new rule"
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    actions = set(AuditEntry.objects.values_list("action", "target"))
    assert ("policy:change", f"policycategory {category.pk}") in actions
    new_rule = PolicyRule.objects.get(value="a brand new rule")
    assert ("policy:add", f"policyrule {new_rule.pk}") in actions

    name = ProtectedName.objects.first()
    assert name is not None
    delete = reverse("admin:moderation_protectedname_delete", args=[name.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 302
    assert AuditEntry.objects.filter(action="policy:delete", target=f"protectedname {name.pk}")


def test_making_someone_a_moderator_in_the_admin_is_audited(
    client: Client, boss: User, user: User
) -> None:
    url = reverse("admin:accounts_user_change", args=[user.pk])
    data = change_form(client, url)
    data["groups"] = [str(Group.objects.get(name=MODERATORS_GROUP).pk)]
    data["is_staff"] = "on"
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    entry = AuditEntry.objects.get(action="roles:change", target=f"account {user.pk}")
    assert entry.actor_name == "@boss"
    assert entry.details["before"] == {"is_staff": False, "is_superuser": False, "groups": []}
    assert entry.details["after"] == {
        "is_staff": True,
        "is_superuser": False,
        "groups": [MODERATORS_GROUP],
    }
    # Saving the form again without a change of roles logs nothing more.
    client.post(url, change_form(client, url))
    assert AuditEntry.objects.filter(action="roles:change").count() == 1


def test_activating_a_ranking_version_is_audited(boss: User) -> None:
    config = ranking_config_create(
        values={"exploration_share": 0.2}, note="more exploring", based_on=None, created_by=boss
    )
    ranking_config_activate(config=config, by=boss)
    entry = AuditEntry.objects.get(action="ranking:rankingconfig:activate")
    assert entry.actor_name == "@boss" and entry.target == f"ranking config v{config.version}"
    assert RankingConfig.objects.get(is_active=True) == config


@pytest.mark.django_db(transaction=True)
def test_the_database_refuses_to_truncate_the_audit_log(boss: User) -> None:
    """A connection as Riff's own open one (without the session setting only the tests'
    connections have, tests/conftest.py) can't empty the log; the rows stay. This test's own
    flush afterwards, which truncates every table, shows the suite still can."""
    audit_record(actor=boss, action="test", target="post 1")
    # A fresh connection with the test database's parameters, which Django's
    # connection_created signal never sees.
    raw = connection.get_new_connection(connection.get_connection_params())
    try:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            raw.execute("TRUNCATE moderation_auditentry")
        raw.rollback()
        # Asking for it any other way than the exact setting is refused as well.
        raw.execute("SET riff.audit_truncate = 'on'")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="TRUNCATE is refused"):
            raw.execute("TRUNCATE moderation_auditentry CASCADE")
        raw.rollback()
    finally:
        raw.close()
    assert AuditEntry.objects.filter(action="test", target="post 1").exists()
