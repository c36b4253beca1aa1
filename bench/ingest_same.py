"""Same warehouse before and after an ingest change: ingest one raw tree with two checkouts of
kpi_lib and compare the warehouses' content hashes (``kpi_lib.ingest.content``: every table's
sorted rows, without the run's wall-clock columns) table by table.

Usage: python bench/ingest_same.py RAW REFERENCE OTHER_CHECKOUT [--dir /tmp/kpi-ingest-same]
(``OTHER_CHECKOUT``: e.g. a ``git worktree add /tmp/base <commit>`` of the code before the change;
this checkout is the one the script lives in). Both ingests run with the same ``--today`` and the
raw files keep their modification times, so file versions are equal. Exit code 1 when they differ.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_RUN = r"""
import datetime as dt, json, sys, time
from pathlib import Path
from kpi_lib.ingest.content import table_digests
from kpi_lib.ingest.pipeline import ingest
from kpi_lib.warehouse import Warehouse
raw, ref, wh = (Path(a) for a in sys.argv[1:4])
t = time.perf_counter()
s = ingest(raw, wh, ref, jobs=1, today=dt.date.fromisoformat(sys.argv[4]))
counts = [[f.path, f.rows_read, f.rows_loaded, f.rows_quarantined, f.rows_duplicate, f.rows_superseded,
           f.reconciliation, f.error] for f in s.files]
print(json.dumps({"seconds": time.perf_counter() - t, "digests": table_digests(Warehouse(wh)), "counts": counts}))
"""


def run(checkout: Path, raw: Path, ref: Path, wh: Path, today: str) -> dict:
    """Ingest ``raw`` with the kpi_lib of ``checkout``; its digests and per-file counts."""
    shutil.rmtree(wh, ignore_errors=True)
    env = dict(os.environ, PYTHONPATH=str(checkout), KPI_ROOT=str(checkout))
    out = subprocess.run([sys.executable, "-c", _RUN, str(raw), str(ref), str(wh), today], env=env,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("raw", type=Path)
    ap.add_argument("reference", type=Path)
    ap.add_argument("other", type=Path, help="the other checkout of the project (e.g. before the change)")
    ap.add_argument("--dir", type=Path, default=Path("/tmp/kpi-ingest-same"))
    ap.add_argument("--today", default="2026-12-07")
    ap.add_argument("--reuse-other", action="store_true",
                    help="compare with the other checkout's warehouse of an earlier run in --dir (digests only; "
                         "the manifest table holds the per-file counts and reconciliation)")
    a = ap.parse_args()
    mine = run(ROOT, a.raw, a.reference, a.dir / "wh-this", a.today)
    if a.reuse_other:
        code = ("import json, sys; from kpi_lib.ingest.content import table_digests; from kpi_lib.warehouse import "
                "Warehouse; print(json.dumps(table_digests(Warehouse(sys.argv[1]))))")
        out = subprocess.run([sys.executable, "-c", code, str(a.dir / "wh-other")], capture_output=True, text=True,
                             check=True, env=dict(os.environ, PYTHONPATH=str(a.other), KPI_ROOT=str(a.other)))
        other = {"seconds": float("nan"), "digests": json.loads(out.stdout.strip().splitlines()[-1]),
                 "counts": mine["counts"]}
    else:
        other = run(a.other, a.raw, a.reference, a.dir / "wh-other", a.today)
    diff = sorted(t for t in set(mine["digests"]) | set(other["digests"])
                  if mine["digests"].get(t) != other["digests"].get(t))
    same_counts = mine["counts"] == other["counts"]
    print(f"tables: {len(mine['digests'])}; differing: {', '.join(diff) or 'none'}; "
          f"per-file counts and reconciliation equal: {same_counts}")
    print(f"seconds: this {mine['seconds']:.1f}, other {other['seconds']:.1f}")
    sys.exit(1 if diff or not same_counts else 0)


if __name__ == "__main__":
    main()
