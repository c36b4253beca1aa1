"""notebooks/voila.json gives Voilà a kernel manager whose kernels talk to the browser from the server's own
thread (issue 13: the tornado ``AssertionError`` in ``iostream.advance`` and the hung cost explorer).

A sync kernel manager (jupyter_server's ``MappingKernelManager``) starts each kernel through jupyter_core's
``run_sync``; called from the server's running event loop, that runs the start on a background
"MainThread - runner" thread, where the kernel manager's ``loop`` (``IOLoop.current()`` on first use) becomes
that thread's loop. Every ZMQ stream of the kernel then fires on that thread and writes to the websocket
while the server's thread writes too. The test starts a kernel with the configured class inside a running
tornado loop and checks the kernel's loop is the server's loop.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from jupyter_client.multikernelmanager import AsyncMultiKernelManager
from traitlets.utils.importstring import import_item

REPO = Path(__file__).resolve().parent.parent
CONFIG = json.loads((REPO / "notebooks" / "voila.json").read_text(encoding="utf-8"))
CLASS_NAME = CONFIG["VoilaConfiguration"]["multi_kernel_manager_class"]


def test_configured_kernel_manager_is_async():
    assert issubclass(import_item(CLASS_NAME), AsyncMultiKernelManager), CLASS_NAME


def test_kernels_get_the_patient_client():
    """Voilà's kernel managers hand nbclient the patient client (kpi_lib.kernel_client), and the setting reaches
    them through the server's config as voila.json gives it."""
    from jupyter_server.services.kernels.kernelmanager import ServerKernelManager
    from traitlets.config import Config

    from kpi_lib.kernel_client import PatientChannel, PatientKernelClient

    factory = CONFIG["ServerKernelManager"]["client_factory"]
    assert import_item(factory) is PatientKernelClient
    km = ServerKernelManager(config=Config(CONFIG))
    client = km.client()
    assert isinstance(client, PatientKernelClient) and isinstance(client.shell_channel, PatientChannel)
    assert client.shell_channel.nudge is not None
    client.stop_channels()


def test_kernel_streams_run_on_the_server_loop(tmp_path):
    from tornado.ioloop import IOLoop

    cls = import_item(CLASS_NAME)

    async def start_and_check() -> tuple[bool, bool]:
        server_loop = IOLoop.current()
        mkm = cls(connection_dir=str(tmp_path))
        maybe = mkm.start_kernel(kernel_name="python3")
        kid = await maybe if asyncio.iscoroutine(maybe) or asyncio.isfuture(maybe) else maybe
        try:
            km = mkm.get_kernel(kid)
            stream = km.connect_iopub()
            try:
                return km.loop is server_loop, stream.io_loop is server_loop
            finally:
                stream.close()
        finally:
            res = mkm.shutdown_kernel(kid, now=True)
            if asyncio.iscoroutine(res) or asyncio.isfuture(res):
                await res

    same_km, same_stream = asyncio.run(start_and_check())
    assert same_km and same_stream
