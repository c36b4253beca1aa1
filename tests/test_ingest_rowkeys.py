"""The vectorised de-duplication index (``kpi_lib.ingest.rowkeys.KeyIndex``) classifies every row
exactly as the per-row dict loop it replaced (``classify_loop``): new, duplicate (same values),
replaces (newer or equal version, other values) or superseded (older version), including keys
repeated inside one file, rows loaded before versions/hashes existed, and many files in a row
(which exercises the chunk merges)."""

from __future__ import annotations

import numpy as np
import pytest

from kpi_lib.ingest.rowkeys import DUPLICATE, LOADED, SUPERSEDED, KeyIndex, classify_loop


def _loaded(rng: np.random.Generator, n: int) -> tuple[dict, KeyIndex]:
    """The same loaded rows as a dict (reference) and as a KeyIndex; some versions/hashes unknown."""
    keys = rng.integers(0, 400, n).astype(np.int64)  # repeats: the last occurrence wins, as in a dict
    ver = rng.integers(10, 20, n).astype(np.int64)
    vk = rng.random(n) > 0.1
    hsh = rng.integers(0, 3, n).astype(np.int64)
    hk = rng.random(n) > 0.1
    ref = {int(k): (int(v) if a else None, int(h) if b else None) for k, v, a, h, b in zip(keys, ver, vk, hsh, hk)}
    return ref, KeyIndex.from_arrays(keys, ver, vk, hsh, hk)


@pytest.mark.parametrize("seed", range(8))
def test_classify_equals_the_per_row_loop(seed: int) -> None:
    rng = np.random.default_rng(seed)
    ref, ix = _loaded(rng, int(rng.integers(0, 300)))
    for _ in range(25):  # 25 files, each with its own version, keys partly new, partly repeated
        n = int(rng.integers(0, 200))
        keys = rng.integers(0, 600, n).astype(np.int64)
        hashes = rng.integers(0, 3, n).astype(np.int64)
        version = int(rng.integers(5, 25))
        want = classify_loop(ref, keys, hashes, version)
        got = ix.classify(keys, hashes, version)
        assert all(np.array_equal(g, w) for g, w in zip(got, want, strict=True))
        assert len(ix) == len(ref)
    assert len(ix.chunks) <= 12  # merged as it grows (log-structured), not one chunk per file


def test_worked_cases() -> None:
    """Loaded: key 1 (v=10, h=7), key 2 (v=10, h=7), key 3 (hash unknown), key 4 (version unknown)."""
    ix = KeyIndex.from_arrays(np.array([1, 2, 3, 4]), np.array([10, 10, 10, 0]), np.array([True, True, True, False]),
                              np.array([7, 7, 0, 7]), np.array([True, True, False, True]))
    # file of version 12: key 1 same values → duplicate; key 2 other values, newer → replaces;
    # key 3 hash unknown → duplicate; key 4 version unknown, other values → replaces; key 5 new;
    # key 5 again in the same file with other values → replaces the first occurrence (same version)
    status, rep, conf = ix.classify(np.array([1, 2, 3, 4, 5, 5]), np.array([7, 8, 9, 9, 1, 2]), 12)
    assert status.tolist() == [DUPLICATE, LOADED, DUPLICATE, LOADED, LOADED, LOADED]
    assert rep.tolist() == [False, True, False, True, False, True]
    # key 1's duplicate comes from a newer export (12 > 10): it confirms the loaded row at version 12;
    # key 3's loaded values are unknown, so its duplicate confirms nothing
    assert conf.tolist() == [True, False, False, False, False, False]
    # an older file (version 11) with key 2's old values: the loaded row is now 12/h=8 → superseded;
    # key 1 with other values at version 11: confirmed at 12, so superseded too (it was loaded at 10)
    status, rep, conf = ix.classify(np.array([2, 1]), np.array([7, 8]), 11)
    assert status.tolist() == [SUPERSEDED, SUPERSEDED] and rep.tolist() == [False, False]
    # the same values again at version 12 (not newer): a duplicate that confirms nothing more
    status, rep, conf = ix.classify(np.array([1]), np.array([7]), 12)
    assert status.tolist() == [DUPLICATE] and conf.tolist() == [False]
