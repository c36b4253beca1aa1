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
from typing import Any, Protocol, TypeVar

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


class Started(Protocol):
    """A process started ahead (a kernel, :class:`Launched`, or a worker, :class:`ShellProcess`)."""

    env: dict[str, str]
    cwd: str

    @property
    def alive(self) -> bool: ...

    def stop(self) -> None: ...


T = TypeVar("T", bound=Started)


@dataclass
class Launched:
    """A kernel process started with ``env``, and the event loop its manager belongs to."""

    km: Any
    loop: asyncio.AbstractEventLoop
    env: dict[str, str]
    cwd: str

    @property
    def alive(self) -> bool:
        """Not checked for a kernel: one that died fails its first report, and the pool starts another."""
        return True

    def stop(self) -> None:
        """Shut the kernel down now and close its loop (best effort)."""
        with contextlib.suppress(Exception):
            self.loop.run_until_complete(self.km.shutdown_kernel(now=True))
        with contextlib.suppress(Exception):
            self.loop.close()


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
        stop_all(out)
    return out


def same_start(launched_env: Mapping[str, str], env: Mapping[str, str]) -> bool:
    """Whether a kernel started with ``launched_env`` can serve jobs meant for ``env``: every variable it was
    given has the same value now, and nothing it was given is gone. Variables added since are allowed: the
    runner's own imports add some to ``os.environ`` (pandera sets SPARK_LOCAL_IP and
    PYARROW_IGNORE_TIMEZONE), and the kernel's identical imports add them there too. Strict equality
    turned every launched kernel away, so each batch started its kernels twice."""
    return all(k in env and env[k] == v for k, v in launched_env.items())


def take(launched: list[T] | None, env: dict[str, str], cwd: Path) -> T | None:
    """One process of ``launched`` (kernels or workers) started in ``cwd`` with an environment that can
    serve ``env`` and still alive (removed from the list; :func:`same_start`), or None; those that
    cannot are stopped."""
    while launched:
        item = launched.pop()
        if item.cwd == str(cwd) and same_start(item.env, env) and item.alive:
            return item
        log.info("a process started ahead does not match this batch's environment; starting another")
        item.stop()
    return None


def stop_all(launched: list[T]) -> None:
    """Stop every process still in ``launched`` (those no pool adopted) and empty the list."""
    while launched:
        launched.pop().stop()


def encode_message(message: Any) -> bytes:
    """One message for a worker's pipe: its pickle's length (8 bytes, big-endian), then the pickle."""
    data = pickle.dumps(message)
    return struct.pack("!Q", len(data)) + data


def read_message(stream: Any) -> Any:
    """The next message (:func:`encode_message`) on ``stream``; EOFError when the pipe closed."""
    head = stream.read(8)
    if len(head) < 8:
        raise EOFError("the pipe closed")
    return pickle.loads(stream.read(struct.unpack("!Q", head)[0]))


#: a report worker's program: wait for the first message before importing anything heavy (started with
#: the runner, whose own imports are on the batch's critical path), then serve; skip the interpreter's
#: teardown of a large module graph once the pipe closes (every answer is flushed by then)
_SHELL_BOOT = ("import os, select, sys\nselect.select([int(sys.argv[1])], [], [])\n"
               "from kpi_lib.reports.shells import serve\nserve(int(sys.argv[1]), int(sys.argv[2]))\nos._exit(0)\n")


class ShellProcess:
    """One report worker process (:data:`_SHELL_BOOT`, then ``kpi_lib.reports.shells.serve``): on its first
    message it imports kpi_lib and warms an IPython shell, then answers pickled calls on a pipe of its own
    (its stdout and stderr go nowhere: a cell's prints are captured into the notebook, and nothing a
    library writes can break the pipe)."""

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
        frame = encode_message(message)
        try:
            self._out.write(frame)
            self._out.flush()
        except (BrokenPipeError, OSError) as exc:
            raise RuntimeError(f"report worker process ended (exit code {self.proc.poll()})") from exc
        ready, _, _ = select.select([self._in], [], [], deadline)
        if not ready:
            self.stop()
            raise RuntimeError(f"report worker gave no answer in {deadline:g} s and was stopped")
        try:
            return read_message(self._in)
        except EOFError:
            self.proc.wait()
            raise RuntimeError(f"report worker process ended (exit code {self.proc.returncode})") from None

    @property
    def alive(self) -> bool:
        """The process has not ended."""
        return self.proc.poll() is None

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
        stop_all(out)
    return out
