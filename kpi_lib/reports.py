"""`kpi report`: run report templates per entity from a batch file, in parallel, into offline HTML.

Flow: a batch (parameters/batches/*.yaml, :class:`Batch`) lists template × entity set; :func:`plan`
expands it into jobs (one per report and entity) and validates every job's parameters against the
template's ``parameters`` cell (``papermill.inspect_notebook``) **before any kernel starts**;
:func:`run_batch` executes the jobs that changed and writes

    outputs/<period>/<report>/<entity>.html   self-contained page (no code, no CDN)
    outputs/<period>/<report>/<entity>.ipynb  the executed notebook (kept for debugging failures)
    outputs/<period>/manifest.json            parameters, status, durations, snapshot hash per job
    outputs/index.html                        every period's reports with status

Speed: a pool of N workers (default: cores), each owning ONE warm Jupyter kernel started once with
kpi_lib imported; successive notebooks run in it (papermill injects the parameters, nbclient
executes cells on the existing kernel client, ``%reset -f`` clears the namespace between runs while
module-level caches keyed by warehouse snapshot survive). HTML conversion is in-process (nbconvert's
``basic`` template, inputs and prompts excluded, parameters cells removed) wrapped in our own page
with plotly.js inlined once (or referenced once per period folder with ``bundle``). A job whose
template + parameters + warehouse snapshot + report code + parameter files are unchanged since the
last successful render is skipped unless ``force``.

Failure isolation: a failing job is recorded with its error (and its executed notebook kept); the
others continue. A run exceeding ``timeout`` seconds is interrupted and its kernel restarted.

The pool is threads driving kernel *processes* (the CPU work happens in the kernels); the executor
is a parameter (:class:`KernelPool`), so a Dask or Ray backend can replace it later.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import datetime as dt
import fnmatch
import hashlib
import json
import logging
import os
import queue
import re
import subprocess
import threading
import time
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import nbformat

from . import paths
from .errors import RenderError
from .spec import batches as batches_spec
from .spec.batches import Batch, ReportSpec  # noqa: F401 - re-exported
from .warehouse import Warehouse

log = logging.getLogger(__name__)
DEFAULT_BATCH = "monthly.yaml"
LANG_PARAM, PERIOD_PARAM, CURRENCY_PARAM = "language", "period", "currency"
ENTITY_PARAM = {"stores": "store_id", "teams": "team_id", "people": "person_id", "contracts": "contract_id"}
ENTITY_KIND = {"stores": "store", "teams": "team", "people": "person", "contracts": "contract", "company": "company"}
WARMUP = """
import warnings
warnings.filterwarnings("ignore")
import numpy, pandas, plotly.graph_objects
import kpi_lib.present, kpi_lib.report_data, kpi_lib.metrics, kpi_lib.tree, kpi_lib.targets, kpi_lib.alerts
"""
RESET = "get_ipython().run_line_magic('reset', '-f')"


# ---- batch files -------------------------------------------------------------------------------
def batch_path(batch: str | Path | None) -> Path:
    if batch is None:
        return paths.parameters_dir() / "batches" / DEFAULT_BATCH
    p = Path(batch)
    if not p.is_file() and not p.is_absolute():
        cand = paths.parameters_dir() / "batches" / (p.name if p.suffix else p.name + ".yaml")
        if cand.is_file():
            return cand
    return p


def load_batch(batch: str | Path | None = None) -> Batch:
    """A batch file (loaded by :mod:`kpi_lib.spec.batches`)."""
    return batches_spec.load(batch_path(batch))


# ---- templates and parameter validation ----------------------------------------------------------
def template_path(name: str) -> Path:
    p = paths.templates_dir() / (name if name.endswith(".ipynb") else f"{name}.ipynb")
    if not p.is_file():
        known = ", ".join(sorted(q.stem for q in paths.templates_dir().glob("*.ipynb")))
        raise RenderError(f"template {name!r} not found in {paths.templates_dir()}; templates: {known or 'none'}")
    return p


@lru_cache(maxsize=64)
def _inspect(path: str, mtime: float) -> dict[str, dict]:
    import papermill

    nb = nbformat.read(path, as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(tagged) != 1:
        raise RenderError(f"{path}: a template needs exactly one cell tagged 'parameters' (found {len(tagged)})")
    return dict(papermill.inspect_notebook(path))


def template_parameters(path: Path) -> dict[str, dict]:
    """name → {default, inferred_type_name, help} from the template's parameters cell."""
    return _inspect(str(path), path.stat().st_mtime)


