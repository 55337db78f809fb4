"""Signed content credentials: every clip says it is AI-made, signed by this instance.

tests/conftest.py makes one development CA per session (`c2pa_ca`) and points
settings.C2PA_* at it for every test (`_c2pa_settings`), so clips read back Trusted.
"""

from __future__ import annotations

import base64
import io
import stat
import struct
from pathlib import Path
from typing import Any

import av
import c2pa
import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from django.core.management import call_command
from django.core.management.base import CommandError

from feed.media import demo_clip_frames
from generation.video import encode_mp4
from moderation.content_credentials import (
    AI_SOURCE_TYPE,
    SOFT_BINDING_ALG,
    Parent,
    SigningUnavailable,
    read_clip,
    sign_clip,
)


@pytest.fixture(scope="module")
def clip() -> bytes:
    frames = demo_clip_frames(seed=0, width=180, height=320, seconds=1.0, fps=12)
    return encode_mp4(frames, fps=12)


def signed(clip: bytes, **kwargs: Any) -> bytes:
    return sign_clip(
        clip, title="Riff clip by @alice", clip_id="c-1", model_key="tiny-wan", **kwargs
    )


def mdat_payload(data: bytes) -> tuple[int, int]:
    """Start and end of the mdat box's payload (the coded video), walking the top-level boxes."""
    offset = 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        header = 8
        if size == 1:  # a 64-bit size follows the type
            (size,) = struct.unpack(">Q", data[offset + 8 : offset + 16])
            header = 16
        elif size == 0:  # the box runs to the end of the file
            size = len(data) - offset
        if kind == b"mdat":
            return offset + header, offset + size
        offset += size
    raise AssertionError("no mdat box")


def frame_count(data: bytes) -> int:
    with av.open(io.BytesIO(data)) as container:
        return sum(1 for _ in container.decode(video=0))


def test_a_signed_clip_is_trusted_and_says_it_is_ai_made(clip: bytes) -> None:
    reading = read_clip(signed(clip))

    assert reading.state == "Trusted", reading.errors
    assert reading.ai_generated
    assert (reading.clip_id, reading.model_key) == ("c-1", "tiny-wan")
    assert reading.title == "Riff clip by @alice" and reading.errors == []
    assert reading.ingredients == []
    assert reading.manifest is not None
    assert reading.manifest["claim_generator_info"][0]["name"] == "Riff"
    [actions] = [a for a in reading.manifest["assertions"] if a["label"].startswith("c2pa.actions")]
    [created] = actions["data"]["actions"]
    assert created["action"] == "c2pa.created"
    assert created["digitalSourceType"] == AI_SOURCE_TYPE
    assert "Riff" in created["softwareAgent"]["name"]
    assert "tiny-wan" in created["softwareAgent"]["name"]


def test_the_watermark_is_the_manifests_soft_binding_for_a_c2pa_reader(clip: bytes) -> None:
    data = signed(clip, watermark_id=0xA1B2C3D4E5F6)
    # Read with c2pa-python itself, as any C2PA reader would, not through Riff's reading.
    with c2pa.Reader("video/mp4", io.BytesIO(data)) as reader:
        manifest = reader.get_active_manifest()
    assert manifest is not None
    [binding] = [a for a in manifest["assertions"] if a["label"] == "c2pa.soft-binding"]
    assert binding["data"]["alg"] == SOFT_BINDING_ALG
    [block] = binding["data"]["blocks"]
    assert base64.b64decode(block["value"]) == bytes.fromhex("a1b2c3d4e5f6")
    assert read_clip(data).state == "Trusted"
    assert "c2pa.soft-binding" not in str(read_clip(signed(clip)).manifest)


def test_without_the_instance_ca_as_anchor_it_is_only_valid(clip: bytes, settings) -> None:
    data = signed(clip)
    settings.C2PA_TRUST_ANCHORS = ""

    reading = read_clip(data)

    assert reading.state == "Valid"
    assert reading.errors == ["signingCredential.untrusted"]


