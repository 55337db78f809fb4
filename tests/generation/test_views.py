"""Generation pages: the create form, the job page and its status fragment, cancel, drafts,
and posting a draft (feed's view, which calls generation)."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from feed.models import Post
from generation.models import GenerationJob
from moderation.models import PolicyCategory, PolicyRule, PromptRefusal
from tests.factories import PostFactory

from .factories import job_in_state

pytestmark = pytest.mark.django_db
State = GenerationJob.State

FORM = {
    "prompt": "a paper lantern floating over a night market",
    "model_key": "tiny-wan",
    "aspect": "16:9",
    "duration_s": "1.5",
    "steps": "8",
    "guidance": "4.5",
    "seed": "",
    "idempotency_key": "k-1",
}


@pytest.fixture
def alice(client: Client, user: User, settings, tiny_models) -> Client:
    """A browser signed in as alice, staff on an instance run with DEBUG: the test models
    (built offline for the session) are hers to choose."""
    settings.DEBUG = True
    User.objects.filter(pk=user.pk).update(is_staff=True)
    client.force_login(user)
    return client


def test_people_are_offered_installed_models_only(client: Client, user: User, settings):
    """No test model for a person (nor for staff without DEBUG), no model without weights."""
    client.force_login(user)
    html = client.get(reverse("feed:create")).content.decode()
    assert 'value="riff-house"' in html  # shipped with Riff
    for key in ("tiny-wan", "tiny-ltx", "wan2.1-t2v-1.3b", "ltx-video"):
        assert f'value="{key}"' not in html, key
    response = client.post(reverse("feed:create"), {**FORM, "model_key": "wan2.1-t2v-1.3b"})
    assert response.status_code == 400
    assert "That model isn&#x27;t available on this Riff" in response.content.decode()
    assert not GenerationJob.objects.exists()


def detail_url(job: GenerationJob) -> str:
    return reverse("generation:job_detail", kwargs={"job_id": job.pk})


def test_create_page_renders_the_form_and_the_allowance(alice: Client, user: User, settings):
    settings.GENERATION_DAILY_QUOTA = 20
    job_in_state(user, State.SUCCEEDED)
    job_in_state(user, State.FAILED)
    response = alice.get(reverse("feed:create"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Create a clip" in html
    assert re.search(r"<strong>18</strong> of 20 left today", html)
    for name in ("prompt", "negative_prompt", "model_key", "steps", "guidance", "seed"):
        assert f'name="{name}"' in html
    assert 'type="radio" name="aspect" value="9:16"' in html and "checked" in html
    for key in ("riff-house", "tiny-wan", "tiny-ltx"):  # installed (tiny: she's staff)
        assert f'value="{key}"' in html and settings.RIFF_MODELS[key]["label"] in html
    assert 'value="wan2.1-t2v-1.3b"' not in html  # configured, but no weights here
    assert 'name="strength"' not in html, "strength only matters for a remix"
    assert "More options" in html


def test_length_slider_ends_at_the_chosen_models_longest_clip(alice: Client, settings):
    """The house model makes 2-second clips; a model without a limit goes to the form's 10."""
    settings.RIFF_DEFAULT_MODEL = "riff-house"
    html = alice.get(reverse("feed:create")).content.decode()
    slider = re.search(r'<input type="range" name="duration_s"[^>]*>', html)
    assert slider and 'max="2"' in slider.group(0) and 'data-limit="10"' in slider.group(0)
    assert 'Up to <span class="js-longest">2</span> s with this model.' in html
    assert 'data-longest="{&quot;riff-house&quot;: 2.0}"' in html

    # A form sent back with another model ends where that model does.
    response = alice.post(
        reverse("feed:create"), {"prompt": "", "model_key": "tiny-wan", "duration_s": "4"}
    )
    assert response.status_code == 400
    slider = re.search(r'<input type="range" name="duration_s"[^>]*>', response.content.decode())
    assert slider and 'max="10"' in slider.group(0)


def test_a_length_the_model_cant_make_is_refused_on_the_length_field(alice: Client):
    response = alice.post(
        reverse("feed:create"), {**FORM, "model_key": "riff-house", "duration_s": "3"}
    )
    assert response.status_code == 400
    assert response.context["form"].errors["duration_s"] == [
        "Riff house model (small, trained here) makes clips of at most 2 seconds; ask for less."
    ]
    assert not GenerationJob.objects.exists()


