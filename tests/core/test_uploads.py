"""Random storage names for media: the folder and extension asked for, a fresh token each time."""

import re
from types import SimpleNamespace

from core.uploads import random_upload_name
from feed.models import poster_upload_to, video_upload_to
from generation.models import clip_poster_upload_to, clip_upload_to

TOKEN = r"[0-9a-f]{20}"


def test_a_name_is_folder_owner_token_and_extension():
    name = random_upload_name(folder="posts", owner_id=42, ext="mp4")
    assert re.fullmatch(rf"posts/42/{TOKEN}\.mp4", name)


def test_every_name_is_new():
    names = {random_upload_name(folder="posts", owner_id=1, ext="jpg") for _ in range(200)}
    assert len(names) == 200


def test_posts_and_clips_keep_their_folders_and_ignore_the_uploaded_name():
    owner = SimpleNamespace(owner_id=7)
    cases = [
        (video_upload_to, rf"posts/7/{TOKEN}\.mp4"),
        (poster_upload_to, rf"posts/7/{TOKEN}\.jpg"),
        (clip_upload_to, rf"generations/7/{TOKEN}\.mp4"),
        (clip_poster_upload_to, rf"generations/7/{TOKEN}\.jpg"),
    ]
    for upload_to, pattern in cases:
        assert re.fullmatch(pattern, upload_to(owner, "../../secret name.mov"))


def test_large_uploads_take_turns_and_small_ones_go_ahead(rf) -> None:
    import threading
    import time

    from core.uploads import LARGE_UPLOAD_BYTES, LARGE_UPLOADS_AT_ONCE, upload_turn

    assert LARGE_UPLOADS_AT_ONCE == 1
    large = rf.post("/verify/", CONTENT_LENGTH=str(LARGE_UPLOAD_BYTES + 1))
    small = rf.post("/verify/", CONTENT_LENGTH="1000")
    inside: list[str] = []
    first_in = threading.Event()
    release_first = threading.Event()

    def hold(name: str) -> None:
        with upload_turn(large):
            inside.append(name)
            first_in.set()
            release_first.wait(5)

    first = threading.Thread(target=hold, args=("first",))
    first.start()
    first_in.wait(5)
    second = threading.Thread(target=hold, args=("second",))
    second.start()
    time.sleep(0.3)
    assert inside == ["first"]  # the second large upload waits for its turn
    with upload_turn(small):  # a small one does not wait
        inside.append("small")
    release_first.set()
    first.join(5)
    second.join(5)
    assert inside == ["first", "small", "second"]
