"""Report kernels (and shell workers) launched before `kpi report` imports its heavy modules.

A report kernel spends ≈ 1.5 s of CPU importing pandas, plotly and kpi_lib before its first report;
the `kpi report` process spends about as long importing the report runner. :func:`launch_kernels`
(which needs only jupyter_client) starts the kernel processes first, so both imports run side by side;
:class:`kpi_lib.reports.KernelPool` adopts them (``launched=``) and finishes their start-up (client,
warm-up). :func:`launch_shells` does the same for the default engine's worker processes
(:mod:`kpi_lib.reports.shells`), which :class:`kpi_lib.reports.shells.ShellPool` adopts.
:func:`kernel_env` is the one definition of the environment report kernels and workers run in.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pickle
import select
import struct
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jupyter_client.manager import AsyncKernelManager

from . import paths
from .kernel_client import PATIENT_CLIENT

log = logging.getLogger(__name__)


def kernel_env(warehouse: Path) -> dict[str, str]:
    """The environment of report kernels over ``warehouse`` (the runner adds the batch cache's path)."""
    env = dict(os.environ, KPI_ROOT=str(paths.root().resolve()), KPI_WAREHOUSE=str(Path(warehouse).resolve()),
               PYTHONWARNINGS="ignore", PYDEVD_DISABLE_FILE_VALIDATION="1")
    env.pop("KPI_DEBUG", None)
    return env


@dataclass
class Launched:
    """A kernel process started with ``env``, and the event loop its manager belongs to."""

    km: Any
    loop: asyncio.AbstractEventLoop
    env: dict[str, str]
    cwd: str


def launch_kernels(n: int, cwd: Path, env: dict[str, str]) -> list[Launched]:
    """Start ``n`` python3 kernel processes (without waiting for them to be ready); [] if one fails."""
    out: list[Launched] = []
    try:
        for _ in range(max(0, n)):
            loop = asyncio.new_event_loop()
            km = AsyncKernelManager(kernel_name="python3", client_class=PATIENT_CLIENT)
            out.append(Launched(km, loop, env, str(cwd)))
            loop.run_until_complete(km.start_kernel(cwd=str(cwd), env=env, stdout=subprocess.DEVNULL,
                                                    stderr=subprocess.DEVNULL))
    except Exception as exc:  # noqa: BLE001 - the runner then starts its kernels itself and reports errors
        log.warning("report kernels could not be started ahead: %s", exc)
        shutdown_kernels(out)
    return out


def same_start(launched_env: Mapping[str, str], env: Mapping[str, str]) -> bool:
    """Whether a kernel started with ``launched_env`` can serve jobs meant for ``env``: every variable it was
    given has the same value now, and nothing it was given is gone. Variables added since are allowed: the
    runner's own imports add some to ``os.environ`` (pandera sets SPARK_LOCAL_IP and
    PYARROW_IGNORE_TIMEZONE), and the kernel's identical imports add them there too. Strict equality
    turned every launched kernel away, so each batch started its kernels twice."""
    return all(k in env and env[k] == v for k, v in launched_env.items())


def take(launched: list[Launched] | None, env: dict[str, str], cwd: Path) -> Launched | None:
    """One launched kernel started in ``cwd`` with an environment that can serve ``env`` (removed from the
    list; :func:`same_start`), or None; those that cannot are shut down."""
    while launched:
        item = launched.pop()
        if item.cwd == str(cwd) and same_start(item.env, env):
            return item
        log.info("a kernel started ahead does not match this batch's environment; starting another")
        shutdown_kernels([item])
    return None


def shutdown_kernels(launched: list[Launched]) -> None:
    """Stop every kernel still in ``launched`` (those no pool adopted) and empty the list."""
    while launched:
        item = launched.pop()
        with contextlib.suppress(Exception):
            item.loop.run_until_complete(item.km.shutdown_kernel(now=True))
        with contextlib.suppress(Exception):
            item.loop.close()


#: a report worker's program: wait for the first message before importing anything heavy (started with
#: the runner, whose own imports are on the batch's critical path), then serve; skip the interpreter's
#: teardown of a large module graph once the pipe closes (every answer is flushed by then)
_SHELL_BOOT = ("import os, select, sys\nselect.select([int(sys.argv[1])], [], [])\n"
               "from kpi_lib.reports.shells import serve\nserve(int(sys.argv[1]), int(sys.argv[2]))\nos._exit(0)\n")


class ShellProcess:
    """One report worker process (``python -m kpi_lib.reports.shells``): it imports kpi_lib, warms an
    IPython shell, then answers pickled calls on a pipe of its own (its stdout and stderr go nowhere:
    a cell's prints are captured into the notebook, and nothing a library writes can break the pipe)."""

    def __init__(self, cwd: Path, env: Mapping[str, str]) -> None:
        self.cwd, self.env = str(cwd), dict(env)
        to_child_r, self._to_child_w = os.pipe()
        self._from_child_r, from_child_w = os.pipe()
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", _SHELL_BOOT, str(to_child_r), str(from_child_w)],
                cwd=self.cwd, env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, pass_fds=(to_child_r, from_child_w))
        finally:
            os.close(to_child_r)
            os.close(from_child_w)
        self._out = os.fdopen(self._to_child_w, "wb")
        self._in = os.fdopen(self._from_child_r, "rb")

    def call(self, message: Any, deadline: float | None = None) -> Any:
        """Send one pickled message and return the pickled answer; RuntimeError when the process ended
        (or gave no answer within ``deadline`` seconds: then it is killed)."""
        data = pickle.dumps(message)
        try:
            self._out.write(struct.pack("!Q", len(data)) + data)
            self._out.flush()
        except (BrokenPipeError, OSError) as exc:
            raise RuntimeError(f"report worker process ended (exit code {self.proc.poll()})") from exc
        ready, _, _ = select.select([self._in], [], [], deadline)
        if not ready:
            self.stop()
            raise RuntimeError(f"report worker gave no answer in {deadline:g} s and was stopped")
        head = self._in.read(8)
        if len(head) < 8:
            self.proc.wait()
            raise RuntimeError(f"report worker process ended (exit code {self.proc.returncode})")
        return pickle.loads(self._in.read(struct.unpack("!Q", head)[0]))

    def stop(self) -> None:
        """End the process (closing its pipe ends it; killed if it does not end in 5 s)."""
        with contextlib.suppress(Exception):
            self._out.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        with contextlib.suppress(Exception):
            self._in.close()


def launch_shells(n: int, cwd: Path, env: dict[str, str]) -> list[ShellProcess]:
    """Start ``n`` report worker processes (:class:`ShellProcess`) without waiting for them; [] if one fails."""
    out: list[ShellProcess] = []
    try:
        for _ in range(max(0, n)):
            out.append(ShellProcess(cwd, env))
    except Exception as exc:  # noqa: BLE001 - the runner then starts its workers itself and reports errors
        log.warning("report workers could not be started ahead: %s", exc)
        shutdown_shells(out)
    return out


def take_shell(launched: list[ShellProcess] | None, env: dict[str, str], cwd: Path) -> ShellProcess | None:
    """One launched worker started in ``cwd`` with an environment that can serve ``env`` (removed from the
    list; :func:`same_start`), or None; those that cannot are stopped."""
    while launched:
        item = launched.pop()
        if item.cwd == str(cwd) and same_start(item.env, env) and item.proc.poll() is None:
            return item
        shutdown_shells([item])
    return None


def shutdown_shells(launched: list[ShellProcess]) -> None:
    """Stop every worker still in ``launched`` (those no pool adopted) and empty the list."""
    while launched:
        launched.pop().stop()
