"""Where work units run: in this process (default) or as tasks on a Dask distributed cluster.

A *work unit* is a plain top-level function plus picklable arguments (one report; one raw file).
``Executor.map`` runs the units and returns one :class:`Outcome` per item, in input order, with the
error captured instead of raised, so a batch can report "3 of 41 failed" and keep the others. The
callers (``kpi_lib.reports``, ``kpi_lib.ingest.pipeline``) own what a unit does and where it writes;
units must write their outputs atomically (temp file + rename) so a killed worker never leaves a
half-written file. The warehouse and outputs must be on a path every worker sees.

``kpi report --executor dask [--scheduler tcp://host:8786]``: with no address a ``LocalCluster`` of
processes is started on this machine and closed afterwards.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, Self

from .errors import ConfigError

ExecutorKind = Literal["local", "dask"]


@dataclass(frozen=True)
class Outcome:
    """The result of one work unit: ``value`` when ``ok``, else ``error`` (one line) and ``detail``."""

    item: Any
    ok: bool
    value: Any = None
    error: str = ""
    detail: str = ""
    attempts: int = 1


def _run(fn: Callable[[Any], Any], item: Any) -> Outcome:
    try:
        return Outcome(item=item, ok=True, value=fn(item))
    except Exception as exc:  # noqa: BLE001 - one unit's failure is reported, not raised
        return Outcome(item=item, ok=False, error=f"{type(exc).__name__}: {exc}",
                       detail=traceback.format_exc())


class Executor(Protocol):
    """Runs work units; see the module docstring."""

    kind: str

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any], *, retries: int = 0) -> list[Outcome]:
        """Run ``fn(item)`` for every item; outcomes in input order."""
        ...

    def close(self) -> None:
        """Release workers (no-op in process)."""
        ...


class LocalExecutor:
    """Runs every unit in this process, one after the other (the default)."""

    kind = "local"

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any], *, retries: int = 0) -> list[Outcome]:
        """Run ``fn(item)`` for every item, retrying a failed unit up to ``retries`` times."""
        out = []
        for item in items:
            res = _run(fn, item)
            n = 1
            while not res.ok and n <= retries:
                res = _run(fn, item)
                n += 1
            out.append(Outcome(res.item, res.ok, res.value, res.error, res.detail, n))
        return out

    def close(self) -> None:
        """Nothing to release."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class DaskExecutor:
    """Runs units as tasks on a Dask distributed cluster (``scheduler`` address, or a LocalCluster)."""

    kind = "dask"

    def __init__(self, scheduler: str | None = None, n_workers: int = 2, threads_per_worker: int = 1) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError as exc:  # pragma: no cover - dask is a dependency
            raise ConfigError("the dask executor needs `dask[distributed]` installed") from exc
        self._cluster = None
        try:
            if scheduler:
                self.client = Client(scheduler, timeout="20s")
            else:
                self._cluster = LocalCluster(n_workers=n_workers, threads_per_worker=threads_per_worker,
                                             processes=True, dashboard_address=None)
                self.client = Client(self._cluster)
        except OSError as exc:
            raise ConfigError(f"cannot reach the Dask scheduler {scheduler!r}: {exc}") from exc

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any], *, retries: int = 0) -> list[Outcome]:
        """Submit every unit (pure=False) and gather outcomes in input order; a lost worker is retried."""
        from distributed import as_completed  # imported where Client is (dask loads only when used)

        items = list(items)
        futures = [self.client.submit(_run, fn, item, pure=False, retries=retries) for item in items]
        index = {fut.key: i for i, fut in enumerate(futures)}
        out: list[Outcome | None] = [None] * len(items)
        # collect each outcome as it finishes and release its future at once: a result left on a
        # worker that dies later would be recomputed (the unit run a second time) for nothing
        for fut in as_completed(futures):
            i = index[fut.key]
            try:
                out[i] = fut.result()
            except Exception as exc:  # noqa: BLE001 - e.g. KilledWorker after the retries
                out[i] = Outcome(item=items[i], ok=False, error=f"{type(exc).__name__}: {exc}",
                                 detail=traceback.format_exc())
            fut.release()
        futures.clear()
        return [o for o in out if o is not None]

    def close(self) -> None:
        """Close the client and the LocalCluster this executor started (not a cluster it joined)."""
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def make_executor(kind: ExecutorKind | str = "local", scheduler: str | None = None,
                  n_workers: int = 2) -> LocalExecutor | DaskExecutor:
    """The executor named by ``--executor`` (``local`` or ``dask``)."""
    if kind in ("local", "inprocess", "in-process"):
        if scheduler:
            raise ConfigError("--scheduler only applies with --executor dask")
        return LocalExecutor()
    if kind == "dask":
        return DaskExecutor(scheduler=scheduler, n_workers=n_workers)
    raise ConfigError(f"unknown executor {kind!r}: expected 'local' or 'dask'")


__all__: Sequence[str] = ["DaskExecutor", "Executor", "LocalExecutor", "Outcome", "make_executor"]
