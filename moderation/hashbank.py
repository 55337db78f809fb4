"""The hash bank: perceptual hashes of clips moderators removed, and the check of new clips.

A clip is a bag of PDQ hashes (256 bits, 64 hex digits, ThreatExchange's order) of evenly
sampled frames, matched the way ThreatExchange's vPDQ matches videos: a new clip matches a
banked one when at least `hash_share` of its hashed frames lie within `hash_distance` bits
of some frame of the banked clip (ModerationSettings; 31 bits and 80% by default). Frame
order and count don't matter, so a re-encode, a resize or a copy at another frame rate
still matches, and so does an excerpt. Unlike vPDQ we don't also require the banked clip's
frames to be covered: a removed clip spliced into a longer one is only caught when it makes
up most of the new clip.

Generated clips are hashed before the visible label and the watermark are drawn, so the
same pixels made by someone else (whose label reads differently) hash the same. The label
matters: on Riff's smooth demo scenes it doubles a frame's PDQ quality and moves its hash
by 10 to 75 bits, so a labelled copy matches its own unlabelled fingerprint on only ~40%
of frames (bench/provenance.py). So a bank entry also holds the hashes of the clip as it was
published, label and watermark drawn: a copy of the posted file (re-encoded or resized)
matches those.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from typing import IO, Any

import av
import numpy as np
import pdqhash
from django.db import transaction
from django.db.models import Count, Max

from .models import ClipFingerprint, Decision, HashBankEntry, ModerationSettings
from .services import audit_record

log = logging.getLogger(__name__)

# Frames hashed per clip, spread evenly over it. Riff's clips are 1 to 10 s, so 16 frames
# is one every 0.1 to 0.6 s: enough for an 80% share to mean something (one frame a
# second, as vPDQ often samples, leaves a 2 s clip with two), while the hashing stays near
# 5 ms a 480x832 frame (~80 ms a clip) and a banked clip stays at 16 x 32 bytes.
SAMPLES = 16
# PDQ's quality (0-100) says how much detail a frame's hash rests on. A flat frame scores 0
# and its hash is noise. A frame that is flat but for the "AI" label scores 13-16, and two
# such frames with different handles lie 28 bits apart: a false match. vPDQ skips frames
# under 50, but Riff's smooth procedural scenes (sky, sea, a ball) score 29-62 and still
# hash distinctively (different scenes ~130 bits apart, a 0.5x resize + CRF 28 re-encode
# within 20), so the floor sits between the two.
MIN_QUALITY = 30


def _hash_frame(frame: np.ndarray) -> str | None:
    """A frame's PDQ hash as 64 hex digits, or None when the frame has too little detail."""
    bits, quality = pdqhash.compute(np.ascontiguousarray(frame, dtype=np.uint8))
    if quality < MIN_QUALITY:
        return None
    # pdqhash gives bit 255 first, so packed big-endian this is ThreatExchange's hex form.
    return np.packbits(bits.astype(np.uint8)).tobytes().hex()


def _sample_indices(count: int, samples: int) -> list[int]:
    """Up to `samples` frame indices spread evenly from the first frame to the last."""
    if count <= 0:
        return []
    return sorted({int(i) for i in np.linspace(0, count - 1, min(count, samples)).round()})


def frame_hashes(frames: np.ndarray, *, samples: int = SAMPLES) -> list[str]:
    """PDQ hashes of up to `samples` evenly spread frames of (T, H, W, 3) RGB uint8 frames.

    Frames with too little detail to mean anything (flat ones) are left out, so a clip of
    flat frames has no hashes and matches nothing.
    """
    picked = (_hash_frame(frames[i]) for i in _sample_indices(len(frames), samples))
    return [h for h in picked if h is not None]


def video_hashes(
    file: IO[bytes], *, samples: int = SAMPLES, deadline: float | None = None
) -> list[str]:
    """frame_hashes of a video file's frames, decoding one frame at a time; past `deadline`
    (time.monotonic()), the hashes of the frames reached so far."""
    with av.open(file, mode="r") as container:
        stream = container.streams.video[0]
        count = stream.frames or sum(1 for packet in container.demux(stream) if packet.size)
    file.seek(0)
    wanted = set(_sample_indices(count, samples))
    hashes = []
    with av.open(file, mode="r") as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index > max(wanted, default=-1):
                break
            if deadline is not None and time.monotonic() > deadline:
                log.info("stopped hashing a video at frame %d: out of time", index)
                break
            if index in wanted:
                found = _hash_frame(frame.to_ndarray(format="rgb24"))
                if found is not None:
                    hashes.append(found)
    return hashes


