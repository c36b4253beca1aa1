"""Benchmark: report batches on the demo warehouse (scale 1), ours vs the loop a user would write.

Everything runs in one go, side by side, on one warehouse: the scale-1 demo company built once in a
private project root (``--root``, default ``<repo>/.bench-root``: a copy of the repo's parameters, so nothing
run there edits them, and a link to its templates; ``kpi demo --scale 1 --no-reports`` run when its warehouse is
missing).

Rows:
- **naive loop**: per report, one after the other, ``papermill TEMPLATE OUT.ipynb -p …`` then
  ``jupyter nbconvert --to html OUT.ipynb`` (a fresh kernel and a fresh converter each time);
- **kpi report**: ``kpi report --force`` on the same reports (warm workers: IPython shells, the
  batch cache: figures computed once); ``--no-cache`` the same without the cache; ``--executor dask``
  the same on a local Dask cluster of 2 worker processes;
- **formatting floor**: in one Python process, each report's template cells with every
  ``kpi_lib.report_data`` call answered from memory (computed in a first pass), the page assembled and
  written to a file, i.e. only the work a report cannot avoid (tables, charts, writing its HTML) —
  the per-report lower bound;
- **kpi report --engine kernel**: the same on warm Jupyter kernels (the default engine runs the
  templates in IPython shells in worker processes).

Batches: 6 store_performance reports, and the 41-report monthly batch (``--monthly``). The naive
loop over all 41 reports takes long on 2 cores; ``--naive-monthly estimate`` (default) times it on
the 6 store reports plus one report of every other kind and scales each kind by its count, and says
so in the table; ``--naive-monthly full`` runs all 41.

    .venv/bin/python bench/bench_reports.py [--root DIR] [--jobs 2] [--monthly] [--naive-monthly full]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from common import table

BIN = Path(sys.executable).parent
PERIOD = "2026-11"
WORK = Path(os.environ.get("KPI_BENCH_REPORTS", "/tmp/kpi-bench-reports"))
STORES = ["AMZ-US-01", "AMZ-US-02", "AMZ-DE-01", "SHP-MY-01", "TTS-US-01", "SFY-US-01"]


def ensure_project(root: Path) -> Path:
    """The private project root with the scale-1 demo warehouse (built once, reused)."""
    root.mkdir(parents=True, exist_ok=True)
    link = root / "templates"  # read only: a link keeps them current
    if not link.exists():
        link.symlink_to(ROOT / "templates")
    params = root / "parameters"  # a copy: anything run on this root (a widget's Save) must not edit the repo's
    if params.is_symlink():
        params.unlink()
    if not params.exists():
        shutil.copytree(ROOT / "parameters", params)
    if not (root / "data" / "warehouse" / "CURRENT").is_file():
        print(f"building the scale-1 demo warehouse in {root} (once) …", flush=True)
        subprocess.run([str(BIN / "kpi"), "demo", "--scale", "1", "--end", PERIOD, "--no-reports"],
                       env=dict(os.environ, KPI_ROOT=str(root)), cwd=root, check=True, capture_output=True)
    return root


def env_for(root: Path) -> dict[str, str]:
    env = dict(os.environ, KPI_ROOT=str(root), PYTHONPATH=str(ROOT))
    env.pop("KPI_WAREHOUSE", None)
    env.pop("KPI_BATCH_CACHE", None)
    return env


def write_batch(name: str, text: str) -> Path:
    WORK.mkdir(parents=True, exist_ok=True)
    p = WORK / f"{name}.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def run_ours(root: Path, batch: Path, jobs: int, *extra: str) -> dict:
    t = time.perf_counter()
    p = subprocess.run([str(BIN / "kpi"), "report", "--batch", str(batch), "--period", PERIOD, "--force",
                        "--jobs", str(jobs), "--json", *extra], env=env_for(root), cwd=root, capture_output=True,
                       text=True, check=False)
    secs = time.perf_counter() - t
    try:
        summary = json.loads(p.stdout[p.stdout.index("{"):])
    except ValueError as exc:
        raise SystemExit(f"kpi report failed:\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}") from exc
    if summary["failed"]:
        bad = [f"{r['report']}/{r['entity']}: {r['error']}" for r in summary["results"] if r["status"] == "failed"]
        raise SystemExit("kpi report: failed reports:\n" + "\n".join(bad))
    return {"seconds": secs, "n": summary["total"], "prepare": summary.get("prepare_seconds"),
            "sizes": [r["html_bytes"] for r in summary["results"]],
            "in_worker": [r["seconds"] for r in summary["results"]]}


def naive_jobs(root: Path, batch: Path) -> list[tuple[str, dict[str, Any]]]:
    """(template, parameters) of every report of a batch, as `kpi report` would plan them."""
    code = ("import json,sys\nfrom kpi_lib.reports import load_batch, plan\nfrom kpi_lib.warehouse import Warehouse\n"
            f"jobs = plan(load_batch({str(batch)!r}), {PERIOD!r}, Warehouse())\n"
            "print(json.dumps([[j.template, j.params, j.entity_kind] for j in jobs]))")
    p = subprocess.run([sys.executable, "-c", code], env=env_for(root), cwd=root, capture_output=True, text=True,
                       check=True)
    return [(t, prm) for t, prm, _ in json.loads(p.stdout.strip().splitlines()[-1])]


def run_naive(root: Path, jobs: list[tuple[str, dict[str, Any]]]) -> dict:
    out = WORK / "naive"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    env = env_for(root)
    per: list[float] = []
    t = time.perf_counter()
    for i, (tpl, params) in enumerate(jobs):
        nb = out / f"{i:02d}-{tpl}.ipynb"
        args = [a for k, v in params.items() for a in ("-p", k, str(v))]
        t1 = time.perf_counter()
        subprocess.run([str(BIN / "papermill"), str(root / "templates" / f"{tpl}.ipynb"), str(nb), *args,
                        "--cwd", str(root), "--no-progress-bar", "-k", "python3"], env=env, check=True,
                       capture_output=True)
        subprocess.run([str(BIN / "jupyter"), "nbconvert", "--to", "html", str(nb)], env=env, check=True,
                       capture_output=True)
        per.append(time.perf_counter() - t1)
    secs = time.perf_counter() - t
    return {"seconds": secs, "n": len(jobs), "per": per, "sizes": [f.stat().st_size for f in out.glob("*.html")]}


FLOOR = r"""
import json, pathlib, sys, tempfile, time
import nbformat
from kpi_lib import present as p, report_data as rd
jobs = json.loads(sys.argv[1])
memo = {}
orig = {n: getattr(rd, n) for n in dir(rd) if callable(getattr(rd, n)) and not n.startswith("_")
        and n not in ("context", "ReportContext", "Warehouse", "kpi_name", "kpi_unit", "change", "is_good",
                      "prior_periods", "catalog", "drivers", "scorecard_lines")
        and not isinstance(getattr(rd, n), type)
        and getattr(getattr(rd, n), "__module__", "") == "kpi_lib.report_data"}
