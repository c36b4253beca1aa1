"""A kernel client that cannot wait forever on a message that has already arrived, or on one the kernel has
not noticed (issue 13: Voilà cold loads stuck at "Executing 1 of 3" with the server and the kernel idle).

Both ends of a kernel connection wake on ZMQ's *edge-triggered* file descriptor. When an edge is consumed
by another operation on the same socket (a send runs libzmq's command processing), a message can sit in
the socket with nobody woken to read it (ipykernel#1554 describes the kernel's side; a ``zmq.asyncio``
poll has the same exposure). nbclient waits for a cell's reply with one unbounded poll, so a stranded
message stalls the page for good.

:class:`PatientKernelClient` (Voilà: ``ServerKernelManager.client_factory`` in ``notebooks/voila.json``;
the report runner's kernels) polls in slices instead. After a silent slice it looks at the socket's own
event state (a message waiting there is read at once) and, on the shell channel, sends the kernel a
``kernel_info_request``: any new message wakes the kernel's stream, which then reads everything waiting,
including a stranded ``execute_request``. Nudges back off (2, 4, 8 … 30 s), so a long cell costs a few
harmless requests whose replies nbclient ignores (their parent is not the cell's). Every rescue is logged.

Measured (issue 13 note): 5 stalls in 65 cold loads with nbclient's own client at load 10–17, none in 51 with
slices; one log line read "a kernel execute_reply had waited 5.1 s unseen (lost wake-up)", so the lost
wake-up was the server's, on the ``zmq.asyncio`` shell socket.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from queue import Empty
from typing import Any

import zmq
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.channels import AsyncZMQSocketChannel
from traitlets import Type

log = logging.getLogger(__name__)

PATIENT_CLIENT = "kpi_lib.kernel_client.PatientKernelClient"  # as kernel managers take it (client_class)
SLICE_S = 1.0  # the longest a message that has arrived can wait unseen (a poll is cheap)
NUDGE_FIRST_S = 2.0  # the first nudge after this long without a shell message, then every 4, 8 … 30 s
NUDGE_MAX_S = 30.0


class PatientChannel(AsyncZMQSocketChannel):
    """An asyncio channel whose ``get_msg`` polls in slices of at most ``SLICE_S``, never once for ever."""

    nudge: Any = None  # set on the shell channel: a callable sending the kernel a harmless request
    rescued = 0  # messages found waiting after a poll had timed out (for tests and logs)

    async def get_msg(self, timeout: float | None = None) -> dict[str, Any]:  # type: ignore[override]
        """The next message; ``Empty`` after ``timeout`` seconds (None: wait as long as it takes)."""
        assert self.socket is not None
        start = time.monotonic()
        deadline = None if timeout is None else start + timeout
        gap = NUDGE_FIRST_S
        next_nudge = start + gap
        while True:
            wait = SLICE_S if deadline is None else min(SLICE_S, max(0.0, deadline - time.monotonic()))
            t0 = time.monotonic()
            if await self.socket.poll(int(wait * 1000)):
                msg = await self._recv()
                if time.monotonic() - t0 >= 0.95 * wait:  # found by the slice's closing look, not by a wake-up
                    self._note_late(msg, wait)
                return msg
            if self.socket.get(zmq.EVENTS) & zmq.POLLIN:  # arrived, but the wake-up was lost
                msg = await self._recv()
                self._note_late(msg, wait)
                return msg
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                raise Empty
            if self.nudge is not None and now >= next_nudge:
                self.nudge()
                gap = min(gap * 2, NUDGE_MAX_S)
                next_nudge = now + gap

    def _note_late(self, msg: dict[str, Any], wait: float) -> None:
        """Count and log a message that had waited in the socket longer than half the slice: its wake-up was
        lost, and only the slice's end found it."""
        sent = msg.get("header", {}).get("date")
        age = (datetime.now(UTC) - sent).total_seconds() if isinstance(sent, datetime) else None
        if age is None or age >= 0.5 * wait:
            self.rescued += 1
            log.warning("a kernel %s had waited %s s unseen (lost wake-up); read at the end of a %.1f s poll",
                        msg.get("msg_type"), "?" if age is None else f"{age:.1f}", wait)


class PatientKernelClient(AsyncKernelClient):
    """``AsyncKernelClient`` with :class:`PatientChannel` channels; the shell channel nudges the kernel."""

    shell_channel_class = Type(PatientChannel)  # type: ignore[assignment]
    iopub_channel_class = Type(PatientChannel)  # type: ignore[assignment]
    stdin_channel_class = Type(PatientChannel)  # type: ignore[assignment]
    control_channel_class = Type(PatientChannel)  # type: ignore[assignment]

    @property
    def shell_channel(self) -> Any:  # type: ignore[override]
        channel = super().shell_channel
        if isinstance(channel, PatientChannel) and channel.nudge is None:
            channel.nudge = self._nudge
        return channel

    def _nudge(self) -> None:
        """A kernel_info_request on the shell channel: a new message for the kernel's shell stream."""
        log.debug("no shell reply yet: nudging the kernel with a kernel_info_request")
        self.kernel_info()
