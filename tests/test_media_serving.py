"""Local media is served with byte ranges, and never outside MEDIA_ROOT."""

import pytest

from feed.models import Post
from tests.factories import PostFactory


@pytest.fixture
def clip(settings, db):
    """The bytes of posts/c.mp4, the video of a public post."""
    folder = settings.MEDIA_ROOT / "posts"
    folder.mkdir(parents=True)
    data = bytes(range(256)) * 40
    (folder / "c.mp4").write_bytes(data)
    (settings.MEDIA_ROOT.parent / "secret.txt").write_text("not media")
    Post.objects.filter(pk=PostFactory().pk).update(video="posts/c.mp4")
    return data


def test_whole_file(client, clip):
    response = client.get("/media/posts/c.mp4")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == clip
    assert response["Content-Type"] == "video/mp4"
    assert response["Accept-Ranges"] == "bytes"


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [("bytes=0-99", 0, 99), ("bytes=100-", 100, 10239), ("bytes=-10", 10230, 10239)],
)
def test_ranges(client, clip, header, start, end):
    response = client.get("/media/posts/c.mp4", HTTP_RANGE=header)
    assert response.status_code == 206
    assert response.content == clip[start : end + 1]
    assert response["Content-Range"] == f"bytes {start}-{end}/{len(clip)}"


@pytest.mark.parametrize("header", ["bytes=20000-", "bytes=5-2", "bytes=-", "bytes=x-1"])
def test_unsatisfiable_ranges(client, clip, header):
    response = client.get("/media/posts/c.mp4", HTTP_RANGE=header)
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{len(clip)}"


@pytest.mark.parametrize("header", ["pages=1-2", "bytes=0-1,5-6"])
def test_ranges_it_does_not_handle_get_the_whole_file(client, clip, header):
    response = client.get("/media/posts/c.mp4", HTTP_RANGE=header)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == clip


def test_range_past_the_end_is_cut_to_the_file(client, clip):
    response = client.get("/media/posts/c.mp4", HTTP_RANGE="bytes=10000-99999")
    assert response.status_code == 206
    assert response.content == clip[10000:]
    assert response["Content-Range"] == f"bytes 10000-{len(clip) - 1}/{len(clip)}"


def test_head_answers_without_a_body(client, clip):
    response = client.head("/media/posts/c.mp4")
    assert response.status_code == 200
    assert response["Content-Length"] == str(len(clip))


@pytest.mark.parametrize("path", ["../secret.txt", "posts/../../secret.txt", "posts/none.mp4"])
def test_nothing_outside_media_root(client, clip, path):
    assert client.get(f"/media/{path}").status_code == 404


def test_writes_are_refused(client, clip):
    assert client.post("/media/posts/c.mp4").status_code == 405


def test_a_file_nothing_owns_is_not_served(client, clip, settings):
    (settings.MEDIA_ROOT / "posts" / "stray.mp4").write_bytes(b"stray")
    (settings.MEDIA_ROOT / "ranking").mkdir()
    (settings.MEDIA_ROOT / "ranking" / "model.pt").write_bytes(b"weights")

    assert client.get("/media/posts/stray.mp4").status_code == 404
    assert client.get("/media/ranking/model.pt").status_code == 404