def wrap(name, fn):
    def w(*a, **k):
        key = (name, repr(a[1:]), repr(sorted(k.items())), getattr(a[0], "entity_id", None) if a else None)
        if key not in memo:
            memo[key] = fn(*a, **k)
        return memo[key]
    return w
for n, fn in orig.items():
    setattr(rd, n, wrap(n, fn))
from kpi_lib import review as rv
for n in ("actions_frame", "review_data"):  # the data behind the review sections
    if hasattr(rv, n):
        setattr(rv, n, wrap("rv." + n, getattr(rv, n)))
from kpi_lib.present import charts as _charts
from kpi_lib.reports.html import page
shown = []
p.show = lambda html: shown.append(html)
out = pathlib.Path(tempfile.mkdtemp())
def run(tpl, params):
    nb = nbformat.read(f"templates/{tpl}.ipynb", 4)
    cells = [c.source for c in nb.cells if c.cell_type == "code"]
    ns = {}
    shown.clear()
    _charts.reset_ids()
    exec(cells[0], ns); ns.update(params)
    for c in cells[1:]:
        exec(c, ns)
    # the page as the runner writes it: every shown block in the page, written to a file
    (out / "page.html").write_text(page("".join(shown), params.get("language", "zh")), encoding="utf-8")
for tpl, params in jobs:   # first pass: compute and remember every data call
    run(tpl, params)
