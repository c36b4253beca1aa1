"""Running a batch: render each job on a warm worker (an IPython shell in a worker process by default, or
a Jupyter kernel; threads here drive them), or one task per report on a Dask cluster; write
the page atomically, record every run in ``outputs/<period>/manifest.json``.

    outputs/<period>/<report>/<entity>.html          self-contained page (no code, no CDN)
    outputs/<period>/<report>/<entity>.figures.json  every figure the page shows, as data
    outputs/<period>/<report>/<entity>.ipynb         the executed notebook (kept for debugging failures)
    outputs/<period>/manifest.json                   parameters, status, durations, snapshot hash per job
    outputs/index.html (+ index.en.html)             the reader's index (kpi_lib.reports.index)

Compute once: :func:`kpi_lib.report_data.prepare_batch_stages` computes what the batch's reports need
over all their entities in a few set-based queries and writes it as Parquet under
``outputs/<period>/.batch-cache/``; kernels get its path in ``KPI_BATCH_CACHE`` and the report_data
functions read their slice from it (the templates' calls are unchanged). The kernels start while the
first stage (KPI tables, freshness) is written; a report is queued as soon as the stage its template
needs (:data:`TEMPLATE_NEEDS`) is written, so kernels render while the later stages (actions, costs,
scorecards) are computed (with Dask, tasks start once all are written). ``cache=False`` renders without
it (each report queries the warehouse), with the same figures.

Failure isolation: a failing job is recorded with its error (and its executed notebook kept); the
others continue. A run exceeding ``timeout`` seconds is interrupted and its kernel restarted. Every
output is written to a temporary file and renamed, so a killed kernel or Dask worker never leaves a
half-written page; with ``executor="dask"`` a report whose worker died is retried on another worker
(``retries``) and otherwise recorded as failed with the reason.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures as cf
import contextlib
import datetime as dt
import json
import os
import re
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from papermill.parameterize import parameterize_notebook
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from .. import paths
from ..errors import KpiError, RenderError
from ..executors import make_executor
from ..prelaunch import Launched, ShellProcess, kernel_env, stop_all
from ..report_data import BATCH_CACHE_ENV, BATCH_STAGES, entity_name, prepare_batch_stages
from ..warehouse import Warehouse
from .html import page, plotly_js
from .index import write_index
from .kernels import KernelPool, KernelWorker
from .plan import LANG_PARAM, Job, latest_period, load_batch, plan, template_path, write_atomic
from .shells import ShellPool, set_task_env


@dataclass
class Result:
    report: str
    entity: str
    entity_kind: str
    template: str
    params: dict[str, Any]
    status: str  # ok | failed | skipped
    seconds: float = 0.0
    error: str = ""
    html: str = ""
    ipynb: str = ""
    html_bytes: int = 0
    figures: str = ""
    n_figures: int = 0
    key: str = ""
    snapshot: str = ""
    names: dict[str, str] = field(default_factory=dict)  # {"zh": …, "en": …} display names for the index
    status_counts: dict[str, int] = field(default_factory=dict)  # KPI statuses of the subject in the period
    finished_at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))


def _error_text(exc: BaseException) -> str:
    ename = getattr(exc, "ename", None)
    if ename:
        return f"{ename}: {getattr(exc, 'evalue', '')}".strip()
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return "timeout"
    return f"{type(exc).__name__}: {exc}".strip()


#: what each template's report_data calls can be answered from when the batch computes it once
#: (kpi_lib.report_data.prepare_batch); a template not listed reads only the KPI tables and freshness
TEMPLATE_NEEDS: dict[str, tuple[str, ...]] = {
    "cost_diagnostic": ("costs",),  # waterfall, basis bridge, margin moves, unit economics
    "store_performance": ("actions",),  # the actions section's before/after values
    "scorecard": ("actions", "scorecards"),
    "team_review": ("actions",),
    "contract_settlement": ("contracts",),  # the statement's GMV window (one engine query per contract)
}


def batch_needs(jobs: list[Job]) -> dict[tuple[str, str], set[str]]:
    """{(entity_kind, entity): what to precompute} for the batch's jobs (see :data:`TEMPLATE_NEEDS`)."""
    out: dict[tuple[str, str], set[str]] = {}
    for j in jobs:
        out.setdefault((j.entity_kind, j.entity), set()).update(TEMPLATE_NEEDS.get(j.template, ()))
    return out


