"""`make bench`: every benchmark, each printing its table (ours, baseline, ratio, side by side)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCALE = os.environ.get("BENCH_SCALE", "30")

steps = [
    [sys.executable, str(HERE / "bench_ingest.py"), "--scale", SCALE, "--keep"],
    [sys.executable, str(HERE / "bench_metrics.py"), "--warehouse", "/tmp/kpi-bench-ingest/warehouse"],
    # reports: demo scale 1 in .bench-root (built once): 6 store reports and the 41-report monthly batch
    [sys.executable, str(HERE / "bench_reports.py"), "--monthly"],
]
# ingest at scale 5 as well as BENCH_SCALE (issue 15: the floor ratio at 5 and at 30)
if SCALE != "5":
    steps.insert(0, [sys.executable, str(HERE / "bench_ingest.py"), "--scale", "5", "--dir", "/tmp/kpi-bench-ingest-5"])
summary = Path(tempfile.mkstemp(prefix="kpi-bench-", suffix=".jsonl")[1])
env = {**os.environ, "KPI_BENCH_SUMMARY": str(summary)}
failed = 0
t0 = time.perf_counter()
for cmd in steps:
    if not Path(cmd[1]).is_file():
        print(f"(missing {cmd[1]})")
        continue
    print(f"\n$ {' '.join(cmd[1:])}", flush=True)
    failed += subprocess.run(cmd, cwd=HERE, env=env, check=False).returncode != 0
# every table of this run, one after the other, so the run reads side by side in one place
print(f"\n## make bench: every table of this run ({time.perf_counter() - t0:.0f} s, {os.cpu_count()} cores)\n")
for line in summary.read_text(encoding="utf-8").splitlines():
    print(json.loads(line)["text"] + "\n")
summary.unlink()
sys.exit(1 if failed else 0)
