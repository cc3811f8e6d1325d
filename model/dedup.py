"""Near-duplicate detection (MinHash + LSH over line shingles) for the corpus.

Exact copies are found by lsp_server.bundle_format.content_hash, the key of a bundle's corpus_hashes.txt.
"""
from __future__ import annotations

import zlib

import numpy as np

N_PERM = 64          # MinHash permutations
BANDS, ROWS = 16, 4  # LSH: 16 bands of 4 rows; pairs with Jaccard ~0.7+ collide in some band
SHINGLE_LINES = 3
NEAR_DUP_JACCARD = 0.8
_PRIME = (1 << 31) - 1  # products of two values below it fit in uint64
_rng = np.random.default_rng(20261129)
_A = _rng.integers(1, _PRIME, size=N_PERM, dtype=np.uint64)
_B = _rng.integers(0, _PRIME, size=N_PERM, dtype=np.uint64)


def shingles(text: str) -> np.ndarray:
    """crc32 of every run of SHINGLE_LINES consecutive non-blank, whitespace-stripped lines."""
    lines = [" ".join(line.split()) for line in text.splitlines()]
    lines = [line for line in lines if line]
    if len(lines) < SHINGLE_LINES:
        lines = lines + [""] * (SHINGLE_LINES - len(lines))
    grams = ("\n".join(lines[i:i + SHINGLE_LINES]) for i in range(len(lines) - SHINGLE_LINES + 1))
    return np.fromiter((zlib.crc32(g.encode("utf-8")) for g in grams), dtype=np.uint64)


def minhash(text: str) -> np.ndarray:
    """(N_PERM,) MinHash signature of the file's line shingles."""
    values = shingles(text)
    x = (values % np.uint64(_PRIME))[:, None]  # (S, 1)
    return ((x * _A + _B) % np.uint64(_PRIME)).min(axis=0)  # (N_PERM,)


class NearDupIndex:
    """Files added one by one; `find` answers which earlier file a new one nearly duplicates."""

    def __init__(self, threshold: float = NEAR_DUP_JACCARD):
        self.threshold = threshold
        self.signatures: list[np.ndarray] = []
        self.keys: list[str] = []
        self.buckets: list[dict[bytes, list[int]]] = [{} for _ in range(BANDS)]

    def _bands(self, sig: np.ndarray):
        for b in range(BANDS):
            yield b, sig[b * ROWS:(b + 1) * ROWS].tobytes()

    def find(self, sig: np.ndarray) -> str | None:
        """Key of an indexed file whose estimated Jaccard similarity with sig is >= threshold."""
        seen: set[int] = set()
        for b, key in self._bands(sig):
            for i in self.buckets[b].get(key, ()):
                if i not in seen:
                    seen.add(i)
                    if float(np.mean(self.signatures[i] == sig)) >= self.threshold:
                        return self.keys[i]
        return None

    def add(self, key: str, sig: np.ndarray) -> None:
        index = len(self.signatures)
        self.signatures.append(sig)
        self.keys.append(key)
        for b, band in self._bands(sig):
            self.buckets[b].setdefault(band, []).append(index)
