"""The patient kernel client (kpi_lib.kernel_client): a reply that has arrived, or a request the kernel has not
noticed, never stalls a cell for good (issue 13 item 7: Voilà cold loads stuck at "Executing 1 of 3").

Both failures are reproduced with plain ZMQ sockets, without a kernel: a "kernel" that reads a request but
answers only once a later message arrives (a request stranded by a lost wake-up, ipykernel#1554), and a
socket whose poll never wakes although a message is queued.
"""

from __future__ import annotations

import asyncio
from queue import Empty

import pytest
import zmq
import zmq.asyncio
from jupyter_client.session import Session

from kpi_lib import kernel_client as kc_mod
from kpi_lib.kernel_client import PatientChannel, PatientKernelClient


@pytest.fixture(autouse=True)
def short_slices(monkeypatch):
    monkeypatch.setattr(kc_mod, "SLICE_S", 0.05)
    monkeypatch.setattr(kc_mod, "NUDGE_FIRST_S", 0.1)


async def _stranding_kernel(router: zmq.asyncio.Socket, session: Session) -> int:
    """Reads requests, but answers the first one only when a second message arrives; returns how many it read."""
    first, seen = None, 0
    while True:
        idents, frames = session.feed_identities(await router.recv_multipart())
        msg = session.deserialize(frames)
        seen += 1
        if first is None:
            first = (idents, msg)
            continue
        session.send(router, "execute_reply", {"status": "ok"}, parent=first[1]["header"], ident=first[0])
        return seen


def _pair(ctx: zmq.asyncio.Context) -> tuple[zmq.asyncio.Socket, zmq.asyncio.Socket]:
    router = ctx.socket(zmq.ROUTER)
    port = router.bind_to_random_port("tcp://127.0.0.1")
    dealer = ctx.socket(zmq.DEALER)
    dealer.connect(f"tcp://127.0.0.1:{port}")
    return router, dealer


def test_a_stranded_request_is_answered_once_the_channel_nudges_the_kernel():
    async def scenario(nudge: bool) -> tuple[dict | None, int]:
        ctx = zmq.asyncio.Context()
        router, dealer = _pair(ctx)
        session = Session(key=b"test")
        chan = PatientChannel(dealer, session)
        nudges = []
        if nudge:
            chan.nudge = lambda: (nudges.append(1), session.send(dealer, "kernel_info_request", {}))
        session.send(dealer, "execute_request", {"code": "1"})
        kernel = asyncio.ensure_future(_stranding_kernel(router, session))
        try:
            reply = await chan.get_msg(timeout=1)
        except Empty:
            reply = None
        finally:
            kernel.cancel()
            router.close(0)
            dealer.close(0)
            ctx.term()
        return reply, len(nudges)

    reply, nudges = asyncio.run(scenario(nudge=True))
    assert reply is not None and reply["msg_type"] == "execute_reply" and nudges >= 1
    # without a nudge the same kernel never answers: this is the stall (bounded here by the 1 s timeout)
    reply, nudges = asyncio.run(scenario(nudge=False))
    assert reply is None and nudges == 0


class _LostWakeups:
    """A socket whose poll never reports a message (the lost edge-triggered wake-up); all else is the socket's."""

    def __init__(self, sock: zmq.asyncio.Socket) -> None:
        self._sock = sock

    async def poll(self, timeout: int | None = None) -> int:
        await asyncio.sleep((timeout or 0) / 1000)
        return 0

    def __getattr__(self, name: str):
        return getattr(self._sock, name)


def test_a_message_waiting_behind_a_lost_wakeup_is_read_after_the_slice():
    async def scenario() -> tuple[dict, int]:
        ctx = zmq.asyncio.Context()
        router, dealer = _pair(ctx)
        session = Session(key=b"test")
        chan = PatientChannel(dealer, session)
        session.send(dealer, "kernel_info_request", {})
        idents, frames = session.feed_identities(await router.recv_multipart())
        session.send(router, "kernel_info_reply", {"status": "ok"}, parent=session.deserialize(frames)["header"],
                     ident=idents)
        for _ in range(100):  # the reply is in the dealer's queue
            if dealer.get(zmq.EVENTS) & zmq.POLLIN:
                break
            await asyncio.sleep(0.01)
        chan.socket = _LostWakeups(dealer)
        try:
            msg = await asyncio.wait_for(chan.get_msg(timeout=None), 5)
        finally:
            router.close(0)
            dealer.close(0)
            ctx.term()
        return msg, chan.rescued

    msg, rescued = asyncio.run(scenario())
    assert msg["msg_type"] == "kernel_info_reply" and rescued == 1


def test_a_timeout_still_raises_empty_and_the_client_wires_the_nudge():
    async def scenario() -> bool:
        ctx = zmq.asyncio.Context()
        router, dealer = _pair(ctx)
        chan = PatientChannel(dealer, Session(key=b"test"))
        try:
            with pytest.raises(Empty):
                await chan.get_msg(timeout=0.2)
        finally:
            router.close(0)
            dealer.close(0)
            ctx.term()
        return True

    assert asyncio.run(scenario())
    client = PatientKernelClient()
    assert client.shell_channel_class is PatientChannel and client.iopub_channel_class is PatientChannel
