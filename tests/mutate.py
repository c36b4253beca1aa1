"""Mutation testing per module (``make mutate [MODULES="tree formula"]``); not part of CI.

For each module of ``tests/mutation.yaml`` a scratch copy of the project is made under
``$KPI_MUTATE_DIR`` (default: the system temp dir), mutmut mutates only ``kpi_lib/<module>.py`` there
and runs only that module's test files against each mutant. The score per module is printed and
written to ``<scratch>/scores.json``; the surviving mutants are listed (``mutmut show NAME`` in the
module's scratch copy shows the diff).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
COPY = ("kpi_lib", "tests", "parameters", "templates", "notebooks", "pyproject.toml")
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis", "mutants")


def load_map() -> dict[str, list[str]]:
    return yaml.safe_load((ROOT / "tests" / "mutation.yaml").read_text(encoding="utf-8"))["modules"]


def scratch_copy(module: str, tests: list[str], base: Path) -> Path:
    work = base / module
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    for name in COPY:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, work / name, ignore=IGNORE)
        elif src.is_file():
            shutil.copy2(src, work / name)
    cfg = (
        "\n[tool.mutmut]\n"
        'source_paths = ["kpi_lib"]\n'
        f'only_mutate = ["kpi_lib/{module}.py"]\n'
        f"pytest_add_cli_args_test_selection = {json.dumps(tests)}\n"
        'pytest_add_cli_args = ["-p", "no:cacheprovider", "-q", "-x", "-p", "no:randomly"]\n'
        'also_copy = ["parameters", "templates", "notebooks"]\n'
    )
    with open(work / "pyproject.toml", "a", encoding="utf-8") as f:
        f.write(cfg)
    return work


def run_module(module: str, tests: list[str], base: Path, jobs: int) -> dict:
    work = scratch_copy(module, tests, base)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "KPI_ROOT", "KPI_WAREHOUSE", "KPI_REFERENCE")}
    env["KPI_HEADLESS"] = "1"
    mutmut = [sys.executable, "-m", "mutmut"]
    log = work / "mutmut.log"
    with open(log, "w", encoding="utf-8") as out:
        subprocess.run([*mutmut, "run", "--max-children", str(jobs)], cwd=work, env=env, stdout=out,
                       stderr=subprocess.STDOUT, check=False)
    res = subprocess.run([*mutmut, "results", "--all", "true"], cwd=work, env=env, capture_output=True, text=True,
                         check=False)
    counts: dict[str, int] = {}
    survivors: list[str] = []
    for line in res.stdout.splitlines():
        m = re.match(r"\s*(\S+): (.+)$", line)
        if not m:
            continue
        status = m.group(2).strip()
        counts[status] = counts.get(status, 0) + 1
        if status in ("survived", "no tests"):
            survivors.append(m.group(1))
    killed = counts.get("killed", 0) + counts.get("timeout", 0)
    judged = sum(v for k, v in counts.items() if k not in ("skipped", "not checked"))
    score = killed / judged if judged else float("nan")
    return {"module": module, "tests": tests, "counts": counts, "killed": killed, "judged": judged,
            "score": round(score, 4), "survivors": survivors, "scratch": str(work)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("modules", nargs="*", help="modules of tests/mutation.yaml (default: all)")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--dir", default=os.environ.get("KPI_MUTATE_DIR") or str(Path(tempfile.gettempdir()) / "kpi-mutate"))
    a = p.parse_args(argv)
    mapping = load_map()
    mods = a.modules or list(mapping)
    unknown = [m for m in mods if m not in mapping]
    if unknown:
        p.error(f"unknown module(s) {unknown}; tests/mutation.yaml has {sorted(mapping)}")
    base = Path(a.dir)
    base.mkdir(parents=True, exist_ok=True)
    scores = []
    for m in mods:
        r = run_module(m, mapping[m], base, a.jobs)
        scores.append(r)
        print(f"{m:12s} {r['killed']:4d}/{r['judged']:<4d} killed  score {r['score']:.1%}  {r['counts']}", flush=True)
        for s in r["survivors"]:
            print(f"    survived: {s}")
    (base / "scores.json").write_text(json.dumps(scores, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
