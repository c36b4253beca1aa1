"""Kernels started ahead of `kpi report` (kpi_lib.prelaunch) are adopted by the batch they were started for.

The runner's imports add variables to ``os.environ`` (pandera sets SPARK_LOCAL_IP and PYARROW_IGNORE_TIMEZONE)
between the launch and the batch. Strict equality of the two environments turned every launched kernel away:
each batch shut them down and started two more (measured: four kernel processes for --jobs 2).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from kpi_lib.prelaunch import Launched, kernel_env, same_start, take


class _Km:
    def __init__(self) -> None:
        self.stopped = False

    async def shutdown_kernel(self, now: bool = False) -> None:
        self.stopped = True


def _launched(env: dict[str, str], cwd: Path) -> Launched:
    return Launched(_Km(), asyncio.new_event_loop(), env, str(cwd))


def test_a_kernel_started_before_the_runners_imports_is_adopted(tmp_path, monkeypatch):
    monkeypatch.delenv("SPARK_LOCAL_IP", raising=False)
    monkeypatch.delenv("PYARROW_IGNORE_TIMEZONE", raising=False)
    monkeypatch.setenv("KPI_ROOT", str(tmp_path))
    before = kernel_env(tmp_path / "warehouse")
    monkeypatch.setenv("SPARK_LOCAL_IP", "127.0.0.1")  # what importing pandera does to os.environ
    monkeypatch.setenv("PYARROW_IGNORE_TIMEZONE", "1")
    after = kernel_env(tmp_path / "warehouse")
    assert before != after and same_start(before, after)
    launched = [_launched(before, tmp_path)]
    item = take(launched, after, tmp_path)
    assert item is not None and not item.km.stopped and launched == []


def test_a_kernel_started_for_another_warehouse_or_folder_is_shut_down(tmp_path, monkeypatch):
    monkeypatch.setenv("KPI_ROOT", str(tmp_path))
    env = kernel_env(tmp_path / "warehouse")
    other = kernel_env(tmp_path / "other")
    assert not same_start(env, other)
    gone = dict(env)
    gone.pop("KPI_WAREHOUSE")
    assert not same_start(env, gone)  # a variable it was started with is gone
    for launched_env, cwd in ((env, tmp_path / "elsewhere"), (other, tmp_path)):
        item = _launched(launched_env, cwd)
        assert take([item], env, tmp_path) is None and item.km.stopped