def validate_parameters(template: Path, params: dict[str, Any]) -> None:
    """Unknown or missing parameters (default ``None`` = required) and bad values → RenderError.

    Runs in the parent process before any kernel starts; papermill itself would silently accept a
    misspelt parameter.
    """
    declared = template_parameters(template)
    unknown = sorted(set(params) - set(declared))
    missing = sorted(k for k, v in declared.items() if str(v.get("default")) == "None" and params.get(k) is None)
    problems = []
    if unknown:
        problems.append(f"unknown parameter(s) {', '.join(unknown)} (the template declares {', '.join(declared)})")
    if missing:
        problems.append(f"missing parameter(s) {', '.join(missing)}")
    if PERIOD_PARAM in params and not re.match(r"^\d{4}-(0[1-9]|1[0-2])$", str(params[PERIOD_PARAM])):
        problems.append(f"period must be 'YYYY-MM', got {params[PERIOD_PARAM]!r}")
    if LANG_PARAM in params and params[LANG_PARAM] not in ("zh", "en"):
        problems.append(f"language must be 'zh' or 'en', got {params[LANG_PARAM]!r}")
    for k, v in params.items():
        if not isinstance(v, (str, int, float, bool, type(None), list, dict)):
            problems.append(f"parameter {k} must be a JSON type, got {type(v).__name__}")
    if problems:
        raise RenderError(f"{template.name}: " + "; ".join(problems))


# ---- planning ----------------------------------------------------------------------------------
@dataclass
class Job:
    report: str
    template: str
    entity_kind: str
    entity: str
    params: dict[str, Any]
    html: Path
    ipynb: Path
    key: str = ""

    @property
    def figures(self) -> Path:
        """<entity>.figures.json beside the HTML: every figure the page shows, as data."""
        return self.html.with_name(self.html.stem + ".figures.json")

    @property
    def label(self) -> str:
        return f"{self.report}/{self.entity}"


def entity_ids(entities: str, warehouse: Warehouse) -> list[str]:
    """All ids of an entity set, from the warehouse's reference tables (contracts from contracts.yaml)."""
    if entities == "company":
        return ["company"]
    if entities == "contracts":
        from .org import contract_stores

        return sorted(set(contract_stores()["contract_id"].astype(str)))
    table, col = {"stores": ("stores", "store_id"), "teams": ("teams", "team_id"), "people": ("people", "person_id")}[
        entities]
    if not warehouse.has(table):
        return []
    return sorted(set(warehouse.read(table)[col].dropna().astype(str)))


