"""Warm Jupyter kernels: :class:`KernelWorker` (one kernel executing successive notebooks) and
:class:`KernelPool` (N threads, each owning one kernel for its whole life).

A kernel is started once with kpi_lib imported (:data:`WARMUP`); papermill injects the parameters,
nbclient executes cells on the existing kernel client, ``%reset -f`` clears the namespace between
runs while module-level caches keyed by warehouse snapshot survive. The CPU work happens in the
kernel processes; the threads only drive them.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import contextlib
import json
import logging
import queue
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient

from ..kernel_client import PATIENT_CLIENT
from ..prelaunch import Launched, take
from ..report_data import BATCH_CACHE_ENV, FIGURES_MIME
from .html import HtmlConverter

log = logging.getLogger(__name__)
WARMUP = """
import warnings
warnings.filterwarnings("ignore")
import numpy, pandas, plotly.graph_objects
import kpi_lib.present, kpi_lib.report_data, kpi_lib.review, kpi_lib.metrics, kpi_lib.tree, kpi_lib.targets
import kpi_lib.alerts, kpi_lib.costs, kpi_lib.scorecard, kpi_lib.settlement, kpi_lib.actions
try:  # the KPI catalog every report reads first (cached per file version; a broken file is the report's error)
    kpi_lib.report_data.catalog()
except Exception:
    pass
try:  # plotly loads its validators and the chart theme on first use: here, not in the first report
    _go = plotly.graph_objects
    kpi_lib.present.charts.style_figure(_go.Figure([_go.Scatter(x=[1], y=[1]), _go.Bar(x=[1], y=[1]),
                                                    _go.Waterfall(x=["a"], y=[1])]), "t", y_title="y",
                                        x_title="x").to_json()
    del _go
except Exception:
    pass
# what the warm-up loaded lives as long as the worker: out of the collector's sight, so the collection every
# namespace reset runs (IPython's %reset calls gc.collect) scans a report's own objects only (≈150 → 1 ms)
import gc
gc.freeze()
del gc
"""


RESET = ("get_ipython().run_line_magic('reset', '-f')\n"
         "import kpi_lib.present.charts as _kpi_charts\n_kpi_charts.reset_ids()\ndel _kpi_charts")


class KernelWorker:
    """One warm kernel executing successive notebooks (its own asyncio loop; used from one thread)."""

    def __init__(self, cwd: Path, env: dict[str, str], startup_timeout: float = 120,
                 launched: Launched | None = None) -> None:
        """``launched``: a kernel process already started (kpi_lib.prelaunch) with ``env`` minus the batch
        cache variable; :meth:`start` adopts it instead of starting one."""
        self.cwd, self.env, self.startup_timeout = cwd, env, startup_timeout
        self.loop = launched.loop if launched is not None else asyncio.new_event_loop()
        self.km: Any = launched.km if launched is not None else None
        self.kc: Any = None
        self.converter = HtmlConverter()

    def _run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def start(self) -> None:
        self._run(self._start())

    async def _start(self) -> None:
        if self.km is None:  # else adopted: launched ahead (kpi_lib.prelaunch)
            self.km = AsyncKernelManager(kernel_name="python3", client_class=PATIENT_CLIENT)
            # kernel stdout/stderr (banner, TCP warning) are not for report readers; errors reach us as messages
            await self.km.start_kernel(cwd=str(self.cwd), env=self.env, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)
        self.kc = self.km.client()
        self.kc.start_channels()
        await self.kc.wait_for_ready(timeout=self.startup_timeout)
        cache = self.env.get(BATCH_CACHE_ENV)  # a launched kernel was started before the cache had a path
        await self._exec_silent(WARMUP + "import os\n" + (f"os.environ[{BATCH_CACHE_ENV!r}] = {cache!r}\n" if cache
                                                          else f"os.environ.pop({BATCH_CACHE_ENV!r}, None)\n"),
                                timeout=self.startup_timeout)

    async def _exec_silent(self, code: str, timeout: float) -> None:
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
        client = NotebookClient(nb, km=self.km, timeout=timeout, allow_errors=False)
        client.kc = self.kc
        client.reset_execution_trackers()
        await client.async_execute_cell(nb.cells[0], 0)

    def stop(self) -> None:
        try:
            if self.kc is not None:
                self.kc.stop_channels()
            if self.km is not None:
                self._run(self.km.shutdown_kernel(now=True))
        finally:
            self.loop.close()

    def restart(self) -> None:
        try:
            if self.kc is not None:
                self.kc.stop_channels()
            if self.km is not None:
                self._run(self.km.shutdown_kernel(now=True))
        except Exception as exc:  # noqa: BLE001 - a dead kernel may fail to shut down; we start a new one anyway
            log.debug("kernel shutdown before restart failed: %s", exc)
        self.km = self.kc = None
        self.start()

    def execute(self, nb: nbformat.NotebookNode, timeout: float) -> None:
        """Run every cell of ``nb`` in place on the warm kernel; raises on the first error or timeout."""
        t0 = time.perf_counter()
        try:
            self._run(asyncio.wait_for(self._execute(nb, timeout), timeout))
        except Exception as exc:
            # nbclient turns the deadline's cancellation into DeadKernelError: report it as a timeout
            if time.perf_counter() - t0 >= timeout * 0.99 and not getattr(exc, "ename", None):
                raise TimeoutError(f"timeout after {timeout:g} s") from exc
            raise

    def figures(self) -> list[dict[str, Any]] | None:
        """The figures the report just executed recorded (kpi_lib.report_data), None when it built no
        report context. Read from the kernel as one display output of type FIGURES_MIME."""

        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
            "import kpi_lib.report_data as _kpi_rd\n_kpi_rd.publish_figures()")])
        self._run(self._exec_cell(nb, timeout=60))
        for out in nb.cells[0].get("outputs", []):
            data = out.get("data", {})
            if FIGURES_MIME in data:
                figs = data[FIGURES_MIME]
                return json.loads(figs) if isinstance(figs, str) else list(figs)
        return None

    async def _exec_cell(self, nb: nbformat.NotebookNode, timeout: float) -> None:
        client = NotebookClient(nb, km=self.km, timeout=timeout, allow_errors=False)
        client.kc = self.kc
        client.reset_execution_trackers()
        await client.async_execute_cell(nb.cells[0], 0)

    async def _execute(self, nb: nbformat.NotebookNode, timeout: float) -> None:
        await self._exec_silent(RESET, timeout=60)
        # the per-run deadline is enforced by execute(); the cell timeout is only a backstop
        client = NotebookClient(nb, km=self.km, timeout=timeout + 30, allow_errors=False,
                                resources={"metadata": {"path": str(self.cwd)}})
        client.kc = self.kc
        client.reset_execution_trackers()
        for i, cell in enumerate(nb.cells):
            await client.async_execute_cell(cell, i)


class ThreadedPool:
    """N threads, each owning one worker for its whole life: :meth:`submit` queues ``fn(worker, *args)``,
    a thread's ``_loop(index)`` takes the queued calls from :meth:`_calls` until :meth:`close`."""

    def _start_threads(self, size: int) -> None:
        self._queue: queue.Queue = queue.Queue()
        self._threads = [threading.Thread(target=self._loop, args=(i,), name=f"kpi-report-{i}", daemon=True)
                         for i in range(size)]
        for t in self._threads:
            t.start()

    def _loop(self, index: int) -> None:
        raise NotImplementedError

    def _calls(self) -> Iterator[tuple[cf.Future, Any, tuple]]:
        """The queued calls not cancelled, until :meth:`close`."""
        while True:
            item = self._queue.get()
            if item is None:
                return
            if item[0].set_running_or_notify_cancel():
                yield item

    def submit(self, fn: Any, *args: Any) -> cf.Future:
        """``fn(worker, *args)`` on the next free worker."""
        fut: cf.Future = cf.Future()
        self._queue.put((fut, fn, args))
        return fut

    def close(self) -> None:
        """Let every thread finish its call, stop its worker and end."""
        for _ in self._threads:
            self._queue.put(None)
        for t in self._threads:
            t.join()