# --- matching --------------------------------------------------------------------------------


def _matrix(hashes: list[str]) -> np.ndarray:
    """Hex hashes as an (N, 4) uint64 array: 256 bits a row."""
    raw = bytes.fromhex("".join(hashes))
    if len(raw) != 32 * len(hashes):
        raise ValueError("a PDQ hash is 64 hex digits")
    return np.frombuffer(raw, dtype=np.uint64).reshape(-1, 4)


@dataclass(frozen=True)
class Bank:
    """Active bank entries as one array: every frame hash a column, each entry a run of them."""

    entry_ids: np.ndarray  # (E,) the entries with at least one hash
    starts: np.ndarray  # (E,) each entry's first column
    # (4, N) uint64: word-major, so that each XOR and popcount runs over contiguous memory
    # (a third of the time of the (N, 4) layout, whose row sums numpy does slowly).
    words: np.ndarray

    @classmethod
    def of(cls, entries: list[tuple[int, list[str]]]) -> Bank:
        """A bank from (entry id, hex hashes) pairs; entries without hashes are left out."""
        entries = [(pk, hashes) for pk, hashes in entries if hashes]
        sizes = np.array([len(hashes) for _, hashes in entries], dtype=np.int64)
        return cls(
            entry_ids=np.array([pk for pk, _ in entries], dtype=np.int64),
            starts=np.cumsum(sizes) - sizes,
            words=np.ascontiguousarray(_matrix([h for _, hashes in entries for h in hashes]).T),
        )


# The last bank this process loaded, with the (count, highest id) of the active entries it
# was loaded from. Entries are only ever added (with a higher id than any before) or
# deactivated for good, and their hashes never change, so the same count and highest id
# mean the same entries. Fetching and parsing 10,000 entries' JSON costs ~200 ms; the
# check costs ~3 ms.
_loaded: tuple[tuple[int, int | None], Bank] | None = None


def bank_load() -> Bank:
    """The active entries of the hash bank, ready to match against."""
    global _loaded
    active = HashBankEntry.objects.filter(active=True)
    stamp = active.aggregate(count=Count("pk"), top=Max("pk"))
    key = (stamp["count"], stamp["top"])
    if _loaded is not None and _loaded[0] == key:
        return _loaded[1]
    bank = Bank.of(list(active.order_by("pk").values_list("pk", "hashes")))
    _loaded = (key, bank)
    return bank


def bank_match(
    hashes: list[str], bank: Bank, *, distance: int, share: float
) -> tuple[int, float] | None:
    """(entry id, matched share) of the bank entry the clip matches best, or None.

    A clip frame counts as matched by an entry when some hash of the entry is within
    `distance` bits; the entry matches when at least `share` of the clip's frames are.
    The cost is a brute-force scan, 4 XORs and popcounts of 64-bit words per (clip frame,
    banked frame) pair: 16 x 16 x 4 x E for a bank of E clips, ~2 ms per 1,000 entries
    on one core. It is done a clip frame at a time into buffers reused across frames, so
    memory stays at 11 bytes per banked frame (~1.8 MB for 10,000 entries). Past a few
    hundred thousand entries an index (ThreatExchange's multi-index hashing) would pay.
    """
    if not hashes or not len(bank.entry_ids):
        return None
    clip = _matrix(hashes)
    count = bank.words.shape[1]
    xor, ones = np.empty(count, dtype=np.uint64), np.empty(count, dtype=np.uint8)
    bits = np.empty(count, dtype=np.uint16)
    # Per clip frame and entry, the distance to the entry's nearest frame.
    nearest = np.empty((len(clip), len(bank.entry_ids)), dtype=np.uint16)
    for i, frame in enumerate(clip):
        for word in range(4):
            np.bitwise_xor(bank.words[word], frame[word], out=xor)
            np.bitwise_count(xor, out=ones)
            if word:
                bits += ones
            else:
                bits[:] = ones
        nearest[i] = np.minimum.reduceat(bits, bank.starts)
    shares = (nearest <= distance).mean(axis=0)
    # Best share first; between equal shares, the closer frames.
    best = int(np.lexsort((nearest.sum(axis=0), -shares))[0])
    if shares[best] < share:
        return None
    return int(bank.entry_ids[best]), float(shares[best])


def _match(hashes: list[str]) -> tuple[int, float] | None:
    rules = ModerationSettings.current()
    return bank_match(hashes, bank_load(), distance=rules.hash_distance, share=rules.hash_share)


