"""Row keys already loaded, per table × store, and the vectorised classification of new rows.

De-duplication (``pipeline._dedup_and_count``) asks, for every incoming row: is its natural key
(``row_key``) new, loaded with the same values (``row_hash``), or loaded with other values — and
then is the incoming file's version newer (it replaces the loaded row) or older (it is superseded
on arrival)? ``KeyIndex`` keeps one table × store's keys as sorted numpy chunks (a small
log-structured merge: a new chunk per file, merged when it is as large as the one before), so a
file's rows are classified with array look-ups instead of one Python dict operation per row, and
a store's keys take ~26 bytes each instead of a dict entry with boxed integers.

The result is the one the per-row loop gives (``classify_loop``, kept as the reference the tests
compare against): keys repeated inside one batch are classified in rounds (first occurrences, then
second occurrences …), so a later occurrence sees what the earlier one did.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np

LOADED, DUPLICATE, SUPERSEDED = 0, 1, 2


class KeyIndex:
    """``row_key → (row_version, row_hash)`` of one table × store (either may be unknown: rows
    written before versions existed)."""

    def __init__(self) -> None:
        # each chunk: [keys (sorted, unique), versions, version known, hashes, hash known]
        self.chunks: list[list[np.ndarray]] = []

    def __len__(self) -> int:
        return sum(len(c[0]) for c in self.chunks)

    @classmethod
    def from_arrays(cls, keys: np.ndarray, versions: np.ndarray, v_known: np.ndarray, hashes: np.ndarray,
                    h_known: np.ndarray) -> KeyIndex:
        """An index of loaded rows; a key given twice keeps its last values (as a dict would)."""
        ix = cls()
        keys = np.asarray(keys, dtype=np.int64)
        if len(keys):
            # last occurrence of each key: unique over the reversed array
            rev = keys[::-1]
            _, first_rev = np.unique(rev, return_index=True)
            take = len(keys) - 1 - first_rev  # sorted by key (np.unique sorts)
            ix.chunks.append([keys[take], np.asarray(versions, np.int64)[take], np.asarray(v_known, bool)[take],
                              np.asarray(hashes, np.int64)[take], np.asarray(h_known, bool)[take]])
        return ix

    def _find(self, keys: np.ndarray, order: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(chunk number or -1, position in that chunk) of each key; ``order``: a stable argsort of
        ``keys`` when the caller has one (else it is computed here)."""
        chunk = np.full(len(keys), -1, dtype=np.int64)
        pos = np.zeros(len(keys), dtype=np.int64)
        if not len(self.chunks):
            return chunk, pos
        # the keys looked up in sorted order: each search starts where the one before ended, which
        # keeps a large chunk's memory access local (~5× faster than searching in file order)
        order = np.argsort(keys, kind="stable") if order is None else order
        sorted_keys = keys[order]
        for ci, c in enumerate(self.chunks):
            ck = c[0]
            if not len(ck):
                continue
            p = np.empty(len(keys), dtype=np.int64)
            p[order] = np.searchsorted(ck, sorted_keys)
            p_ok = np.minimum(p, len(ck) - 1)
            hit = (p < len(ck)) & (ck[p_ok] == keys) & (chunk < 0)
            chunk[hit] = ci
            pos[hit] = p_ok[hit]
        return chunk, pos

    def _insert(self, keys: np.ndarray, version: int, hashes: np.ndarray, is_sorted: bool = False) -> None:
        """Add new keys (absent from every chunk, unique) as a chunk; ``is_sorted``: they come sorted."""
        if not len(keys):
            return
        if not is_sorted:
            order = np.argsort(keys, kind="stable")
            keys, hashes = keys[order], hashes[order]
        n = len(keys)
        self.chunks.append([keys, np.full(n, version, np.int64), np.ones(n, bool), hashes, np.ones(n, bool)])
        while len(self.chunks) >= 2 and len(self.chunks[-1][0]) * 2 >= len(self.chunks[-2][0]):
            b, a = self.chunks.pop(), self.chunks.pop()
            o = np.argsort(np.concatenate([a[0], b[0]]), kind="stable")
            self.chunks.append([np.concatenate([x, y])[o] for x, y in zip(a, b)])

    def classify(self, keys: np.ndarray, hashes: np.ndarray, version: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Status (LOADED / DUPLICATE / SUPERSEDED), ``replaces`` and ``confirms`` of each incoming row,
        updating the index as the per-row loop would (new keys added, replaced keys take the new values,
        confirmed keys the newer version).

        ``confirms``: a duplicate from a newer export than the loaded row's version. The loaded row stays,
        but its key now has that newer version, so an older export read later cannot replace it."""
        keys = np.asarray(keys, dtype=np.int64)
        hashes = np.asarray(hashes, dtype=np.int64)
        status = np.zeros(len(keys), dtype=np.int8)
        replaces = np.zeros(len(keys), dtype=bool)
        confirms = np.zeros(len(keys), dtype=bool)
        if not len(keys):
            return status, replaces, confirms
        # occurrence number of each key inside the batch: round r holds the (r+1)-th occurrences
        order = np.argsort(keys, kind="stable")
        sk = keys[order]
        start = np.r_[True, sk[1:] != sk[:-1]]
        if start.all():  # no key repeated in the batch (the usual case): one round, this sort reused
            self._classify_unique(keys, hashes, version, np.arange(len(keys)), status, replaces, confirms, order)
            return status, replaces, confirms
        grp_start = np.maximum.accumulate(np.where(start, np.arange(len(sk)), 0))
        occ = np.empty(len(keys), dtype=np.int64)
        occ[order] = np.arange(len(sk)) - grp_start
        for r in range(int(occ.max()) + 1):
            at = np.flatnonzero(occ == r) if r or occ.any() else np.arange(len(keys))
            self._classify_unique(keys[at], hashes[at], version, at, status, replaces, confirms)
        return status, replaces, confirms

    def _classify_unique(self, keys: np.ndarray, hashes: np.ndarray, version: int, at: np.ndarray,
                         status: np.ndarray, replaces: np.ndarray, confirms: np.ndarray,
                         order: np.ndarray | None = None) -> None:
        """One round of ``classify`` over unique ``keys`` (rows ``at`` of the batch); ``order``: a
        stable argsort of ``keys`` when the caller has one."""
        chunk, pos = self._find(keys, order)
        found = chunk >= 0
        ev = np.zeros(len(keys), np.int64)
        ev_known = np.zeros(len(keys), bool)
        eh = np.zeros(len(keys), np.int64)
        eh_known = np.zeros(len(keys), bool)
        for ci in np.unique(chunk[found]).tolist():
            m = chunk == ci
            c = self.chunks[ci]
            p = pos[m]
            ev[m], ev_known[m], eh[m], eh_known[m] = c[1][p], c[2][p], c[3][p], c[4][p]
        dup = found & (~eh_known | (eh == hashes))  # same values (or loaded before versions existed)
        rep = found & ~dup & (~ev_known | (version >= ev))  # newer (ties: the later-ingested file) wins
        sup = found & ~dup & ~rep
        # the same values from a newer export (known values only: a row loaded before hashes existed
        # may hold other values)
        conf = dup & eh_known & (~ev_known | (version > ev))
        status[at[dup]] = DUPLICATE
        status[at[sup]] = SUPERSEDED
        replaces[at[rep]] = True
        confirms[at[conf]] = True
        for ci in np.unique(chunk[rep | conf]).tolist():
            m = (rep | conf) & (chunk == ci)
            c = self.chunks[ci]
            p = pos[m]
            c[1][p], c[2][p], c[3][p], c[4][p] = version, True, hashes[m], True
        new = ~found
        if order is None:
            self._insert(keys[new], version, hashes[new])
        else:  # the new keys in sorted order: the batch's sort restricted to them
            o = order[new[order]]
            self._insert(keys[o], version, hashes[o], is_sorted=True)


def classify_loop(seen: dict[int, tuple[int | None, int | None]], keys: np.ndarray, hashes: np.ndarray,
                  version: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The per-row reference classification over a plain dict (what ``KeyIndex.classify`` must equal)."""
    status = np.zeros(len(keys), dtype=np.int8)
    replaces = np.zeros(len(keys), dtype=bool)
    confirms = np.zeros(len(keys), dtype=bool)
    for j, (k, h) in enumerate(zip(np.asarray(keys).tolist(), np.asarray(hashes).tolist())):
        e = seen.get(k)
        if e is None:
            seen[k] = (version, h)
            continue
        ev, eh = e
        if eh is None or eh == h:
            status[j] = DUPLICATE
            if eh is not None and (ev is None or version > ev):
                confirms[j] = True
                seen[k] = (version, h)
        elif ev is None or version >= ev:
            replaces[j] = True
            seen[k] = (version, h)
        else:
            status[j] = SUPERSEDED
    return status, replaces, confirms


class SeenKeys:
    """Row keys already loaded (in the staging snapshot, which includes this run's files so far).

    Per table and store a ``KeyIndex``, so a new row can be told apart as a duplicate (same
    values), a newer version (replaces) or an older one (superseded). Keys include the store and
    files come grouped by store, so only the current store's keys are kept: memory is one store's
    keys. A store seen again later is simply re-read from the staging Parquet, which is always up
    to date.
    """

    def __init__(self, base: Path | None) -> None:
        self.base = base
        self.store: str | None = None
        self.maps: dict[tuple[str, str], KeyIndex] = {}

    def get(self, table: str, store_id: str) -> KeyIndex:
        """The key index of ``table`` × ``store_id`` (loaded from the staging Parquet on first use)."""
        if store_id != self.store:
            self.maps = {k: v for k, v in self.maps.items() if k[1] == store_id}
            self.store = store_id
        key = (table, store_id)
        if key not in self.maps:
            self.maps[key] = self._load(table, store_id)
        return self.maps[key]

    def _load(self, table: str, store_id: str) -> KeyIndex:
        if self.base is None:
            return KeyIndex()
        part = self.base / table / f"store_id={store_id}"
        if not part.is_dir() or not any(part.glob("*.parquet")):
            return KeyIndex()
        con = duckdb.connect()
        try:
            src = f"read_parquet('{part.as_posix()}/*.parquet', hive_partitioning=false, union_by_name=true)"
            cols = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {src}").fetchall()}
            if "row_key" not in cols:
                return KeyIndex()
            ver = "row_version" if "row_version" in cols else "NULL::BIGINT"
            if "row_confirmed" in cols:  # a newer export repeated the row: its key has that version
                ver = f"CASE WHEN row_confirmed > coalesce({ver}, -1) THEN row_confirmed ELSE {ver} END"
            hsh = "row_hash" if "row_hash" in cols else "NULL::BIGINT"
            rel = con.sql(f"SELECT row_key, {ver} AS v, {hsh} AS h FROM {src}")
            t = rel.to_arrow_table() if hasattr(rel, "to_arrow_table") else rel.arrow()  # DuckDB 2 / 1
        finally:
            con.close()
        k = t.column("row_key").to_numpy(zero_copy_only=False).astype(np.int64)
        v, h = t.column("v"), t.column("h")
        v_known = ~np.asarray(v.is_null().to_numpy(zero_copy_only=False), dtype=bool)
        h_known = ~np.asarray(h.is_null().to_numpy(zero_copy_only=False), dtype=bool)
        vv = v.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
        hh = h.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
        return KeyIndex.from_arrays(k, vv, v_known, hh, h_known)
