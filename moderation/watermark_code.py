"""The invisible mark's message: a 48-bit id, its CRC-32, and a convolutional code around them.

The 80 message bits (id, then the CRC-32 of its 6 bytes) are scrambled with a fixed pseudo-
random word, so that a blank or regular picture does not decode to a regular message, then
coded with the constraint-length 7, rate 1/2 convolutional code (generators 133 and 171
octal, the one of 802.11 and DVB) and six zero tail bits: 172 coded bits. A reading runs the
Viterbi decoder on soft values and keeps the result only when its CRC matches, so each
decoding is one guess with a 2**-32 chance of passing on a video that carries no mark.

Every pseudo-random choice of the mark (this scrambling word, the pattern's signs and its
layout) comes from SHA-256 in counter mode, not from numpy's generators, whose streams may
change between numpy versions: a clip marked today must read the same way in years.
"""

from __future__ import annotations

import hashlib
import zlib
from functools import cache

import numpy as np

PAYLOAD_BITS = 48
CHECK_BITS = 32
MESSAGE_BITS = PAYLOAD_BITS + CHECK_BITS
MEMORY = 6  # constraint length 7
GENERATORS = (0o133, 0o171)
CODED_BITS = (MESSAGE_BITS + MEMORY) * len(GENERATORS)
STATES = 2**MEMORY


def prng(label: str, count: int) -> np.ndarray:
    """`count` pseudo-random uint32 for `label`, the same on every machine and version."""
    blocks = []
    for counter in range(-(-count // 8)):
        blocks.append(hashlib.sha256(f"riff-watermark/{label}/{counter}".encode()).digest())
    return np.frombuffer(b"".join(blocks), dtype=">u4")[:count].astype(np.uint32)


def prng_signs(label: str, count: int) -> np.ndarray:
    """`count` pseudo-random signs (+1.0 or -1.0) for `label`."""
    return np.where(prng(label, count) & 1, 1.0, -1.0)


@cache
def _scrambler() -> np.ndarray:
    return (prng("scrambler", MESSAGE_BITS) & 1).astype(np.uint8)


@cache
def _trellis() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Output bits per (state, input), and each next state's two predecessors and input.

    The state is the last six inputs; input u from state s goes to (u << 5) | (s >> 1).
    """
    out = np.zeros((STATES, 2, len(GENERATORS)), dtype=np.int8)
    for state in range(STATES):
        for u in (0, 1):
            register = (u << MEMORY) | state
            for g, generator in enumerate(GENERATORS):
                out[state, u, g] = (register & generator).bit_count() & 1
    nxt = np.arange(STATES)
    previous = np.stack([((nxt & (STATES // 2 - 1)) << 1) | b for b in (0, 1)], axis=1)
    return out, previous, nxt >> (MEMORY - 1)


def message_bits(payload: int) -> np.ndarray:
    """The 80 scrambled message bits of a payload: id then CRC-32, as uint8."""
    data = payload.to_bytes(PAYLOAD_BITS // 8, "big")
    check = zlib.crc32(data).to_bytes(CHECK_BITS // 8, "big")
    bits = np.unpackbits(np.frombuffer(data + check, dtype=np.uint8))
    return bits ^ _scrambler()


def coded_bits(payload: int) -> np.ndarray:
    """The 172 coded bits (0 or 1) a payload is sent as."""
    out, _, _ = _trellis()
    state, coded = 0, []
    for u in [*message_bits(payload).tolist(), *[0] * MEMORY]:
        coded.extend(out[state, u].tolist())
        state = ((u << MEMORY) | state) >> 1
    return np.array(coded, dtype=np.uint8)


def viterbi(soft: np.ndarray) -> np.ndarray:
    """The most likely 80 message bits for 172 soft values (positive: a 1 was sent)."""
    out, previous, inputs = _trellis()
    signs = 2.0 * out - 1.0  # (state, input, 2)
    steps = np.asarray(soft, dtype=np.float64).reshape(-1, len(GENERATORS))
    metric = np.full(STATES, -np.inf)
    metric[0] = 0.0
    choice = np.zeros((len(steps), STATES), dtype=np.int8)
    rows = np.arange(STATES)
    for t, values in enumerate(steps):
        branch = signs @ values  # (state, input)
        candidates = metric[previous] + branch[previous, inputs[:, None]]
        choice[t] = np.argmax(candidates, axis=1)
        metric = candidates[rows, choice[t]]
    state, bits = 0, []  # the tail brings the encoder back to state 0
    for t in range(len(steps) - 1, -1, -1):
        bits.append(inputs[state])
        state = previous[state, choice[t, state]]
    return np.array(bits[::-1][:MESSAGE_BITS], dtype=np.uint8)


def check_bits_agreeing(message: np.ndarray) -> int:
    """How many of the 32 check bits of decoded message bits match the CRC of its id."""
    raw = np.packbits(message ^ _scrambler()).tobytes()
    data, check = raw[: PAYLOAD_BITS // 8], raw[PAYLOAD_BITS // 8 :]
    wanted = np.unpackbits(np.frombuffer(zlib.crc32(data).to_bytes(4, "big"), dtype=np.uint8))
    return int((np.unpackbits(np.frombuffer(check, dtype=np.uint8)) == wanted).sum())


def payload_of(message: np.ndarray) -> int | None:
    """The id in decoded message bits when its CRC-32 matches, else None."""
    if check_bits_agreeing(message) != CHECK_BITS:
        return None
    return int.from_bytes(np.packbits(message ^ _scrambler()).tobytes()[:6], "big")
