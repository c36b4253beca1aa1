"""`make bench`: every benchmark, each printing its table (ours, baseline, ratio, side by side)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCALE = os.environ.get("BENCH_SCALE", "30")

steps = [
    [sys.executable, str(HERE / "bench_ingest.py"), "--scale", SCALE, "--keep"],
    [sys.executable, str(HERE / "bench_metrics.py"), "--warehouse", "/tmp/kpi-bench-ingest/warehouse"],
    # reports: demo scale 1 in .bench-root (built once): 6 store reports and the 41-report monthly batch
    [sys.executable, str(HERE / "bench_reports.py"), "--monthly"],
]
failed = 0
for cmd in steps:
    if not Path(cmd[1]).is_file():
        print(f"(missing {cmd[1]})")
        continue
    print(f"\n$ {' '.join(cmd[1:])}", flush=True)
    failed += subprocess.run(cmd, cwd=HERE).returncode != 0
sys.exit(1 if failed else 0)
