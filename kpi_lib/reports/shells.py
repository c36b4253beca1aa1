"""Report workers without a Jupyter kernel: one IPython shell per worker process.

A report is its template notebook, parameterized by papermill and executed cell by cell. A Jupyter
kernel does that through ZMQ messages: every cell is an execute request, its outputs are serialized
on the kernel's side and collected by nbclient on ours, and the page is then built in the runner's
process, one report at a time. :class:`ShellWorker` runs the same cells in an IPython
``InteractiveShell`` inside a worker process (:class:`kpi_lib.prelaunch.ShellProcess`, which imports
kpi_lib once and warms up as a report kernel does, :data:`kpi_lib.reports.kernels.WARMUP`),
captures each cell's display, stream and error outputs into the notebook where nbclient would put
them, and writes the page there too (:func:`kpi_lib.reports.run.render_job`, the same function the
kernels use), so the workers build pages side by side. IPython gives the cells the language a kernel
gives them (magics, ``display``, ``get_ipython()``); between reports the namespace is reset, as
``%reset -f`` does on a kernel, and module caches keyed by warehouse snapshot survive.

:class:`ShellPool` drives one worker process per thread, like :class:`KernelPool` drives kernels,
with pickled calls on a pipe of the worker's own. A run over its timeout is interrupted by
``SIGALRM`` in the worker (the report fails with "timeout after N s", the worker goes on); a worker
that dies, or gives no answer by the pool's deadline, fails its report and is replaced. Dask tasks
keep kernels (their workers run tasks on threads, where a timer signal cannot interrupt them).
"""

from __future__ import annotations

import contextlib
import os
import signal
import traceback
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ..prelaunch import ShellProcess, encode_message, read_message, take
from ..report_data import BATCH_CACHE_ENV, FIGURES_MIME
from .html import HtmlConverter
from .kernels import RESET, WARMUP, ThreadedPool

#: environment variables a call sets in its worker before it runs (the rest the worker started with)
TASK_ENV = ("KPI_ROOT", "KPI_WAREHOUSE", BATCH_CACHE_ENV)


WARM = "warm"  # the message that warms a worker's shell


class CellError(Exception):
    """A template cell raised: ``ename`` / ``evalue`` as a kernel reports them (nbclient's names)."""

    def __init__(self, ename: str, evalue: str) -> None:
        super().__init__(f"{ename}: {evalue}")
        self.ename, self.evalue = ename, evalue


@contextlib.contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    """Raise TimeoutError in this (main) thread after ``seconds``."""
    def _alarm(signum: int, frame: Any) -> None:
        raise TimeoutError(f"timeout after {seconds:g} s")

    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.001))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


class ShellWorker:
    """The :class:`kpi_lib.reports.kernels.KernelWorker` interface (``start``, ``execute``, ``figures``,
    ``restart``, ``stop``, ``converter``) on an IPython shell in this process."""

    def __init__(self, cwd: Path, env: Mapping[str, str]) -> None:
        self.cwd, self.env = Path(cwd), dict(env)
        self.converter = HtmlConverter()
        self.shell: Any = None

    def start(self) -> None:
        """The shell, with kpi_lib imported and warmed up as a report kernel is."""
        from IPython.core.interactiveshell import InteractiveShell
        from traitlets.config import Config

        c = Config()
        c.HistoryManager.enabled = False  # no history database for report runs
        self.shell = InteractiveShell.instance(config=c)
        self._run_cell(WARMUP)

    def _run_cell(self, source: str) -> tuple[Any, Any]:
        from IPython.utils.capture import capture_output

        with capture_output() as cap:
            result = self.shell.run_cell(source, store_history=False)
        return result, cap

    def execute(self, nb: Any, timeout: float) -> None:
        """Run every code cell of ``nb`` in place (outputs as nbclient records them); raises
        :class:`CellError` on the first error and TimeoutError after ``timeout`` seconds."""
        import nbformat

        if self.shell is None:
            self.start()
        os.chdir(self.cwd)
        self.shell.run_cell(RESET, store_history=False)  # what a kernel runs before each report
        with _deadline(timeout):
            for cell in nb.cells:
                if cell.get("cell_type") != "code":
                    continue
                result, cap = self._run_cell(cell.source)
                outputs = []
                for name, text in (("stdout", cap.stdout), ("stderr", cap.stderr)):
                    if text:
                        outputs.append(nbformat.v4.new_output("stream", name=name, text=text))
                outputs += [nbformat.v4.new_output("display_data", data=o.data, metadata=o.metadata or {})
                            for o in cap.outputs]
                exc = result.error_before_exec or result.error_in_exec
                if exc is not None:
                    if isinstance(exc, TimeoutError):
                        cell.outputs = outputs
                        raise exc
                    outputs.append(nbformat.v4.new_output(
                        "error", ename=type(exc).__name__, evalue=str(exc),
                        traceback=traceback.format_exception(type(exc), exc, exc.__traceback__)))
                    cell.outputs = outputs
                    raise CellError(type(exc).__name__, str(exc))
                cell.outputs = outputs

    def figures(self) -> list[dict[str, Any]] | None:
        """The figures the report just executed recorded (as the kernel's FIGURES_MIME output)."""
        result, cap = self._run_cell("import kpi_lib.report_data as _kpi_rd\n_kpi_rd.publish_figures()")
        if result.error_in_exec is not None:
            raise CellError(type(result.error_in_exec).__name__, str(result.error_in_exec))
        for out in cap.outputs:
            if FIGURES_MIME in out.data:
                return list(out.data[FIGURES_MIME])
        return None

    def restart(self) -> None:
        """After a timeout: a clean namespace (the process and its module caches stay)."""
        if self.shell is not None:
            self.shell.reset(new_session=False)

    def stop(self) -> None:
        """Nothing to stop: the worker process ends with its pool."""


