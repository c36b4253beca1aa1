"""A content hash of a warehouse snapshot: what two ingests must agree on to be "the same".

``table_digests(wh)`` hashes every table of the live snapshot as its rows sorted (all columns,
``ORDER BY ALL``), leaving out only the wall-clock columns of the run itself (``ingested_at``,
``changed_at``); ``content_hash(wh)`` combines them. Used to prove that the Dask ingest writes the
same warehouse as the in-process one, and that a refactor or speed-up changed no output.
"""

from __future__ import annotations

import hashlib

from ..warehouse import Warehouse

#: columns that record when the run happened, not what it loaded
VOLATILE_COLUMNS = frozenset({"ingested_at", "changed_at"})


def table_digests(wh: Warehouse, exclude: frozenset[str] | set[str] = frozenset()) -> dict[str, str]:
    """sha256 (16 hex) of each table's sorted rows in the live snapshot, by table name
    (without the run's wall-clock columns and any column named in ``exclude``)."""
    skip = VOLATILE_COLUMNS | set(exclude)
    con = wh.connect()
    try:
        names = sorted(r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall())
        out: dict[str, str] = {}
        for name in names:
            cols = [r[0] for r in con.execute(f'DESCRIBE "{name}"').fetchall() if r[0] not in skip]
            h = hashlib.sha256(("|".join(cols)).encode())
            if cols:
                sel = ", ".join(f'"{c}"' for c in cols)
                cur = con.execute(f'SELECT {sel} FROM "{name}" ORDER BY ALL')
                while batch := cur.fetchmany(50_000):
                    for row in batch:
                        h.update(repr(row).encode())
            out[name] = h.hexdigest()[:16]
        return out
    finally:
        con.close()


def content_hash(wh: Warehouse) -> str:
    """One hash over every table's sorted rows (see ``table_digests``)."""
    h = hashlib.sha256()
    for name, digest in table_digests(wh).items():
        h.update(f"{name}={digest};".encode())
    return h.hexdigest()[:16]
