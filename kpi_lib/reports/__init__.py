"""`kpi report`: run report templates per entity from a batch file into offline HTML.

The package, in data-flow order:

- :mod:`.plan`    batch files, templates and their parameters, jobs (validated before any kernel starts)
- :mod:`.html`    the page around nbconvert's output (title, contents, CSS, plotly.js once)
- :mod:`.kernels` warm Jupyter kernels and the pool of threads driving them
- :mod:`.shells`  the default engine: IPython shells in worker processes, a pool of threads driving them
- :mod:`.run`     compute once per batch, render every job (threads or Dask tasks), manifest
- :mod:`.index`   the reader's index page (zh and en)

Public API (used by the CLI, delivery, demo and tests) is re-exported here.
"""

from __future__ import annotations

from . import deferred  # noqa: F401 - first: defers jsonschema's IRI grammar before nbformat is imported
from .html import HtmlConverter, page, plotly_js, plotly_js_gzip_b64
from .index import write_index
from .kernels import RESET, WARMUP, KernelPool, KernelWorker
from .plan import (
                   CURRENCY_PARAM,
                   DEFAULT_BATCH,
                   ENTITY_KIND,
                   ENTITY_PARAM,
                   LANG_PARAM,
                   PERIOD_PARAM,
                   Batch,
                   Job,
                   ReportSpec,
                   batch_path,
                   entity_ids,
                   job_key,
                   latest_period,
                   load_batch,
                   plan,
                   safe_name,
                   template_parameters,
                   template_path,
                   validate_parameters,
)
from .run import RenderTask, Result, read_manifest, render_job, render_task, run_batch

render_batch = run_batch  # the name the issue uses

__all__ = [
                   "CURRENCY_PARAM",
                   "DEFAULT_BATCH",
                   "ENTITY_KIND",
                   "ENTITY_PARAM",
                   "LANG_PARAM",
                   "PERIOD_PARAM",
                   "RESET",
                   "WARMUP",
                   "Batch",
                   "HtmlConverter",
                   "Job",
                   "KernelPool",
                   "KernelWorker",
                   "RenderTask",
                   "ReportSpec",
                   "Result",
                   "batch_path",
                   "entity_ids",
                   "job_key",
                   "latest_period",
                   "load_batch",
                   "page",
                   "plan",
                   "plotly_js",
                   "plotly_js_gzip_b64",
                   "read_manifest",
                   "render_batch",
                   "render_job",
                   "render_task",
                   "run_batch",
                   "safe_name",
                   "template_parameters",
                   "template_path",
                   "validate_parameters",
                   "write_index",
]
