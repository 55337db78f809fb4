"""The prompt policy on the real rules, the seeded categories and the real MiniLM encoder:
protected names, terms, patterns, meaning close to examples, appeals and suspensions."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.urls import reverse

from accounts.models import User
from generation import services as generation_services
from generation.models import GenerationJob
from moderation import services
from moderation.models import (
    AuditEntry,
    PolicyCategory,
    PolicyExample,
    PolicyRule,
    PromptRefusal,
    ProtectedName,
)
from moderation.policy import prompt_verdict
from tests.clients import token_client

pytestmark = pytest.mark.django_db

PARAMS = {"model_key": "tiny-wan", "aspect": "9:16", "duration_s": 1.0, "steps": 4}

# Everyday prompts: none may be refused by the seeded policy.
BENIGN = [
    "a red fox running through snow",
    "a cat playing piano",
    "a knight fighting a dragon in a cartoon",
    "a chef slicing vegetables",
    "two boxers sparring in a gym",
    "a couple kissing at sunset on the beach",
    "kids playing football in a park",
    "a politician giving a speech at a podium",
    "a butcher cutting meat",
    "a bungee jumper leaping off a bridge",
    "a King Charles spaniel chasing a ball",
    "a magician pulling a trump card from a hat",
    "a musk ox in the tundra",
    "a 30 year old woman in lingerie on a fashion runway",
    "a lingerie model posing for a catalogue",
]


def verdict(user: User, prompt: str):  # type: ignore[no-untyped-def]
    return prompt_verdict(user=user, prompt=prompt)


@pytest.fixture
def glitter() -> PolicyCategory:
    """A category of this test's own, so the seeded rules don't decide the outcome."""
    return PolicyCategory.objects.create(
        slug="test-glitter",
        name="Glitter",
        description="This instance doesn't make sparkly clips.",
    )


def test_a_blocked_term_refuses_naming_the_rule_category_and_the_appeal(
    user: User, glitter: PolicyCategory
) -> None:
    PolicyRule.objects.create(category=glitter, kind=PolicyRule.Kind.TERM, value="glitter bomb")

    result = verdict(user, "A  GLITTER\nbomb over a birthday cake")

    assert not result.allowed
    assert result.rule == "term “glitter bomb”" and result.category == "test-glitter"
    assert "it contains “glitter bomb”, which falls under Glitter" in result.message
    assert "This instance doesn't make sparkly clips." in result.message
    refusal = PromptRefusal.objects.get(pk=result.refusal_id)
    assert (refusal.user, refusal.category, refusal.rule) == (user, glitter, result.rule)
    assert result.appeal_url == reverse("moderation:refusal_appeal", kwargs={"pk": refusal.pk})


def test_terms_match_whole_words_only(user: User, glitter: PolicyCategory) -> None:
    PolicyRule.objects.create(category=glitter, kind=PolicyRule.Kind.TERM, value="ass")
    assert verdict(user, "a class of students on a glass bridge").allowed
    assert not verdict(user, "a stubborn ass in a field").allowed
    assert not verdict(user, "ASS!").allowed


def test_a_pattern_refuses_and_shows_what_matched(user: User, glitter: PolicyCategory) -> None:
    PolicyRule.objects.create(
        category=glitter,
        kind=PolicyRule.Kind.PATTERN,
        value=r"\bsparkl(e|es|ing|y)\s+\w+",
        note="Sparkly things.",
    )
    result = verdict(user, "a very SPARKLY unicorn")
    assert not result.allowed and result.category == "test-glitter"
    assert result.rule == "pattern match “SPARKLY unicorn” (Sparkly things)"
    assert "“SPARKLY unicorn” falls under Glitter" in result.message
    assert verdict(user, "a sparkler at night").allowed


def test_inactive_rules_and_categories_refuse_nothing(user: User, glitter: PolicyCategory) -> None:
    rule = PolicyRule.objects.create(category=glitter, value="glitter", active=False)
    assert verdict(user, "glitter").allowed
    rule.active = True
    rule.save()
    glitter.active = False
    glitter.save()
    assert verdict(user, "glitter").allowed


def test_protected_names_and_their_aliases(user: User) -> None:
    ProtectedName.objects.create(name="Ada Lovelace", aliases="Countess of Lovelace\n Ada King ")

    for prompt, named in [
        ("ada lovelace riding a bicycle", "Ada Lovelace"),
        ("a portrait of the countess   of lovelace", "Countess of Lovelace"),
        ("Ada King's steam engine", "Ada King"),
    ]:
        result = verdict(user, prompt)
        assert not result.allowed, prompt
        assert result.category == "public-figures"
        assert result.rule == "protected name “Ada Lovelace”"
        assert f"it names “{named}”, a real person" in result.message
        assert "public figures" in result.message
    assert verdict(user, "a lovelace-themed tea party").allowed
    # The seeded list too.
    assert verdict(user, "Barack Obama surfing").category == "public-figures"


def test_a_paraphrase_is_refused_by_meaning_and_everyday_prompts_pass(user: User) -> None:
    # No seeded term or pattern is in it: the seeded hate category's examples catch it.
    result = verdict(user, "klansmen in white hoods burning a cross")

    assert not result.allowed and result.category == "hate"
    # The rule is named, never a score: a number would teach how far to rephrase.
    assert result.rule == "close in meaning to Hate and extremism examples"
    assert "it reads like Hate and extremism." in result.message
    assert not re.search(r"\d", result.message) and "similarity" not in result.message
    entry = AuditEntry.objects.get(action="prompt:refuse", target=f"refusal {result.refusal_id}")
    assert entry.actor_name == "automation" and entry.details["category"] == "hate"
    assert entry.details["similarity"] >= entry.details["threshold"]
    assert "Ku Klux Klan" not in result.message  # the example is never shown back
    for prompt in BENIGN:
        assert verdict(user, prompt).allowed, prompt


def test_the_threshold_decides(user: User, glitter: PolicyCategory) -> None:
    PolicyExample.objects.create(category=glitter, prompt="a kite surfer jumping a huge wave")
    paraphrase = "a kitesurfer leaping over big waves"
    glitter.semantic_threshold = 0.6
    glitter.save()
    assert verdict(user, paraphrase).category == "test-glitter"

    glitter.semantic_threshold = 0.99  # edited in the admin
    glitter.save()
    assert verdict(user, paraphrase).allowed


def test_an_edited_example_is_embedded_again(user: User, glitter: PolicyCategory) -> None:
    glitter.semantic_threshold = 0.6
    glitter.save()
    example = PolicyExample.objects.create(category=glitter, prompt="a hot air balloon at dawn")
    assert verdict(user, "hot air balloons rising at sunrise").category == "test-glitter"
    example.prompt = "a tortoise eating a strawberry"
    example.save()
    assert verdict(user, "hot air balloons rising at sunrise").allowed
    assert verdict(user, "a tortoise munching strawberries").category == "test-glitter"


def test_a_refused_prompt_never_reaches_the_queue_but_its_refusal_is_kept(
    user: User,
    glitter: PolicyCategory,
    django_capture_on_commit_callbacks: Callable,  # type: ignore[type-arg]
    gpu_queue: Callable[[], list[str]],
) -> None:
    PolicyRule.objects.create(category=glitter, value="glitter")
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(generation_services.GenerationRefused) as refused,
    ):
        generation_services.generation_job_create(
            owner=user, prompt="  glitter everywhere ", negative_prompt="blurry", params=PARAMS
        )
    assert callbacks == [] and gpu_queue() == []
    assert not GenerationJob.objects.exists()
    refusal = PromptRefusal.objects.get()
    assert (refusal.prompt, refusal.negative_prompt) == ("glitter everywhere", "blurry")
    assert refused.value.refusal_id == refusal.pk
    assert refused.value.appeal_url == f"/appeals/refusal/{refusal.pk}/"


def test_the_negative_prompt_is_not_checked(user: User, glitter: PolicyCategory) -> None:
    PolicyRule.objects.create(category=glitter, value="glitter")
    result = prompt_verdict(user=user, prompt="a quiet library", negative_prompt="glitter, gore")
    assert result.allowed


def test_an_overturned_refusal_lets_that_exact_prompt_run(
    user: User, moderator: User, glitter: PolicyCategory
) -> None:
    PolicyRule.objects.create(category=glitter, value="glitter")
    prompt = "a glitter ball in a ballroom"
    with pytest.raises(generation_services.GenerationRefused) as refused:
        generation_services.generation_job_create(owner=user, prompt=prompt, params=PARAMS)
    refusal = PromptRefusal.objects.get(pk=refused.value.refusal_id)
    appeal = services.appeal_create(appellant=user, text="It's a disco ball.", refusal=refusal)
    services.appeal_decide(appeal=appeal, moderator=moderator, overturn=True, reply="Fair.")

    job = generation_services.generation_job_create(owner=user, prompt=prompt, params=PARAMS)

    assert job.prompt == prompt and PromptRefusal.objects.count() == 1
    assert not verdict(user, "glitter on a ballroom floor").allowed, "only that prompt"


def test_the_api_answers_4xx_with_rule_category_and_appeal_url(user: User) -> None:
    response = token_client(user).post(
        "/api/v1/generations/",
        {"prompt": "klansmen in white hoods burning a cross", "steps": 4},
        format="json",
    )
    assert response.status_code == 400
    body = response.json()
    refusal = PromptRefusal.objects.get()
    assert body["category"] == "hate" and body["rule"] == refusal.rule
    assert body["appeal_url"] == f"http://testserver/appeals/refusal/{refusal.pk}/"
    assert "Hate and extremism" in body["prompt"][0]
    assert not GenerationJob.objects.exists()


def test_warming_embeds_every_active_example_ahead_of_the_first_prompt() -> None:
    import threading

    from moderation import policy

    policy._vectors.clear()
    # In a thread of its own, as the web server runs it: it closes that thread's connection.
    warm = threading.Thread(target=policy.policy_warm)
    warm.start()
    warm.join()
    active = set(PolicyExample.objects.filter(category__active=True).values_list("pk", "prompt"))
    assert active and set(policy._vectors) == active
