"""Shared benchmark plumbing: run a command in a child process, measure wall time and peak RSS."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable

_WRAP = r"""
import json, resource, subprocess, sys, time
t = time.perf_counter()
p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
dt = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps({"seconds": dt, "peak_mb": peak, "rc": p.returncode, "stderr": p.stderr[-2000:]}))
"""


def measure(cmd: list[str], env: dict | None = None) -> dict:
    """Wall seconds and peak resident memory (MB, largest process of the command tree)."""
    e = dict(os.environ)
    if env:
        e.update(env)
    out = subprocess.run([PY, "-c", _WRAP, *cmd], capture_output=True, text=True, env=e, check=True)
    res = json.loads(out.stdout.strip().splitlines()[-1])
    if res["rc"] != 0:
        raise SystemExit(f"benchmark command failed ({res['rc']}): {' '.join(cmd)}\n{res['stderr']}")
    return res


def table(title: str, rows: list[dict], cols: list[str]) -> str:
    """A plain-text table (markdown-compatible) for notes and terminals."""
    widths = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in cols}
    line = "| " + " | ".join(c.ljust(widths[c]) for c in cols) + " |"
    sep = "|" + "|".join("-" * (widths[c] + 2) for c in cols) + "|"
    body = ["| " + " | ".join(str(r.get(c, "")).ljust(widths[c]) for c in cols) + " |" for r in rows]
    text = "\n".join([f"### {title}", line, sep, *body])
    if os.environ.get("KPI_BENCH_SUMMARY"):  # `make bench` (run_all.py) collects every table of the run
        with open(os.environ["KPI_BENCH_SUMMARY"], "a", encoding="utf-8") as f:
            f.write(json.dumps({"text": text}) + "\n")
    return text


def now() -> float:
    return time.perf_counter()