t = time.perf_counter()
for tpl, params in jobs:   # second pass: formatting only
    run(tpl, params)
print(json.dumps({"seconds": time.perf_counter() - t, "n": len(jobs)}))
"""


def run_floor(root: Path, jobs: list[tuple[str, dict[str, Any]]]) -> dict:
    p = subprocess.run([sys.executable, "-c", FLOOR, json.dumps(jobs)], env=env_for(root), cwd=root,
                       capture_output=True, text=True, check=False)
    if p.returncode:
        raise SystemExit(f"floor failed:\n{p.stderr[-3000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def row(name: str, r: dict, base: float | None, note: str = "") -> dict:
    n = r["n"]
    return {"run": name, "reports": n, "total s": f"{r['seconds']:.1f}", "s / report": f"{r['seconds'] / n:.2f}",
            "vs naive": f"{base / r['seconds']:.1f}x" if base else "1.0x" if base is None else "",
            "html mean MB": f"{statistics.mean(r['sizes']) / 1e6:.2f}" if r.get("sizes") else "-", "note": note}


SUMMARY_COLS = ["batch", "naive loop", "kpi report", "ratio", "--no-cache", "ratio (no cache)", "floor",
                "kpi report / floor", "in its worker", "worker / floor", "cache prepare s", "note"]


def summary_row(batch: str, naive: dict, ours: dict, plain: dict | None, floor: dict, note: str) -> dict:
    """One line of the one table: seconds per report of each run, and the ratios the goals are stated in."""
    per = lambda r: r["seconds"] / r["n"]
    return {"batch": batch, "naive loop": f"{per(naive):.2f}", "kpi report": f"{per(ours):.2f}",
            "ratio": f"{naive['seconds'] / ours['seconds']:.1f}x",
            "--no-cache": f"{per(plain):.2f}" if plain else "-",
            "ratio (no cache)": f"{naive['seconds'] / plain['seconds']:.1f}x" if plain else "-",
            "floor": f"{per(floor):.2f}", "kpi report / floor": f"{per(ours) / per(floor):.1f}x",
            # a report's own time in its worker (parameters, cells, page written), the batch's start-up,
            # cache and hand-offs excluded: the per-report figure the floor bounds
            "in its worker": f"{statistics.mean(ours['in_worker']):.3f}",
            "worker / floor": f"{statistics.mean(ours['in_worker']) / per(floor):.1f}x",
            "cache prepare s": str(ours.get("prepare")), "note": note}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", type=Path, default=ROOT / ".bench-root", help="private project root (scale-1 demo)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2, help="parallel workers for kpi report")
    ap.add_argument("--monthly", action="store_true", help="also the 41-report monthly batch")
    ap.add_argument("--naive-monthly", choices=["estimate", "full"], default="estimate")
    ap.add_argument("--no-dask", action="store_true", help="skip the Dask row")
    ap.add_argument("--monthly-no-cache", choices=["yes", "no"], default="yes",
                    help="also time the monthly batch with --no-cache (slow: every report queries the engine)")
    ap.add_argument("--only-monthly", action="store_true", help="skip the 6-store table (implies --monthly; the "
                                                                 "store_performance naive time is then timed once)")
    args = ap.parse_args()
    root = ensure_project(args.root.resolve())
    cols = ["run", "reports", "total s", "s / report", "vs naive", "html mean MB", "note"]
    naive = {"per": []}
    summary: list[dict] = []  # the one table: per batch, naive / ours / --no-cache / floor
    if not args.only_monthly:
        ids = ", ".join(STORES)
        stores = write_batch("stores6", f"name: stores6\nreports:\n  - {{template: store_performance, entities: stores, "
                                        f"ids: [{ids}]}}\n")
        jobs6 = naive_jobs(root, stores)
        naive = run_naive(root, jobs6)
        print(f"naive loop, 6 store reports: {naive['seconds']:.1f} s", flush=True)
        ours = run_ours(root, stores, args.jobs)
        plain = run_ours(root, stores, args.jobs, "--no-cache")
        kernel = run_ours(root, stores, args.jobs, "--engine", "kernel")
        floor = run_floor(root, jobs6)
        rows = [row("papermill + nbconvert, one after the other", naive, None),
                row(f"kpi report --jobs {args.jobs}", ours, naive["seconds"], f"cache prepared in {ours['prepare']} s"),
                row(f"kpi report --jobs {args.jobs} --no-cache", plain, naive["seconds"]),
                row(f"kpi report --jobs {args.jobs} --engine kernel", kernel, naive["seconds"],
                    f"cache prepared in {kernel['prepare']} s"),
                row("formatting floor (1 process, data from memory)", floor, naive["seconds"])]
        if not args.no_dask:
            dask_r = run_ours(root, stores, args.jobs, "--executor", "dask")
            rows.append(row(f"kpi report --executor dask ({args.jobs} local workers)", dask_r, naive["seconds"]))
        print(table(f"6 store reports, demo scale 1 ({os.cpu_count()} cores)", rows, cols))
        print(f"per report: kpi report {ours['seconds'] / ours['n']:.2f} s (wall, {args.jobs} workers) vs floor "
              f"{floor['seconds'] / floor['n']:.2f} s → {ours['seconds'] / ours['n'] / (floor['seconds'] / floor['n']):.1f}"
              "× the floor", flush=True)
        summary.append(summary_row("6 store reports", naive, ours, plain, floor, ""))
    if args.monthly or args.only_monthly:
        monthly = ROOT / "parameters" / "batches" / "monthly.yaml"
        jobs41 = naive_jobs(root, monthly)
        ours41 = run_ours(root, monthly, args.jobs)
        floor41 = run_floor(root, jobs41)
        if args.naive_monthly == "full":
            naive41 = run_naive(root, jobs41)
            note = "measured"
        else:  # one naive run per template kind (the 6 store reports above for store_performance), scaled
            by_tpl: dict[str, list[float]] = {"store_performance": naive["per"]} if naive["per"] else {}
            sample = []
            for tpl, params in jobs41:
                if tpl not in by_tpl and all(tpl != s[0] for s in sample):
                    sample.append((tpl, params))
            for (tpl, _), secs in zip(sample, run_naive(root, sample)["per"]):
                by_tpl[tpl] = [secs]
            est = sum(statistics.mean(by_tpl[tpl]) for tpl, _ in jobs41)
            naive41 = {"seconds": est, "n": len(jobs41), "sizes": []}
            note = f"estimated: each of {len(by_tpl)} templates timed, scaled by its count"
        plain41 = run_ours(root, monthly, args.jobs, "--no-cache") if args.monthly_no_cache == "yes" else None
        rows41 = [row("papermill + nbconvert, one after the other", naive41, None, note),
                  row(f"kpi report --jobs {args.jobs}", ours41, naive41["seconds"],
                      f"cache prepared in {ours41['prepare']} s")]
        if plain41:
            rows41.append(row(f"kpi report --jobs {args.jobs} --no-cache", plain41, naive41["seconds"]))
        rows41.append(row("formatting floor (1 process, data from memory)", floor41, naive41["seconds"]))
        print(table(f"monthly batch, demo scale 1 ({os.cpu_count()} cores)", rows41, cols))
        summary.append(summary_row(f"monthly batch ({len(jobs41)} reports)", naive41, ours41, plain41, floor41,
                                   "naive " + ("measured" if args.naive_monthly == "full" else "estimated")))
    if summary:
        load = os.getloadavg()
        print(table(f"reports, s / report (demo scale 1, {os.cpu_count()} cores, --jobs {args.jobs}, load average "
                    f"{load[0]:.1f} at the end)", summary, SUMMARY_COLS))


if __name__ == "__main__":
    main()