def _rel(path: Path) -> str:
    return str(path.relative_to(paths.outputs_dir()))


def _failed(job: Job, snapshot: str, error: str = "") -> Result:
    """A failed run of ``job`` (its files' paths relative to outputs/)."""
    return Result(job.report, job.entity, job.entity_kind, job.template, job.params, "failed", error=error,
                  key=job.key, snapshot=snapshot, html=_rel(job.html), ipynb=_rel(job.ipynb))


def _lost(job: Job, snapshot: str, error: str) -> Result:
    """A run whose worker or task was lost: its page and figures are removed (written atomically, they
    can only be an earlier run's, which must not stand beside this failure)."""
    for p in (job.html, job.figures):
        p.unlink(missing_ok=True)
    return _failed(job, snapshot, error)


def render_job(worker: KernelWorker, job: Job, timeout: float, snapshot: str, bundle: bool) -> Result:
    """Parameterize, execute on the warm kernel, convert; never raises (failures become a Result)."""
    t0 = time.perf_counter()
    res = _failed(job, snapshot)
    nb = nbformat.read(template_path(job.template), as_version=4)
    for cell in nb.cells:  # papermill expects every cell to carry a tags list
        cell.metadata.setdefault("tags", [])
    nb.metadata.setdefault("papermill", {})
    try:
        nb = parameterize_notebook(nb, job.params, kernel_name="python3", language="python")
        worker.execute(nb, timeout)
        figures = worker.figures()
        body = worker.converter.body(nb)
        html = page(body, str(job.params.get(LANG_PARAM, "zh")), "../plotly.min.js" if bundle else None)
        write_atomic(job.html, html)
        if figures is not None:
            write_atomic(job.figures, json.dumps(figures, ensure_ascii=False, indent=1, allow_nan=False))
            res.figures, res.n_figures = _rel(job.figures), len(figures)
        else:
            job.figures.unlink(missing_ok=True)
        res.status, res.html_bytes = "ok", len(html.encode("utf-8"))
    except BaseException as exc:
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        res.error = _error_text(exc)
        if res.error == "timeout":
            res.error = f"timeout after {timeout:g} s"
        job.html.unlink(missing_ok=True)
        job.figures.unlink(missing_ok=True)
        if res.error.startswith(("timeout", "DeadKernelError")) or "Kernel died" in res.error:
            worker.restart()
    finally:
        write_atomic(job.ipynb, nbformat.writes(nb))
        res.seconds = round(time.perf_counter() - t0, 3)
    return res


def _manifest_path(period: str) -> Path:
    return paths.outputs_dir() / period / "manifest.json"