def test_create_page_is_for_people_who_are_signed_in(client: Client):
    response = client.get(reverse("feed:create"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_prompt_prefills_from_the_query(alice: Client):
    response = alice.get(reverse("feed:create"), {"prompt": "a whale in the clouds"})
    assert ">a whale in the clouds</textarea>" in response.content.decode()


def test_the_house_models_words_and_the_ones_a_prompt_has_beyond_them(client: Client, user: User):
    """Served with the page (the script then keeps it current as one types): the house
    model's chips and examples, and the words of the prompt it never learnt."""
    client.force_login(user)
    html = client.get(reverse("feed:create"), {"prompt": "my dog surfing at sunset"}).content
    page = html.decode()
    assert 'placeholder="A coloured shape, what it does and where: a red ball' in page
    note = re.search(r'<p class="prompt-unknown" role="status"( hidden)?>(.*?)</p>', page, re.S)
    assert note and note.group(1) is None
    assert re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", note.group(2))).strip() == (
        "riff-house draws coloured shapes; it won't draw: dog, surfing, sunset. "
        "You can still generate."
    )
    assert 'data-insert="triangle"' in page and 'data-example="a red ball bouncing' in page
    assert "For people, animals and scenes" not in page  # no model takes any prompt here
    known = client.get(reverse("feed:create"), {"prompt": "a red ball on the beach"}).content
    assert b'<p class="prompt-unknown" role="status" hidden>' in known


def test_the_guide_points_to_an_installed_model_that_takes_any_prompt(
    client: Client, user: User, settings, tiny_models
):
    """Where a model that draws anything is installed, the guide names it; choosing it
    shows its own placeholder and no guide."""
    models = dict(settings.RIFF_MODELS)
    models["wan-big"] = {**models["tiny-wan"], "label": "Wan big"}
    settings.RIFF_MODELS = models
    client.force_login(user)
    page = client.get(reverse("feed:create")).content.decode()
    assert "For people, animals and scenes, choose Wan big under Model." in page
    # Chips for the house model only: a model that takes any prompt has no guide.
    assert page.count('<section class="prompt-guide"') == 1
    assert 'data-guide-for="riff-house"' in page and 'data-guide-for="wan-big"' not in page
    response = client.post(reverse("feed:create"), {"prompt": "", "model_key": "wan-big"})
    page = response.content.decode()
    assert response.status_code == 400
    assert 'placeholder="Describe the clip: who or what, where, what happens' in page
    assert re.search(r'<section class="prompt-guide" data-guide-for="riff-house"[^>]*hidden', page)


def test_words_it_wont_draw_are_named_on_the_job_page_and_the_job_still_queued(
    client: Client, user: User
):
    """Generate stays allowed: the job is made, and its page says what riff-house won't
    draw (a page without the script never showed the live note)."""
    client.force_login(user)
    prompt = "my dog surfing a huge wave at sunset"
    form = {**FORM, "prompt": prompt, "model_key": "riff-house", "duration_s": "2"}
    response = client.post(reverse("feed:create"), form, follow=True)
    job = GenerationJob.objects.get(owner=user)
    assert response.redirect_chain == [(detail_url(job), 302)]
    assert (job.prompt, job.model_key, job.state) == (prompt, "riff-house", State.QUEUED)
    assert (
        "riff-house draws coloured shapes; it won&#x27;t draw: dog, surfing, wave, sunset. "
        "Generating it anyway."
    ) in response.content.decode()
    # A prompt in its words: nothing to say.
    known = {**form, "prompt": "a red circle moving left on the beach", "idempotency_key": "k-2"}
    page = client.post(reverse("feed:create"), known, follow=True).content.decode()
    assert "won&#x27;t draw" not in page
    assert GenerationJob.objects.filter(owner=user).count() == 2


def test_post_queues_a_job_and_opens_its_page(alice: Client, user: User):
    response = alice.post(reverse("feed:create"), FORM)
    job = GenerationJob.objects.get(owner=user)
    assert response.status_code == 302 and response["Location"] == detail_url(job)
    assert job.state == State.QUEUED
    assert (job.prompt, job.aspect, job.duration_s, job.steps, job.guidance) == (
        FORM["prompt"],
        "16:9",
        1.5,
        8,
        4.5,
    )
    assert job.source_post_id is None
    # The same form sent twice (a double click) makes one job.
    again = alice.post(reverse("feed:create"), FORM)
    assert again["Location"] == detail_url(job)
    assert GenerationJob.objects.filter(owner=user).count() == 1


def test_invalid_input_is_a_400_with_the_form_never_a_500(alice: Client, user: User):
    bad = {**FORM, "prompt": "", "steps": "900", "duration_s": "abc", "model_key": "nope"}
    response = alice.post(reverse("feed:create"), bad)
    assert response.status_code == 400
    html = response.content.decode()
    assert "Describe the clip you want first." in html
    assert "less than or equal to 100" in html
    assert "That model isn&#x27;t available on this Riff" in html
    assert not GenerationJob.objects.exists()


def test_steps_and_a_shape_over_the_models_caps_are_refused_naming_them(alice: Client, settings):
    tiny = settings.RIFF_MODELS["tiny-wan"]  # 16:9 is 112x64
    capped = {**tiny, "max_steps": 6, "max_width": 100}
    settings.RIFF_MODELS = {**settings.RIFF_MODELS, "tiny-wan": capped}
    response = alice.post(reverse("feed:create"), FORM)  # 8 steps, 16:9
    assert response.status_code == 400
    html = response.content.decode()
    assert f"{tiny['label']} takes at most 6 steps; ask for fewer." in html
    assert "makes frames at most 100 pixels wide, and its 16:9 clips are 112×64" in html
    assert not GenerationJob.objects.exists()


def test_refused_prompt_shows_the_reason_and_queues_nothing(alice: Client):
    category = PolicyCategory.objects.create(
        slug="test-forbidden", name="Forbidden things", description="Not on this instance."
    )
    PolicyRule.objects.create(category=category, kind=PolicyRule.Kind.TERM, value="forbidden")
    response = alice.post(reverse("feed:create"), {**FORM, "prompt": "a forbidden dance"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "can&#x27;t be generated here" in html and "Rule: term “forbidden”" in html
    assert "falls under Forbidden things" in html
    refusal = PromptRefusal.objects.get()
    appeal = reverse("moderation:refusal_appeal", kwargs={"pk": refusal.pk})
    assert f'href="{appeal}">Appeal this decision</a>' in html
    assert alice.get(appeal).status_code == 200, "the appeal link works"
    assert ">a forbidden dance</textarea>" in html, "the prompt is kept for editing"
    assert not GenerationJob.objects.exists()


def test_exhausted_allowance_is_a_429_with_the_reason(alice: Client, user: User, settings):
    settings.GENERATION_CONCURRENT_QUOTA = 1
    job_in_state(user, State.RUNNING)
    response = alice.post(reverse("feed:create"), FORM)
    assert response.status_code == 429
    assert "already have 1 clip in the works" in response.content.decode()
    settings.GENERATION_CONCURRENT_QUOTA = 5
    settings.GENERATION_DAILY_QUOTA = 1
    response = alice.post(reverse("feed:create"), FORM)
    assert response.status_code == 429
    html = response.content.decode()
    assert "daily allowance" in html and "<strong>0</strong> of 1 left today" in html
    assert GenerationJob.objects.count() == 1


def test_remix_page_shows_the_source_and_queues_a_remix(
    alice: Client, user: User, other_user: User
):
    source = PostFactory(owner=other_user, prompt="a fox in the snow")
    response = alice.get(reverse("feed:create"), {"remix": source.pk})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Remixing" in html and f"@{other_user.username}</a>'s clip" in html
    assert source.video.url in html and ">a fox in the snow</textarea>" in html
    assert 'name="strength"' in html and f'name="remix" value="{source.pk}"' in html

    form = {**FORM, "remix": str(source.pk), "strength": "0.35"}
    response = alice.post(reverse("feed:create"), form)
    job = GenerationJob.objects.get(owner=user)
    assert response["Location"] == detail_url(job)
    assert job.source_post_id == source.pk and job.source_video == source.video.name
    assert job.strength == 0.35


def test_remix_of_a_post_that_does_not_allow_it_is_forbidden(alice: Client, other_user: User):
    source = PostFactory(owner=other_user, allow_remix=False)
    assert alice.get(reverse("feed:create"), {"remix": source.pk}).status_code == 403
    response = alice.post(reverse("feed:create"), {**FORM, "remix": str(source.pk)})
    assert response.status_code == 403
    assert not GenerationJob.objects.exists()
    hidden = PostFactory(owner=other_user, visibility=Post.Visibility.PRIVATE)
    assert alice.get(reverse("feed:create"), {"remix": hidden.pk}).status_code == 404
    assert alice.get(reverse("feed:create"), {"remix": "x"}).status_code == 404


def test_remix_buttons_show_only_where_remixes_are_allowed(alice: Client, other_user: User):
    open_post = PostFactory(owner=other_user)
    closed = PostFactory(owner=other_user, allow_remix=False)
    remix_link = f"/create/?remix={open_post.pk}"
    assert remix_link in alice.get(open_post.get_absolute_url()).content.decode()
    assert "?remix=" not in alice.get(closed.get_absolute_url()).content.decode()
    feed = alice.get(reverse("feed:for_you")).content.decode()
    assert remix_link in feed and f"?remix={closed.pk}" not in feed


def test_job_page_of_a_queued_job(alice: Client, user: User):
    job = job_in_state(user, State.QUEUED, prompt="a heron at dawn", steps=8)
    response = alice.get(detail_url(job))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Making your clip" in html and "a heron at dawn" in html
    assert 'role="progressbar"' in html and 'aria-valuenow="0"' in html
    assert "Next in line" in html
    assert f'data-ws-path="/ws/generations/{job.pk}/"' in html
    assert reverse("generation:job_cancel", kwargs={"job_id": job.pk}) in html
    assert 'hx-trigger="every 1s"' not in html, "the socket comes first; JS turns polling on"
    assert 'aria-live="polite"' in html


def test_job_page_of_a_running_job_shows_its_step(alice: Client, user: User, other_user: User):
    job_in_state(other_user, State.QUEUED)
    job = job_in_state(user, State.RUNNING, progress_step=3, progress_total=8)
    html = alice.get(detail_url(job)).content.decode()
    assert 'aria-valuenow="38"' in html and "Step 3 of 8" in html
    assert "in line" not in html


def test_queue_position_reads_as_an_ordinal(alice: Client, user: User, other_user: User):
    job_in_state(other_user, State.QUEUED)
    job = job_in_state(user, State.QUEUED)
    assert "2nd in line" in alice.get(detail_url(job)).content.decode()


def test_status_fragment_polls_only_while_the_job_is_active(alice: Client, user: User):
    job = job_in_state(user, State.RUNNING, progress_step=2, progress_total=8)
    url = reverse("generation:job_status", kwargs={"job_id": job.pk})
    html = alice.get(url, {"poll": "1"}, HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 1s"' in html and "<html" not in html
    assert 'aria-valuenow="25"' in html
    GenerationJob.objects.filter(pk=job.pk).update(state=State.FAILED, failure_message="Boom.")
    html = alice.get(url, {"poll": "1"}, HTTP_HX_REQUEST="true").content.decode()
    assert "hx-trigger" not in html and "Boom." in html
    card = alice.get(url, {"view": "card"}).content.decode()
    assert 'class="job-card job-failed"' in card


def test_finished_job_page_plays_the_clip_with_the_post_form(alice: Client, user: User):
    job = job_in_state(user, State.SUCCEEDED)
    html = alice.get(detail_url(job)).content.decode()
    assert "Your clip is ready" in html
    assert re.search(r"<video[^>]+muted autoplay loop playsinline", html)
    assert job.video.url in html
    assert reverse("feed:draft_post", kwargs={"job_id": job.pk}) in html
    assert reverse("generation:draft_delete", kwargs={"job_id": job.pk}) in html
    for name in ("caption", "visibility", "allow_remix", "allow_download"):
        assert f'name="{name}"' in html
    assert "Cancel</button>" not in html


def test_failed_job_page_says_why_and_offers_to_try_again(alice: Client, user: User):
    job = job_in_state(
        user,
        State.FAILED,
        prompt="a cat & a dog",
        failure=GenerationJob.Failure.INFRASTRUCTURE,
        failure_message="Something went wrong on our side. It didn't count.",
    )
    html = alice.get(detail_url(job)).content.decode()
    assert "Something went wrong on our side. It didn&#x27;t count." in html
    assert "/create/?prompt=a%20cat%20%26%20a%20dog" in html and "Try again" in html


def test_other_peoples_jobs_are_not_found(client: Client, user: User, other_user: User):
    job = job_in_state(user, State.SUCCEEDED)
    client.force_login(other_user)
    kwargs = {"job_id": job.pk}
    assert client.get(detail_url(job)).status_code == 404
    assert client.get(reverse("generation:job_status", kwargs=kwargs)).status_code == 404
    assert client.post(reverse("generation:job_cancel", kwargs=kwargs)).status_code == 404
    assert client.post(reverse("generation:draft_delete", kwargs=kwargs)).status_code == 404
    assert client.post(reverse("feed:draft_post", kwargs=kwargs)).status_code == 404
    assert client.get("/create/jobs/not-a-uuid/").status_code == 404
    job.refresh_from_db()
    assert job.is_draft


def test_job_pages_need_a_sign_in(client: Client, user: User):
    job = job_in_state(user)
    assert client.get(detail_url(job)).status_code == 302
    response = client.get(
        reverse("generation:job_status", kwargs={"job_id": job.pk}),
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL=f"http://testserver{detail_url(job)}",
    )
    assert "/accounts/login/" in response["HX-Redirect"]


def test_cancel_a_queued_job(alice: Client, user: User):
    job = job_in_state(user, State.QUEUED)
    response = alice.post(reverse("generation:job_cancel", kwargs={"job_id": job.pk}))
    assert response.status_code == 302 and response["Location"] == detail_url(job)
    job.refresh_from_db()
    assert job.state == State.CANCELLED
    html = alice.get(detail_url(job)).content.decode()
    assert "You cancelled it." in html and "Try again" in html
    # Cancelling again says so instead of failing.
    again = alice.post(reverse("generation:job_cancel", kwargs={"job_id": job.pk}))
    assert again.status_code == 302


def test_cancel_a_running_job_over_htmx(alice: Client, user: User):
    job = job_in_state(user, State.RUNNING, progress_step=1, progress_total=8)
    response = alice.post(
        reverse("generation:job_cancel", kwargs={"job_id": job.pk}), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Cancelling…" in html and "<html" not in html
    job.refresh_from_db()
    assert job.cancel_requested and job.state == State.RUNNING


def test_cancel_is_post_only(alice: Client, user: User):
    job = job_in_state(user)
    url = reverse("generation:job_cancel", kwargs={"job_id": job.pk})
    assert alice.get(url).status_code == 405


def test_drafts_lists_recent_jobs_newest_first(alice: Client, user: User, other_user: User):
    ready = job_in_state(user, State.SUCCEEDED, prompt="ready one")
    failed = job_in_state(
        user, State.FAILED, prompt="failed one", failure_message="The model is not installed."
    )
    running = job_in_state(
        user, State.RUNNING, prompt="running one", progress_step=4, progress_total=8
    )
    job_in_state(other_user, State.SUCCEEDED, prompt="not mine")
    posted = job_in_state(user, State.SUCCEEDED, prompt="posted one")
    GenerationJob.objects.filter(pk=posted.pk).update(published_post_id=1)
    html = alice.get(reverse("generation:drafts")).content.decode()
    assert "not mine" not in html and "posted one" not in html
    order = [html.index(p) for p in ("running one", "failed one", "ready one")]
    assert order == sorted(order)
    assert ready.poster.url in html and "data-hover-play" in html
    assert "The model is not installed." in html
    assert 'aria-valuenow="50"' in html
    assert f'id="job-card-{running.pk}"' in html and f'id="job-card-{failed.pk}"' in html


def test_draft_delete(alice: Client, user: User):
    job = job_in_state(user, State.SUCCEEDED)
    response = alice.post(reverse("generation:draft_delete", kwargs={"job_id": job.pk}))
    assert response.status_code == 302 and response["Location"] == reverse("generation:drafts")
    job.refresh_from_db()
    assert job.discarded_at is not None and not job.video
    again = alice.post(reverse("generation:draft_delete", kwargs={"job_id": job.pk}))
    assert again.status_code == 400


def test_posting_a_remix_draft_creates_a_post_with_its_lineage(
    alice: Client, user: User, other_user: User
):
    source = PostFactory(owner=other_user)
    job = job_in_state(user, State.SUCCEEDED, source_post_id=source.pk)
    url = reverse("feed:draft_post", kwargs={"job_id": job.pk})
    response = alice.post(
        url, {"caption": "my take", "visibility": "followers", "allow_remix": "on"}
    )
    post = Post.objects.get(owner=user)
    assert response.status_code == 302 and response["Location"] == post.get_absolute_url()
    assert post.remix_of == source and post.caption == "my take"
    assert post.visibility == "followers" and post.allow_remix and not post.allow_download
    page = alice.get(response["Location"]).content.decode()
    assert "Posted. Your clip is live." in page
    # Posting it again is refused with the reason, on the job page.
    again = alice.post(url, {"caption": "twice", "visibility": "public"})
    assert again.status_code == 400
    assert "already been posted" in again.content.decode()
    assert Post.objects.filter(owner=user).count() == 1


def test_posting_with_bad_input_is_a_400(alice: Client, user: User):
    job = job_in_state(user, State.SUCCEEDED)
    url = reverse("feed:draft_post", kwargs={"job_id": job.pk})
    response = alice.post(url, {"caption": "x" * 501, "visibility": "everyone-ish"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Select a valid choice" in html and "selected" not in html.split("id_visibility")[1][:40]
    assert not Post.objects.exists()
    job.refresh_from_db()
    assert job.is_draft


def test_nav_has_a_create_button(alice: Client):
    html = alice.get(reverse("feed:for_you")).content.decode()
    assert 'href="/create/"' in html and 'aria-label="Create a clip"' in html