def safe_name(entity: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", entity) or "_"


def latest_period(warehouse: Warehouse) -> str:
    """The latest month with data (kpi_values, else orders)."""
    if warehouse.has("kpi_values"):
        kv = warehouse.read("kpi_values", where="period_kind = 'month'")
        if len(kv):
            return str(kv["period"].max())
    con = warehouse.connect()
    try:
        mx = con.execute("SELECT max(order_date) FROM orders").fetchone()[0]
    finally:
        con.close()
    if mx is None:
        raise RenderError("no data in the warehouse to report on: pass --period YYYY-MM")
    return f"{mx.year}-{mx.month:02d}"


def _hash_files(files: list[Path]) -> str:
    h = hashlib.sha256()
    for f in sorted(files):
        if f.is_file():
            h.update(f.name.encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


def _code_hash() -> str:
    """Report code and the parameter files the figures depend on (targets, tree, contracts…)."""
    here = Path(__file__).resolve().parent
    files = [here / "present.py", here / "report_data.py", here / "reports.py", here / "scorecard.py",
             here / "settlement.py", here / "review.py", here / "actions.py"]
    pdir = paths.parameters_dir()
    files += [p for p in pdir.rglob("*.yaml") if "batches" not in p.parts]
    return _hash_files(files)


def job_key(template: Path, params: dict[str, Any], snapshot: str, code: str, bundle: bool) -> str:
    h = hashlib.sha256()
    h.update(template.read_bytes())
    h.update(json.dumps(params, sort_keys=True, default=str).encode())
    h.update(f"{snapshot}|{code}|{bundle}".encode())
    return h.hexdigest()[:20]


def plan(batch: Batch, period: str, warehouse: Warehouse, only: str | None = None, bundle: bool = False,
         language: str | None = None) -> list[Job]:
    """Expand a batch into jobs and validate every job's parameters (all problems in one RenderError)."""
    from .config import workbench

    out_dir = paths.outputs_dir() / period
    code = _code_hash()
    snapshot = warehouse.snapshot_hash()
    jobs: list[Job] = []
    problems: list[str] = []
    for spec in batch.reports:
        try:
            tpl = template_path(spec.template)
            declared = template_parameters(tpl)
        except RenderError as exc:
            problems.append(str(exc))
            continue
        ids = spec.ids or entity_ids(spec.entities, warehouse)
        kind = ENTITY_KIND[spec.entities]
        for eid in ids:
            params: dict[str, Any] = {PERIOD_PARAM: period,
                                      LANG_PARAM: language or spec.language or batch.language
                                      or workbench().default_language}
            cur = spec.currency or batch.currency
            if cur:
                params[CURRENCY_PARAM] = cur
            key = ENTITY_PARAM.get(spec.entities)
            if key and key in declared:
                params[key] = eid
            elif "entity_id" in declared and spec.entities != "company":
                params["entity_kind"], params["entity_id"] = kind, eid
            elif "entity_kind" in declared:
                params["entity_kind"] = kind
            params.update(spec.parameters)
            label = f"{spec.report}/{eid}"
            if only and not any(fnmatch.fnmatch(x, only) for x in (label, spec.report, eid)):
                continue
            try:
                validate_parameters(tpl, params)
            except RenderError as exc:
                problems.append(f"{label}: {exc}")
                continue
            base = out_dir / spec.report / safe_name(eid)
            jobs.append(Job(spec.report, spec.template, kind, eid, params, base.with_suffix(".html"),
                            base.with_suffix(".ipynb"), job_key(tpl, params, snapshot, code, bundle)))
    if problems:
        raise RenderError(f"{len(problems)} problem(s) in the batch:\n" + "\n".join(f"  - {p}" for p in problems))
    return jobs


# ---- HTML --------------------------------------------------------------------------------------
def plotly_js() -> str:
    """The partial plotly.js bundle the report charts need (kpi_lib.present.plotly_bundle, 1.2 MB)."""
    from .present.plotly_bundle import plotly_js as bundle

    return bundle()


def plotly_js_gzip_b64() -> str:
    """plotly.js gzipped and base64-encoded (≈0.54 MB) for self-contained pages."""
    from .present.plotly_bundle import plotly_js_gzip_b64 as packed

    return packed()


# Charts call kpiPlot(fn): run now when Plotly is loaded, else queue until it is.
_PLOTLY_QUEUE = ('<script type="text/javascript">window.__kpiQ=[];window.kpiPlot=function(f){'
                 'if(window.Plotly){f();}else{window.__kpiQ.push(f);}};window.__kpiFlush=function(){'
                 'var q=window.__kpiQ;window.__kpiQ=[];q.forEach(function(f){f();});};</script>')
# Self-contained: plotly.js inlined once, gzip+base64, unpacked by the browser (DecompressionStream),
# so a report stays well under 5 MB with no network access at all.
_PLOTLY_INLINE = ('<script type="text/javascript">(function(){var b=atob("@B64@");var u=new Uint8Array(b.length);'
                  'for(var i=0;i<b.length;i++){u[i]=b.charCodeAt(i);}'
                  'new Response(new Blob([u]).stream().pipeThrough(new DecompressionStream("gzip"))).text()'
                  '.then(function(js){var s=document.createElement("script");s.text=js;document.head.appendChild(s);'
                  'window.__kpiFlush();});})();</script>')


_H2 = re.compile(r'<h2 (?=[^>]*class="section")[^>]*id="([^"]+)"[^>]*>(.*?)</h2>', re.DOTALL)
_H1 = re.compile(r'<h1 class="report-title">(.*?)</h1>', re.DOTALL)


def page(body: str, lang: str, plotly_src: str | None = None) -> str:
    """Wrap nbconvert's body in our page: title, table of contents, CSS, plotly.js once, no CDN."""
    from .present import PAGE_CSS, TOC_SLOT, esc, t

    m = _H1.search(body)
    title = m.group(1) if m else "Report"
    items = "".join(f'<li><a href="#{i}">{h}</a></li>' for i, h in _H2.findall(body))
    toc = f'<nav class="toc"><b>{esc(t("contents", lang))}</b><ol>{items}</ol></nav>' if items else ""
    body = body.replace(TOC_SLOT, toc, 1)
    script = _PLOTLY_QUEUE + (f'<script type="text/javascript" src="{plotly_src}" onload="window.__kpiFlush()"></script>' if plotly_src
                              else _PLOTLY_INLINE.replace("@B64@", plotly_js_gzip_b64()))
    return (f'<!DOCTYPE html>\n<html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>'
            f"<style>{PAGE_CSS}</style>{script}</head><body><main class=\"report\">{body}</main></body></html>\n")


class HtmlConverter:
    """In-process nbconvert (one exporter per worker): outputs only, no prompts, no parameters cells."""

    def __init__(self) -> None:
        from nbconvert import HTMLExporter
        from traitlets.config import Config

        c = Config()
        c.HTMLExporter.exclude_input = True
        c.HTMLExporter.exclude_input_prompt = True
        c.HTMLExporter.exclude_output_prompt = True
        c.TagRemovePreprocessor.enabled = True
        c.TagRemovePreprocessor.remove_cell_tags = {"parameters", "injected-parameters"}
        self.exporter = HTMLExporter(config=c, template_name="basic")

    def body(self, nb: nbformat.NotebookNode) -> str:
        nb = nbformat.from_dict(nb)
        for cell in nb.cells:
            if cell.get("cell_type") == "code":  # warnings and prints are not for readers
                cell["outputs"] = [o for o in cell.get("outputs", []) if o.get("output_type") != "stream"]
            elif cell.get("cell_type") == "markdown":
                cell["source"] = ""
        body, _ = self.exporter.from_notebook_node(nb)
        return body


# ---- kernels -----------------------------------------------------------------------------------
class KernelWorker:
    """One warm kernel executing successive notebooks (its own asyncio loop; used from one thread)."""

    def __init__(self, cwd: Path, env: dict[str, str], startup_timeout: float = 120) -> None:
        self.cwd, self.env, self.startup_timeout = cwd, env, startup_timeout
        self.loop = asyncio.new_event_loop()
        self.km: Any = None
        self.kc: Any = None
        self.converter = HtmlConverter()

    def _run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def start(self) -> None:
        self._run(self._start())

    async def _start(self) -> None:
        from jupyter_client.manager import AsyncKernelManager

        self.km = AsyncKernelManager(kernel_name="python3")
        # kernel stdout/stderr (banner, TCP warning) are not for report readers; errors reach us as messages
        await self.km.start_kernel(cwd=str(self.cwd), env=self.env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        self.kc = self.km.client()
        self.kc.start_channels()
        await self.kc.wait_for_ready(timeout=self.startup_timeout)
        await self._exec_silent(WARMUP, timeout=self.startup_timeout)

    async def _exec_silent(self, code: str, timeout: float) -> None:
        from nbclient import NotebookClient

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
        from .report_data import FIGURES_MIME

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
        from nbclient import NotebookClient

        client = NotebookClient(nb, km=self.km, timeout=timeout, allow_errors=False)
        client.kc = self.kc
        client.reset_execution_trackers()
        await client.async_execute_cell(nb.cells[0], 0)

    async def _execute(self, nb: nbformat.NotebookNode, timeout: float) -> None:
        from nbclient import NotebookClient

        await self._exec_silent(RESET, timeout=60)
        # the per-run deadline is enforced by execute(); the cell timeout is only a backstop
        client = NotebookClient(nb, km=self.km, timeout=timeout + 30, allow_errors=False,
                                resources={"metadata": {"path": str(self.cwd)}})
        client.kc = self.kc
        client.reset_execution_trackers()
        for i, cell in enumerate(nb.cells):
            await client.async_execute_cell(cell, i)


class KernelPool:
    """N threads, each owning one warm kernel for its whole life (started on its first job, stopped by
    the same thread at :meth:`close`, so every asyncio call stays on the loop that created it)."""

    def __init__(self, size: int, cwd: Path, env: dict[str, str]) -> None:
        self.size, self.cwd, self.env = size, cwd, env
        self._queue: queue.Queue = queue.Queue()
        self._threads = [threading.Thread(target=self._loop, name=f"kpi-report-{i}", daemon=True)
                         for i in range(size)]
        for t in self._threads:
            t.start()

    def _loop(self) -> None:
        worker: KernelWorker | None = None
        try:
            while True:
                item = self._queue.get()
                if item is None:
                    return
                fut, fn, args = item
                if not fut.set_running_or_notify_cancel():
                    continue
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

    def submit(self, fn: Any, *args: Any) -> cf.Future:
        fut: cf.Future = cf.Future()
        self._queue.put((fut, fn, args))
        return fut

    def close(self) -> None:
        for _ in self._threads:
            self._queue.put(None)
        for t in self._threads:
            t.join()


# ---- running -----------------------------------------------------------------------------------
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
    finished_at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))


def _error_text(exc: BaseException) -> str:
    ename = getattr(exc, "ename", None)
    if ename:
        return f"{ename}: {getattr(exc, 'evalue', '')}".strip()
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return "timeout"
    return f"{type(exc).__name__}: {exc}".strip()


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def render_job(worker: KernelWorker, job: Job, timeout: float, snapshot: str, bundle: bool) -> Result:
    """Parameterize, execute on the warm kernel, convert; never raises (failures become a Result)."""
    from papermill.parameterize import parameterize_notebook

    t0 = time.perf_counter()
    rel = lambda p: str(p.relative_to(paths.outputs_dir()))
    res = Result(job.report, job.entity, job.entity_kind, job.template, job.params, "failed", key=job.key,
                 snapshot=snapshot, html=rel(job.html), ipynb=rel(job.ipynb))
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
        _write_atomic(job.html, html)
        if figures is not None:
            _write_atomic(job.figures, json.dumps(figures, ensure_ascii=False, indent=1, allow_nan=False))
            res.figures, res.n_figures = rel(job.figures), len(figures)
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
        _write_atomic(job.ipynb, nbformat.writes(nb))
        res.seconds = round(time.perf_counter() - t0, 3)
    return res


def _manifest_path(period: str) -> Path:
    return paths.outputs_dir() / period / "manifest.json"


def read_manifest(period: str) -> dict:
    p = _manifest_path(period)
    if p.is_file():
        try:
            return json.loads(p.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            return {}
    return {}


def run_batch(batch: str | Path | None = None, period: str | None = None, jobs: int | None = None,
              only: str | None = None, force: bool = False, bundle: bool = False, console: Any = None,
              timeout: float | None = None, language: str | None = None,
              warehouse: Warehouse | str | Path | None = None) -> dict:
    """Render a batch; returns a summary (counts, seconds, index path, results). Never raises for a
    failing report (see ``failed``); raises RenderError for an invalid batch or parameters."""
    t0 = time.perf_counter()
    b = load_batch(batch)
    wh = warehouse if isinstance(warehouse, Warehouse) else Warehouse(warehouse)
    if not wh.exists():
        raise RenderError(f"no warehouse at {wh.path}: run `kpi ingest` and `kpi compute` first")
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
    if bundle:
        js = out_dir / "plotly.min.js"
        if not js.is_file() or js.stat().st_size != len(plotly_js().encode()):
            _write_atomic(js, plotly_js())
    if todo:
        n = max(1, min(jobs or os.cpu_count() or 1, len(todo)))
        env = dict(os.environ, KPI_ROOT=str(paths.root()), KPI_WAREHOUSE=str(wh.path.resolve()),
                   PYTHONWARNINGS="ignore", PYDEVD_DISABLE_FILE_VALIDATION="1")
        env.pop("KPI_DEBUG", None)
        pool = KernelPool(n, paths.root(), env)
        per_run = timeout or b.timeout
        progress = _progress(console)
        try:
            with progress:
                task = progress.add_task(f"reports {period}", total=len(todo)) if progress else None
                futs = {pool.submit(render_job, j, per_run, snapshot, bundle): j for j in todo}
                for f in cf.as_completed(futs):
                    r = f.result()
                    results.append(r)
                    if progress is not None and task is not None:
                        progress.update(task, advance=1, description=f"{r.status:>6} {r.report}/{r.entity}")
        finally:
            pool.close()
    order = {j.label: i for i, j in enumerate(todo_all)}
    results.sort(key=lambda r: order.get(f"{r.report}/{r.entity}", 0))
    runs = dict(previous)
    runs.update({f"{r.report}/{r.entity}": asdict(r) for r in results if r.status != "skipped"})
    manifest = {
        "period": period, "batch": b.name, "snapshot": snapshot, "warehouse_snapshot_id": wh.current_id(),
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "bundle": bundle,
        "runs": runs,
    }
    _write_atomic(_manifest_path(period), json.dumps(manifest, ensure_ascii=False, indent=2, default=str))
    index = write_index()
    summary = {
        "period": period, "total": len(results), "ok": sum(r.status == "ok" for r in results),
        "skipped": sum(r.status == "skipped" for r in results),
        "failed": sum(r.status == "failed" for r in results), "seconds": round(time.perf_counter() - t0, 2),
        "index": str(index), "manifest": str(_manifest_path(period)), "snapshot": snapshot,
        "results": [asdict(r) for r in results],
    }
    if console is not None:
        _print_summary(console, summary)
    return summary


def _progress(console: Any) -> Any:
    if console is None:
        import contextlib

        class _Null(contextlib.nullcontext):
            def __bool__(self) -> bool:
                return False

        return _Null()
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, transient=False)


def _print_summary(console: Any, s: dict) -> None:
    from rich.markup import escape

    color = "red" if s["failed"] else "green"
    console.print(f"[{color}]{s['ok']} rendered, {s['skipped']} unchanged, {s['failed']} failed[/] "
                  f"in {s['seconds']} s [dim]snapshot {s['snapshot']}[/]")
    for r in s["results"]:
        if r["status"] == "failed":
            console.print(f"  [red]✗[/] {escape(r['report'])}/{escape(r['entity'])}: {escape(r['error'])} "
                          f"[dim](notebook: outputs/{escape(r['ipynb'])})[/]")
    console.print(f"index: {s['index']}")


def write_index() -> Path:
    """outputs/index.html: every period (newest first), every report with its status and a link."""
    from .present import PAGE_CSS, badge, esc

    out = paths.outputs_dir()
    parts = ['<h1 class="report-title">KPI Workbench reports</h1>']
    for man_path in sorted(out.glob("*/manifest.json"), reverse=True):
        try:
            man = json.loads(man_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            continue
        runs = sorted(man.get("runs", {}).values(), key=lambda r: (r["report"], r["entity"]))
        nfail = sum(r["status"] == "failed" for r in runs)
        parts.append(f'<h2 class="section" id="p-{esc(man.get("period"))}">{esc(man.get("period"))} '
                     f'<small>({len(runs)} reports, {nfail} failed; snapshot {esc(man.get("snapshot"))}; '
                     f'{esc(man.get("generated_at"))})</small></h2>')
        parts.append('<table class="kpi-table"><thead><tr><th>report</th><th>entity</th><th>status</th>'
                     "<th>seconds</th><th>size</th><th>notebook</th><th>error</th></tr></thead><tbody>")
        for r in runs:
            ok = r["status"] in ("ok", "skipped")
            link = f'<a href="{esc(r["html"])}">{esc(r["entity"])}</a>' if ok else esc(r["entity"])
            st = badge("green" if ok else "red", "en").replace("On track", "ok" if r["status"] == "ok" else r["status"])
            st = st.replace("Off track", "failed")
            parts.append(f"<tr><td>{esc(r['report'])}</td><td>{link}</td><td>{st}</td><td class='num'>"
                         f"{r.get('seconds', 0):.2f}</td><td class='num'>{r.get('html_bytes', 0) / 1e6:.2f} MB</td>"
                         f"<td><a href=\"{esc(r['ipynb'])}\">ipynb</a></td><td>{esc(r.get('error', ''))}</td></tr>")
        parts.append("</tbody></table>")
    html = (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>KPI Workbench reports</title>'
            f'<style>{PAGE_CSS}</style></head><body><main class="report">{"".join(parts)}</main></body></html>\n')
    p = out / "index.html"
    _write_atomic(p, html)
    return p