# --- writes ----------------------------------------------------------------------------------


@transaction.atomic
def fingerprint_record(
    *, job_id: str | uuid.UUID, frames: np.ndarray, published: np.ndarray | None = None
) -> ClipFingerprint:
    """Hash a generated clip's frames (before they are marked) and check them against the
    bank; hash the `published` frames (label and watermark drawn) for /verify/ to find.

    Idempotent: a job that runs again gets its fingerprint replaced.
    """
    hashes = frame_hashes(frames)
    found = _match(hashes)
    entry_id, matched_share = found if found is not None else (None, 0.0)
    fingerprint, _ = ClipFingerprint.objects.update_or_create(
        job_id=uuid.UUID(str(job_id)),
        defaults={
            "hashes": hashes,
            "published_hashes": frame_hashes(published) if published is not None else [],
            "published_hashed": published is not None,
            "match_id": entry_id,
            "matched_share": matched_share,
        },
    )
    if entry_id is not None:
        log.info("clip %s resembles banked clip %s (%.0f%%)", job_id, entry_id, 100 * matched_share)
    return fingerprint


@transaction.atomic
def fingerprint_rematch(*, job_id: uuid.UUID) -> tuple[HashBankEntry, float] | None:
    """Check a draft's fingerprint against the bank as it is now, when it is posted.

    The bank may have changed since the clip was made: an entry added since should hold it,
    and one an appeal deactivated no longer should. None when nothing matches (or the job
    has no fingerprint).
    """
    fingerprint = ClipFingerprint.objects.select_for_update().filter(job_id=job_id).first()
    if fingerprint is None:
        return None
    found = _match(fingerprint.hashes)
    entry_id, matched_share = found if found is not None else (None, 0.0)
    if (fingerprint.match_id, fingerprint.matched_share) != (entry_id, matched_share):
        fingerprint.match_id, fingerprint.matched_share = entry_id, matched_share
        fingerprint.save(update_fields=["match", "matched_share"])
    if entry_id is None:
        return None
    return HashBankEntry.objects.get(pk=entry_id), matched_share


@transaction.atomic
def bank_add(*, post: Any, decision: Decision | None = None) -> HashBankEntry:
    """Put a removed post's clip in the bank: new clips that resemble it are held for review.

    `post` is the feed's Post (moderation sits below the feed and only reads its id and video).

    The hashes come from the fingerprint of the job that made the clip: those taken before
    the label was drawn (which a new generation of the same pixels matches) and those of
    the clip as published (which a copy of the posted file matches). A post without a
    fingerprint (a seeded demo post, or one made before fingerprints) is hashed from its
    video file, label and all, which new clips of the same content then match less well.
    """
    existing = HashBankEntry.objects.filter(post=post, active=True).first()
    if existing is not None:
        return existing
    found = (
        ClipFingerprint.objects.filter(job__published_post_id=post.pk)
        .values_list("hashes", "published_hashes", "published_hashed")
        .first()
    )
    if found is None:
        hashes = _post_video_hashes(post)
    else:
        # A clip made before posted files were hashed has its file hashed now.
        published = found[1] if found[2] else _post_video_hashes(post)
        hashes = list(dict.fromkeys([*found[0], *published]))
    entry = HashBankEntry.objects.create(post=post, decision=decision, hashes=hashes)
    audit_record(
        actor=None,
        action="bank:add",
        target=f"post {post.pk}",
        entry=entry.pk,
        decision=decision.pk if decision is not None else None,
        frames=len(hashes),
    )
    return entry


def _post_video_hashes(post: Any) -> list[str]:
    name = post.video.name
    if not name or not post.video.storage.exists(name):
        log.warning("post %s has no video to hash; its bank entry will match nothing", post.pk)
        return []
    try:
        with post.video.open("rb") as handle:
            return video_hashes(handle)
    except (av.error.FFmpegError, IndexError):
        log.warning("post %s has no readable video; its bank entry will match nothing", post.pk)
        return []


@transaction.atomic
def bank_deactivate(*, decision: Decision) -> int:
    """Take a decision's clips out of the bank (its removal was overturned); how many."""
    ids = list(
        HashBankEntry.objects.filter(decision=decision, active=True).values_list("pk", flat=True)
    )
    if ids:
        HashBankEntry.objects.filter(pk__in=ids).update(active=False)
        audit_record(
            actor=None,
            action="bank:deactivate",
            target=f"decision {decision.pk}",
            entries=ids,
        )
    return len(ids)