def test_one_changed_byte_of_video_makes_it_invalid(clip: bytes) -> None:
    data = bytearray(signed(clip))
    start, end = mdat_payload(bytes(data))
    data[(start + end) // 2] ^= 0xFF

    reading = read_clip(bytes(data))

    assert reading.state == "Invalid"
    assert "assertion.bmffHash.mismatch" in reading.errors, reading.errors


def test_a_remix_names_its_parent_and_the_parents_state(clip: bytes) -> None:
    parent = signed(clip)

    reading = read_clip(signed(clip, parent=Parent(video=parent, title="Riff post 7")))

    assert reading.state == "Trusted", reading.errors
    assert reading.ingredients == [
        {"title": "Riff post 7", "relationship": "parentOf", "state": "Trusted"}
    ]
    assert reading.ai_generated
    assert reading.manifest is not None
    [actions] = [a for a in reading.manifest["assertions"] if a["label"].startswith("c2pa.actions")]
    assert [a["action"] for a in actions["data"]["actions"]] == ["c2pa.opened", "c2pa.edited"]


def test_a_remix_reader_without_the_anchors_sees_an_untrusted_parent(clip: bytes, settings) -> None:
    remix = signed(clip, parent=Parent(video=signed(clip), title="Riff post 7"))
    settings.C2PA_TRUST_ANCHORS = ""

    reading = read_clip(remix)

    assert reading.state == "Valid"
    assert [i["state"] for i in reading.ingredients] == ["Valid"]


def test_a_remix_of_a_tampered_or_unsigned_clip_says_so(clip: bytes) -> None:
    tampered = bytearray(signed(clip))
    start, end = mdat_payload(bytes(tampered))
    tampered[start + 16] ^= 0xFF

    of_tampered = read_clip(signed(clip, parent=Parent(video=bytes(tampered), title="t")))
    of_unsigned = read_clip(signed(clip, parent=Parent(video=clip, title="u")))

    # The remix itself is intact; only what it says about its parent differs.
    assert of_tampered.state == of_unsigned.state == "Trusted"
    assert [i["state"] for i in of_tampered.ingredients] == ["Invalid"]
    assert [i["state"] for i in of_unsigned.ingredients] == [None]


def test_the_signed_clip_still_plays(clip: bytes) -> None:
    assert frame_count(signed(clip)) == frame_count(clip) == 12


def test_unsigned_and_broken_files_read_as_no_credentials(clip: bytes) -> None:
    unsigned = read_clip(clip)
    assert unsigned.state is None and unsigned.errors == [] and unsigned.manifest is None

    for junk in (b"not a video at all" * 10, b"", signed(clip)[:200]):
        reading = read_clip(junk)
        assert reading.state in (None, "Invalid")
        assert reading.errors
    assert read_clip(clip, "video/webm").state is None


@pytest.mark.parametrize("setting", ["C2PA_PRIVATE_KEY", "C2PA_CERT_CHAIN"])
def test_signing_without_a_key_or_certificate_names_the_setting(
    clip: bytes, settings, tmp_path: Path, setting: str
) -> None:
    setattr(settings, setting, tmp_path / "nope.pem")

    with pytest.raises(SigningUnavailable, match=rf"{setting}.*c2pa_dev_ca"):
        signed(clip)


def test_a_key_that_does_not_match_the_certificate_is_refused(
    clip: bytes, settings, tmp_path: Path
) -> None:
    call_command("c2pa_dev_ca", out=tmp_path)
    settings.C2PA_PRIVATE_KEY = tmp_path / "key.pem"  # another CA's key

    with pytest.raises(SigningUnavailable, match=r"doesn't belong.*c2pa_dev_ca --force"):
        signed(clip)


def test_the_dev_ca_command_writes_a_set_once(tmp_path: Path, clip: bytes, settings) -> None:
    out = tmp_path / "c2pa"
    settings.C2PA_CERT_CHAIN = out / "chain.pem"  # the default folder is the chain's

    call_command("c2pa_dev_ca")
    chain = (out / "chain.pem").read_bytes()
    assert {p.name for p in out.iterdir()} == {"ca.pem", "chain.pem", "key.pem"}
    assert stat.S_IMODE((out / "key.pem").stat().st_mode) == 0o600
    leaf, ca = x509.load_pem_x509_certificates(chain)
    assert x509.load_pem_x509_certificate((out / "ca.pem").read_bytes()) == ca
    assert "not for production" in ca.subject.rfc4514_string()
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert leaf.issuer == ca.subject
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.EMAIL_PROTECTION]

    call_command("c2pa_dev_ca")
    assert (out / "chain.pem").read_bytes() == chain  # kept
    call_command("c2pa_dev_ca", force=True)
    assert (out / "chain.pem").read_bytes() != chain

    settings.C2PA_PRIVATE_KEY = out / "key.pem"
    settings.C2PA_TRUST_ANCHORS = out / "ca.pem"
    assert read_clip(signed(clip)).state == "Trusted"


def test_the_dev_ca_command_will_not_complete_half_a_set(tmp_path: Path) -> None:
    (tmp_path / "key.pem").write_text("a key someone may need")

    with pytest.raises(CommandError, match="only key.pem"):
        call_command("c2pa_dev_ca", out=tmp_path)
    assert (tmp_path / "key.pem").read_text() == "a key someone may need"
