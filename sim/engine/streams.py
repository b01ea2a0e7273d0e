"""The random streams of a replication: one per purpose, so that changing one part of a scenario leaves
every other part's draws where they were (common random numbers)."""

from __future__ import annotations

from typing import Any

import numpy as np

#: Purposes of the counter-based streams (the last word of a Philox counter).
_HOUR, _REQUEST = 0, 1
_MASK = (1 << 64) - 1


class Streams:
    """The random streams of one replication, one per purpose, so that a change to one part of a
    scenario leaves every other part's draws where they were (common random numbers).

    Each simulated hour's arrivals come from a stream of their own (a surge in one hour leaves every
    other hour's arrivals as they were), and draw everything that describes each request (origin,
    channel, the uniforms that decide its fate, its patience, its repeat decision and a first block of
    variates for the times drawn as it moves). A request that needs more variates, and a request raised
    outside the arrival streams (an inject, a repeat), draw from a stream keyed by the request itself.
    So a request's k-th time is the same number whichever post draws it, in whatever order: changing
    one office's staff leaves every other office's draws unchanged.

    The streams are Philox counter-based streams under one key derived from the seed: a stream is a
    counter prefix (its purpose and its id), so opening one costs a state reset, not a new generator.
    ``from_seed`` does not touch the seed it is given: the same seed gives the same streams, always.
    """

    __slots__ = ("_bits", "_gen", "_state", "entropy")

    def __init__(self, key: np.ndarray, entropy: str = "") -> None:
        self._bits = np.random.Philox(key=key)
        self._gen = np.random.Generator(self._bits)
        self._state: Any = self._bits.state
        self.entropy = entropy

    @classmethod
    def from_seed(cls, seed: int | np.random.SeedSequence) -> Streams:
        if isinstance(seed, np.random.SeedSequence):
            # a fresh copy: SeedSequence.spawn counts its children, generate_state does not
            ss = np.random.SeedSequence(seed.entropy, spawn_key=seed.spawn_key, pool_size=seed.pool_size)
        else:
            ss = np.random.SeedSequence(seed)
        return cls(ss.generate_state(2, np.uint64), f"{ss.entropy}/{ss.spawn_key}")

    def _open(self, purpose: int, ident: int, chunk: int = 0) -> np.random.Generator:
        state = self._state
        state["state"]["counter"] = np.array([0, chunk, ident & _MASK, purpose], dtype=np.uint64)
        state["buffer_pos"] = 4
        state["has_uint32"] = 0
        self._bits.state = state
        return self._gen

    def hour(self, h: int) -> np.random.Generator:
        """The stream of simulated hour ``h``'s arrivals (valid until another stream is opened)."""
        return self._open(_HOUR, h)

    def request(self, key: int, chunk: int = 0) -> np.random.Generator:
        """The stream of the request keyed ``key``: chunk 0 describes a request raised outside the
        arrival streams; chunks 1, 2, ... are more variates for any request."""
        return self._open(_REQUEST, key, chunk)


def repeat_key(key: int) -> int:
    """The key of a repeat request, from the key of the request it repeats (an odd multiplier makes it
    a bijection of 64-bit keys)."""
    return (key * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019) & _MASK
