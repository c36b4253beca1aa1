"""Benchmark: N store reports with `kpi report` vs the plain papermill CLI + `jupyter nbconvert --to html`.

Both sides render the same template (templates/store_performance.ipynb) with the same parameters
for the same N stores, against the same warehouse: a copy of the test fixture warehouse whose 3
stores are cloned into N (default 24) so every report has its own store. The baseline runs, per
report and in sequence, `papermill TEMPLATE OUT.ipynb -p store_id … --cwd ROOT` then
`jupyter nbconvert --to html OUT.ipynb`; ours runs `kpi report --batch bench --force --jobs J`.

    .venv/bin/python bench/bench_reports.py [--n 24] [--jobs 2] [--keep]

Prints a table: total and per-report seconds, ratio, and HTML sizes (mean / max).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(HERE))

from common import table

BIN = Path(sys.executable).parent
PERIOD = "2026-03"
WORK = Path(os.environ.get("KPI_BENCH_REPORTS", "/tmp/kpi-bench-reports"))


def build_project(n: int) -> tuple[Path, list[str]]:
    """A project root with the repo's parameters/templates and a warehouse of n stores (computed)."""
    import pandas as pd
    from engine_fixtures import REFERENCE, build_tables

    proj = WORK / "project"
    if proj.exists():
        shutil.rmtree(proj)
    proj.mkdir(parents=True)
    shutil.copytree(ROOT / "parameters", proj / "parameters")
    shutil.copytree(ROOT / "templates", proj / "templates")
    base = build_tables()
    src_stores = list(base["stores"]["store_id"])
    clones = [(s, f"{s}-{k:02d}") for k in range(-(-n // len(src_stores))) for s in src_stores][:n]
    tables = {}
    for name, df in base.items():
        if "store_id" in df.columns:
            parts = []
            for s, new in clones:
                part = df[df["store_id"] == s].copy()
                part["store_id"] = new
                if "order_id" in part:
                    part["order_id"] = new + "-" + part["order_id"].astype(str)
                if "ticket_id" in part:
                    part["ticket_id"] = new + "-" + part["ticket_id"].astype(str)
                if "activity_id" in part:
                    part["activity_id"] = new + "-" + part["activity_id"].astype(str)
                if name == "stores":
                    part["store_name"] = part["store_name"] + f" ({new})"
                parts.append(part)
            tables[name] = pd.concat(parts, ignore_index=True)
        else:
            tables[name] = df
    (proj / "parameters" / "batches" / "bench.yaml").write_text(
        "name: bench\ntimeout: 300\nreports:\n  - {template: store_performance, entities: stores}\n", encoding="utf-8")
    os.environ["KPI_ROOT"] = str(proj)
    from kpi_lib.compute import run_compute
    from kpi_lib.warehouse import Warehouse

    wh = Warehouse(proj / "data" / "warehouse")
    with wh.transaction("bench") as w:
        for name, df in tables.items():
            w.write(name, df, partition_by=() if name in REFERENCE else None)
    run_compute(wh)
    return proj, [new for _, new in clones]


def run_ours(proj: Path, jobs: int) -> dict:
    env = dict(os.environ, KPI_ROOT=str(proj))
    t = time.perf_counter()
    p = subprocess.run([str(BIN / "kpi"), "report", "--batch", "bench", "--period", PERIOD, "--force",
                        "--jobs", str(jobs), "--json"], env=env, cwd=proj, capture_output=True, text=True,
                       check=False)
    secs = time.perf_counter() - t
    if p.returncode != 0:
        raise SystemExit(f"kpi report failed:\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}")
    sizes = [f.stat().st_size for f in (proj / "outputs" / PERIOD / "store_performance").glob("*.html")]
    return {"seconds": secs, "sizes": sizes}


def run_baseline(proj: Path, stores: list[str]) -> dict:
    env = dict(os.environ, KPI_ROOT=str(proj))
    out = WORK / "baseline"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    tpl = proj / "templates" / "store_performance.ipynb"
    t = time.perf_counter()
    for s in stores:
        nb = out / f"{s}.ipynb"
        subprocess.run([str(BIN / "papermill"), str(tpl), str(nb), "-p", "store_id", s, "-p", "period", PERIOD,
                        "-p", "language", "zh", "--cwd", str(proj), "--no-progress-bar", "-k", "python3"],
                       env=env, check=True, capture_output=True)
        subprocess.run([str(BIN / "jupyter"), "nbconvert", "--to", "html", str(nb)], env=env, check=True,
                       capture_output=True)
    secs = time.perf_counter() - t
    sizes = [f.stat().st_size for f in out.glob("*.html")]
    return {"seconds": secs, "sizes": sizes}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=24, help="number of store reports")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2, help="parallel kernels for kpi report")
    ap.add_argument("--keep", action="store_true", help=f"keep {WORK}")
    args = ap.parse_args()
    t0 = time.perf_counter()
    proj, stores = build_project(args.n)
    print(f"warehouse with {len(stores)} stores built in {time.perf_counter() - t0:.1f} s ({proj})", flush=True)
    ours = run_ours(proj, args.jobs)
    print(f"kpi report: {ours['seconds']:.1f} s", flush=True)
    base = run_baseline(proj, stores)
    print(f"baseline:   {base['seconds']:.1f} s", flush=True)
    n = len(stores)

    def row(name: str, r: dict, ratio: str) -> dict:
        return {"run": name, "reports": len(r["sizes"]), "total s": f"{r['seconds']:.1f}",
                "s / report": f"{r['seconds'] / n:.2f}", "speed-up": ratio,
                "html mean MB": f"{statistics.mean(r['sizes']) / 1e6:.2f}" if r["sizes"] else "-",
                "html max MB": f"{max(r['sizes']) / 1e6:.2f}" if r["sizes"] else "-"}

    rows = [row(f"kpi report --jobs {args.jobs}", ours, f"{base['seconds'] / ours['seconds']:.1f}x"),
            row("papermill + nbconvert (sequential)", base, "1.0x")]
    print(table(f"{n} store reports ({os.cpu_count()} cores)", rows,
                ["run", "reports", "total s", "s / report", "speed-up", "html mean MB", "html max MB"]))
    if not args.keep:
        shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