def set_task_env(env: Mapping[str, str]) -> None:
    """This worker process's ``TASK_ENV`` variables as the task's ``env`` has them (absent: removed), so
    ``paths.outputs_dir()`` and the batch cache are the task's."""
    for k in TASK_ENV:
        if k in env:
            os.environ[k] = env[k]
        else:
            os.environ.pop(k, None)


def serve(fd_in: int, fd_out: int) -> None:
    """A worker process's life (:class:`kpi_lib.prelaunch.ShellProcess`, which imports this module only
    when the first message comes): answer each message (:func:`kpi_lib.prelaunch.read_message`) until
    the pipe closes. ``WARM`` warms the shell (the pool sends it once the runner has finished its own
    imports: started together, the runner's imports took three times as long, and they are on the
    batch's critical path); ``(env, fn, args)`` runs ``fn(worker, *args)`` (warming first if needed).
    Answers are ``("ok", value)`` or ``("error", exception)``."""
    worker = ShellWorker(Path.cwd(), dict(os.environ))
    with os.fdopen(fd_in, "rb") as inp, os.fdopen(fd_out, "wb") as out:
        while True:
            try:
                message = read_message(inp)
            except EOFError:
                return
            try:
                if worker.shell is None:
                    worker.start()
                if message == WARM:
                    answer: tuple[str, Any] = ("ok", os.getpid())
                else:
                    env, fn, args = message
                    set_task_env(env)
                    worker.env = dict(env)
                    answer = ("ok", fn(worker, *args))
            except Exception as exc:  # noqa: BLE001 - handed to the caller
                answer = ("error", exc)
            try:
                frame = encode_message(answer)
            except Exception as exc:  # noqa: BLE001 - an unpicklable answer is an error, not a dead worker
                frame = encode_message(("error", RuntimeError(f"{type(exc).__name__}: {exc}")))
            out.write(frame)
            out.flush()


class ShellPool(ThreadedPool):
    """N threads, each owning one worker process (:class:`kpi_lib.prelaunch.ShellProcess`) for the whole
    batch: the :class:`kpi_lib.reports.kernels.KernelPool` interface (``submit(fn, *args)`` runs
    ``fn(worker, *args)`` in a worker process; ``close``). A worker that dies fails the report it was
    running and is replaced for the next."""

    def __init__(self, size: int, cwd: Path, env: Mapping[str, str], launched: list[ShellProcess] | None = None,
                 deadline: float | None = None) -> None:
        """``launched``: worker processes started ahead (:func:`kpi_lib.prelaunch.launch_shells`) that
        threads adopt when started with an environment that can serve ``env`` (the batch cache's
        variable aside: each call sets it) in ``cwd``; the caller stops those left over. The others are
        started now. ``deadline``: seconds a call may take before its worker is stopped (a worker's own
        timer interrupts a report at its timeout; this is the backstop for one that cannot be)."""
        self.size, self.cwd, self.env, self.deadline = size, Path(cwd), dict(env), deadline
        base = {k: v for k, v in env.items() if k != BATCH_CACHE_ENV}
        procs = [take(launched, base, self.cwd) for _ in range(size)]
        self._procs = [p if p is not None else ShellProcess(self.cwd, base) for p in procs]
        self._start_threads(size)

    def _loop(self, index: int) -> None:
        try:
            with contextlib.suppress(Exception):  # warm now; a worker that fails to warm fails its first report
                self._procs[index].call(WARM, self.deadline)
            for fut, fn, args in self._calls():
                try:
                    status, value = self._procs[index].call((self.env, fn, args), self.deadline)
                except Exception as exc:  # noqa: BLE001 - the worker died: this report fails, a new worker follows
                    self._procs[index].stop()
                    self._procs[index] = ShellProcess(self.cwd, {k: v for k, v in self.env.items()
                                                                 if k != BATCH_CACHE_ENV})
                    fut.set_exception(exc)
                    continue
                if status == "ok":
                    fut.set_result(value)
                else:
                    fut.set_exception(value)
        finally:
            self._procs[index].stop()