def read_manifest(period: str) -> dict:
    """outputs/<period>/manifest.json as a dict ({} when absent or unreadable)."""
    p = _manifest_path(period)
    if p.is_file():
        try:
            return json.loads(p.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            return {}
    return {}


# ---- Dask: one report per task -------------------------------------------------------------------
@dataclass(frozen=True)
class RenderTask:
    """One report as a picklable work unit for :mod:`kpi_lib.executors` (paths every worker sees)."""

    job: Job
    timeout: float
    snapshot: str
    bundle: bool
    env: dict[str, str]
    cwd: str


_PROCESS_WORKERS: dict[int, KernelWorker] = {}


def _stop_process_workers() -> None:
    for w in list(_PROCESS_WORKERS.values()):
        with contextlib.suppress(Exception):
            w.stop()
    _PROCESS_WORKERS.clear()


def render_task(task: RenderTask) -> Result:
    """Render one report in this (worker) process on a warm kernel kept per worker thread."""
    set_task_env(task.env)
    key = threading.get_ident()
    worker = _PROCESS_WORKERS.get(key)
    if worker is None or worker.env != task.env:
        if worker is not None:
            with contextlib.suppress(Exception):
                worker.stop()
        if not _PROCESS_WORKERS:
            atexit.register(_stop_process_workers)
        worker = KernelWorker(Path(task.cwd), task.env)
        worker.start()
        _PROCESS_WORKERS[key] = worker
    return render_job(worker, task.job, task.timeout, task.snapshot, task.bundle)


# ---- a batch ---------------------------------------------------------------------------------------
def run_batch(batch: str | Path | None = None, period: str | None = None, jobs: int | None = None,
              only: str | None = None, force: bool = False, bundle: bool = False, console: Any = None,
              timeout: float | None = None, language: str | None = None,
              warehouse: Warehouse | str | Path | None = None, cache: bool = True,
              executor: str = "local", scheduler: str | None = None, retries: int = 1,
              launched: list[Launched] | None = None, engine: str = "shell",
              shells: list[ShellProcess] | None = None) -> dict:
    """Render a batch; returns a summary (counts, seconds, index path, results). Never raises for a
    failing report (see ``failed``); raises RenderError for an invalid batch or parameters.

    ``cache``: compute the batch's figures once, set-based, before the kernels start (see the module
    docstring). ``executor``: "local" (warm kernels on threads here, ``jobs`` of them) or "dask" (one
    task per report on the cluster at ``scheduler``, or a LocalCluster of ``jobs`` worker processes);
    ``retries``: Dask re-runs of a report whose task failed. ``engine`` (local executor): "shell" (default:
    worker processes each running the templates in an IPython shell and writing the page,
    :mod:`kpi_lib.reports.shells`) or "kernel" (warm Jupyter kernels driven by threads here); Dask tasks
    use kernels.
    ``launched`` / ``shells``: kernel processes / shell workers the caller started ahead
    (:func:`kpi_lib.prelaunch.launch_kernels` / :func:`kpi_lib.prelaunch.launch_shells` with
    :func:`kpi_lib.prelaunch.kernel_env`); the local pool adopts those started with this run's
    environment, and the rest are stopped.
    """
    try:
        return _run_batch(batch, period, jobs, only, force, bundle, console, timeout, language, warehouse, cache,
                          executor, scheduler, retries, launched, engine, shells)
    finally:
        if launched:
            stop_all(launched)
        if shells:
            stop_all(shells)


def _run_batch(batch: str | Path | None, period: str | None, jobs: int | None, only: str | None, force: bool,
               bundle: bool, console: Any, timeout: float | None, language: str | None,
               warehouse: Warehouse | str | Path | None, cache: bool, executor: str, scheduler: str | None,
               retries: int, launched: list[Launched] | None, engine: str = "shell",
               shells: list[ShellProcess] | None = None) -> dict:
    t0 = time.perf_counter()
    b = load_batch(batch)
    wh = warehouse if isinstance(warehouse, Warehouse) else Warehouse(warehouse)
    if not wh.exists():
        raise RenderError(f"no warehouse at {wh.path}: run `kpi ingest` and `kpi compute` first")
    if executor not in ("local", "dask"):
        raise RenderError(f"--executor must be 'local' or 'dask', got {executor!r}")
    if engine not in ("shell", "kernel"):
        raise RenderError(f"--engine must be 'shell' or 'kernel', got {engine!r}")
    period = period or b.period or latest_period(wh)
    if not re.match(r"^\d{4}-(0[1-9]|1[0-2])$", period):
        raise RenderError(f"--period must be 'YYYY-MM', got {period!r}")
    todo_all = plan(b, period, wh, only=only, bundle=bundle, language=language)
    snapshot = wh.snapshot_hash()
    previous = read_manifest(period).get("runs", {})
    results: list[Result] = []
    todo: list[Job] = []
    for job in todo_all:
        prev = previous.get(job.label)
        if (not force and prev and prev.get("status") == "ok" and prev.get("key") == job.key
                and job.html.is_file()):
            results.append(Result(**{**prev, "status": "skipped"}))
        else:
            todo.append(job)
    out_dir = paths.outputs_dir() / period
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.rglob(".*.tmp"):  # a temp file of a kernel or worker killed in an earlier run
        stale.unlink(missing_ok=True)
    if bundle:
        js = out_dir / "plotly.min.js"
        if not js.is_file() or js.stat().st_size != len(plotly_js().encode()):
            write_atomic(js, plotly_js())
    timings: dict[str, float] = {}
    if todo:
        env = kernel_env(wh.path)
        env.pop(BATCH_CACHE_ENV, None)
        cache_dir = out_dir / ".batch-cache"
        if cache:
            env[BATCH_CACHE_ENV] = str(cache_dir.resolve())
        per_run = timeout or b.timeout
        n = max(1, min(jobs or os.cpu_count() or 1, len(todo)))
        # local workers start while the batch cache is prepared (they read it only when a job runs)
        pool: KernelPool | ShellPool | None = None
        if executor == "local":
            pool = (ShellPool(n, paths.root(), env, launched=shells, deadline=per_run + 60) if engine == "shell"
                    else KernelPool(n, paths.root(), env, prestart=True, launched=launched))
        try:
            stages = None
            if cache:
                tc = time.perf_counter()
                stages = _timed(prepare_batch_stages([(j.entity_kind, j.entity) for j in todo], period, cache_dir,
                                                     warehouse=wh, needs=batch_needs(todo)), timings, tc)
                if pool is None:  # Dask tasks start once everything is prepared
                    for _ in stages:
                        pass
                    stages = None
                else:  # local kernels: a report starts as soon as the stage it needs is written
                    next(stages)
            tr = time.perf_counter()
            if pool is None:
                results += _run_dask(todo, per_run, snapshot, bundle, env, scheduler, n, retries, console, period)
            else:
                results += _run_local(pool, todo, per_run, snapshot, bundle, console, period, stages)
            timings["render_seconds"] = round(time.perf_counter() - tr, 3)
        finally:
            if pool is not None:
                pool.close()
            if cache:
                shutil.rmtree(cache_dir, ignore_errors=True)
    _describe([r for r in results if r.status != "skipped"], period, wh)
    order = {j.label: i for i, j in enumerate(todo_all)}
    results.sort(key=lambda r: order.get(f"{r.report}/{r.entity}", 0))
    runs = dict(previous)
    runs.update({f"{r.report}/{r.entity}": asdict(r) for r in results if r.status != "skipped"})
    manifest = {
        "period": period, "batch": b.name, "snapshot": snapshot, "warehouse_snapshot_id": wh.current_id(),
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "bundle": bundle,
        "executor": executor, "cache": cache, **timings, "runs": runs,
    }
    write_atomic(_manifest_path(period), json.dumps(manifest, ensure_ascii=False, indent=2, default=str))
    index = write_index()
    summary = {
        "period": period, "total": len(results), "ok": sum(r.status == "ok" for r in results),
        "skipped": sum(r.status == "skipped" for r in results),
        "failed": sum(r.status == "failed" for r in results), "seconds": round(time.perf_counter() - t0, 2),
        "index": str(index), "manifest": str(_manifest_path(period)), "snapshot": snapshot, **timings,
        "results": [asdict(r) for r in results],
    }
    if console is not None:
        _print_summary(console, summary)
    return summary


def _describe(results: list[Result], period: str, wh: Warehouse) -> None:
    """Names (zh, en) and KPI status counts of each rendered subject, for the reader's index."""
    st = wh.read("kpi_status", where=f"period = '{period}'") if wh.has("kpi_status") else None
    counts: dict[tuple[str, str], dict[str, int]] = {}
    if st is not None and len(st):
        eid = st["entity_id"].fillna("").astype(str)
        for (k, e, s), n in st.groupby([st["entity_kind"], eid, st["status"]]).size().items():
            counts.setdefault((str(k), str(e)), {})[str(s)] = int(n)
    for r in results:
        eid = "" if r.entity_kind == "company" else r.entity
        try:
            r.names = {lang: entity_name(wh, r.entity_kind, eid, lang) or r.entity for lang in ("zh", "en")}
        except KpiError:
            r.names = {}
        r.status_counts = counts.get((r.entity_kind, eid), {})


def _timed(stages: Iterator[str], timings: dict[str, float], t0: float) -> Iterator[str]:
    """The batch cache's stages; ``timings["prepare_seconds"]`` once the last is written."""
    yield from stages
    timings["prepare_seconds"] = round(time.perf_counter() - t0, 3)


def _run_local(pool: KernelPool | ShellPool, todo: list[Job], per_run: float, snapshot: str, bundle: bool, console: Any,
               period: str, stages: Iterator[str] | None = None) -> list[Result]:
    """Render ``todo`` on the pool. With ``stages`` (the batch cache's remaining stages, the first one
    written), a job is queued as soon as what its template needs (:data:`TEMPLATE_NEEDS`) is ready, so
    the kernels render while this process prepares the rest."""
    results: list[Result] = []
    progress = _progress(console)
    with progress:
        task = progress.add_task(f"reports {period}", total=len(todo)) if progress else None
        futs: dict[cf.Future, Job] = {}
        waiting = list(todo)

        def submit(ready: set[str] | None) -> None:
            for j in [j for j in waiting if ready is None or set(TEMPLATE_NEEDS.get(j.template, ())) <= ready]:
                futs[pool.submit(render_job, j, per_run, snapshot, bundle)] = j
                waiting.remove(j)

        if stages is not None:
            ready: set[str] = set()
            submit(ready)
            for stage in stages:
                ready.update(BATCH_STAGES[stage])
                submit(ready)
        submit(None)
        for f in cf.as_completed(futs):
            try:
                r = f.result()
            except Exception as exc:  # noqa: BLE001 - a worker process died under the report: it fails alone
                r = _lost(futs[f], snapshot, f"report worker failed: {_error_text(exc)}")
            results.append(r)
            if progress is not None and task is not None:
                progress.update(task, advance=1, description=f"{r.status:>6} {r.report}/{r.entity}")
    return results


def _run_dask(todo: list[Job], per_run: float, snapshot: str, bundle: bool, env: dict[str, str],
              scheduler: str | None, n: int, retries: int, console: Any, period: str) -> list[Result]:
    tasks = [RenderTask(j, per_run, snapshot, bundle, env, str(paths.root().resolve())) for j in todo]
    if console is not None:
        console.print(f"[dim]reports {period}: {len(tasks)} task(s) on "
                      f"{escape(scheduler or f'a local Dask cluster of {n} worker processes')}[/]")
    ex = make_executor("dask", scheduler, n_workers=n)
    try:
        outcomes = ex.map(render_task, tasks, retries=retries)
    finally:
        ex.close()
    # a task that itself failed (e.g. its worker was killed on every try) leaves nothing half-written
    return [o.value if o.ok else _lost(task.job, snapshot, f"task failed after {retries + 1} attempt(s): {o.error}")
            for task, o in zip(tasks, outcomes)]


def _progress(console: Any) -> Any:
    if console is None:
        class _Null(contextlib.nullcontext):
            def __bool__(self) -> bool:
                return False

        return _Null()
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, transient=False)


def _print_summary(console: Any, s: dict) -> None:
    color = "red" if s["failed"] else "green"
    console.print(f"[{color}]{s['ok']} rendered, {s['skipped']} unchanged, {s['failed']} failed[/] "
                  f"in {s['seconds']} s [dim]snapshot {s['snapshot']}[/]")
    for r in s["results"]:
        if r["status"] == "failed":
            console.print(f"  [red]✗[/] {escape(r['report'])}/{escape(r['entity'])}: {escape(r['error'])} "
                          f"[dim](notebook: outputs/{escape(r['ipynb'])})[/]")
    console.print(f"index: {s['index']}")
