"""Ingest benchmark: `kpi ingest` of the scale-N demo vs the floor of a plain DuckDB read_csv → Parquet copy.

Both run in one invocation on the same files, each in its own process (for peak memory).
Usage: python bench/bench_ingest.py [--scale 30] [--dir /tmp/kpi-bench] [--jobs N] [--dask]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
from pathlib import Path

from common import PY, ROOT, measure, table

_WRAP_CPU = r"""
import json, os, resource, subprocess, sys, time
t = time.perf_counter()
p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
dt = time.perf_counter() - t
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"seconds": dt, "cpu": r.ru_utime + r.ru_stime, "peak_mb": r.ru_maxrss / 1024, "rc": p.returncode,
                  "stderr": p.stderr[-2000:], "load": os.getloadavg()[0]}))
"""


def measure_cpu(cmd: list[str], env: dict | None = None) -> dict:
    """Wall and CPU seconds, peak resident memory (MB, largest process) and the 1-minute load at the end."""
    e = dict(os.environ)
    if env:
        e.update(env)
    out = subprocess.run([PY, "-c", _WRAP_CPU, *cmd], capture_output=True, text=True, env=e, check=True)
    res = json.loads(out.stdout.strip().splitlines()[-1])
    if res["rc"] != 0:
        raise SystemExit(f"benchmark command failed ({res['rc']}): {' '.join(cmd)}\n{res['stderr']}")
    return res

FLOOR = r"""
import duckdb, sys, pathlib
raw, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
con = duckdb.connect()
n = skipped = 0
for i, f in enumerate(sorted(p for p in raw.rglob('*') if p.is_file() and not p.name.startswith('_'))):
    if f.suffix.lower() in ('.xlsx',):
        skipped += 1
        continue
    enc = "latin-1" if False else None
    try:
        con.execute(f"COPY (SELECT * FROM read_csv('{f.as_posix()}', all_varchar=true, ignore_errors=true, null_padding=true)) TO '{(out / f'{i}.parquet').as_posix()}' (FORMAT parquet)")
        n += 1
    except Exception:
        skipped += 1
print(n, skipped)
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=30.0)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/kpi-bench-ingest"))
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--dask", action="store_true", help="also time `kpi ingest --executor dask` (2 local workers)")
    ap.add_argument("--jobs", type=int, default=None, help="`kpi ingest --jobs N` (default: the command's own default)")
    a = ap.parse_args()
    d = a.dir
    raw, ref, wh, floor_out = d / "raw", d / "reference", d / "warehouse", d / "floor"
    kpi = str(Path(PY).with_name("kpi"))
    if not (raw / "_demo.json").is_file() or json.loads((raw / "_demo.json").read_text()).get("scale") != a.scale:
        shutil.rmtree(d, ignore_errors=True)
        gen = measure([kpi, "generate", "--out", str(raw), "--reference", str(ref), "--scale", str(a.scale), "--end", "2026-11"])
        (raw / "_demo.json").write_text(json.dumps({"scale": a.scale}))
        print(f"generated scale {a.scale} in {gen['seconds']:.1f} s")
    files = [p for p in raw.rglob("*") if p.is_file() and not p.name.startswith("_")]
    size = sum(p.stat().st_size for p in files) / 1e6
    shutil.rmtree(floor_out, ignore_errors=True)
    floor = measure_cpu([PY, "-c", FLOOR, str(raw), str(floor_out)])
    shutil.rmtree(wh, ignore_errors=True)
    jobs = ["--jobs", str(a.jobs)] if a.jobs else []
    ours = measure_cpu([kpi, "ingest", str(raw), "--warehouse", str(wh), "--reference", str(ref), "--json", *jobs],
                       env={"KPI_ROOT": str(ROOT)})

    def row(what: str, m: dict) -> dict:
        return {"what": what, "seconds": f"{m['seconds']:.1f}", "ratio": f"{m['seconds'] / floor['seconds']:.2f}",
                "cpu s": f"{m['cpu']:.1f}", "cpu ratio": f"{m['cpu'] / floor['cpu']:.2f}",
                "peak MB": f"{m['peak_mb']:.0f}", "load": f"{m['load']:.1f}"}

    rows = [row(f"kpi ingest (ours{', --jobs ' + str(a.jobs) if a.jobs else ''})", ours)]
    if a.dask:
        shutil.rmtree(wh, ignore_errors=True)
        dk = measure_cpu([kpi, "ingest", str(raw), "--warehouse", str(wh), "--reference", str(ref), "--json",
                          "--executor", "dask"], env={"KPI_ROOT": str(ROOT)})
        rows.append(row("kpi ingest --executor dask (2 local workers)", dk))
    rows.append(row("DuckDB read_csv → Parquet (floor)", floor))
    print(table(f"ingest, scale {a.scale}: {len(files)} files, {size:,.0f} MB", rows,
                ["what", "seconds", "ratio", "cpu s", "cpu ratio", "peak MB", "load"]))
    print("goal (issue 15.2): ratio ≤ 2 at scale 30, peak < 4096 MB (peak MB: largest process of the command; "
          "cpu s: user + system of all its processes; load: 1-minute load average when it ended)")
    if not a.keep:
        shutil.rmtree(floor_out, ignore_errors=True)


if __name__ == "__main__":
    main()