class KernelPool(ThreadedPool):
    """N threads, each owning one warm kernel for its whole life (started on its first job, stopped by
    the same thread at :meth:`close`, so every asyncio call stays on the loop that created it)."""

    def __init__(self, size: int, cwd: Path, env: dict[str, str], prestart: bool = False,
                 launched: list[Launched] | None = None) -> None:
        """``prestart``: every thread starts its kernel at once (while the caller prepares the batch
        cache), instead of on its first job. ``launched``: kernel processes started ahead
        (kpi_lib.prelaunch) that threads adopt when they were started with ``env`` (minus the batch
        cache variable) in ``cwd``; the caller stops those left over."""
        self.size, self.cwd, self.env, self.prestart = size, cwd, env, prestart
        self._launched = launched
        base = {k: v for k, v in env.items() if k != BATCH_CACHE_ENV}
        self._adopt = [take(launched, base, cwd) for _ in range(size)] if launched else []
        self._start_threads(size)

    def _loop(self, index: int) -> None:
        worker: KernelWorker | None = None
        launched = self._adopt[index] if index < len(self._adopt) else None
        try:
            if self.prestart or launched is not None:
                worker = KernelWorker(self.cwd, self.env, launched=launched)
                try:
                    worker.start()
                except Exception as exc:  # noqa: BLE001 - the first job starts it again and reports the error
                    log.warning("a report kernel did not start ahead of its first job: %s", exc)
                    with contextlib.suppress(Exception):
                        worker.stop()
                    worker = None
            for fut, fn, args in self._calls():
                try:
                    if worker is None:
                        worker = KernelWorker(self.cwd, self.env)
                        worker.start()
                    fut.set_result(fn(worker, *args))
                except BaseException as exc:  # noqa: BLE001 - handed to the caller through the future
                    fut.set_exception(exc)
        finally:
            if worker is not None:
                try:
                    worker.stop()
                except Exception as exc:  # noqa: BLE001 - best effort at shutdown; the kernel is our child process
                    log.warning("could not stop a report kernel: %s", exc)
