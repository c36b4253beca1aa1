"""The KPI tree designer served by Voilà and driven in headless Chromium: add a node, save, check disk.

Uses Debian's /usr/bin/chromium (never downloads a browser); skipped when it is absent (a failure under CI). Every wait
is bounded; the Voilà server runs against a temporary project (KPI_ROOT) and is always stopped.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import needs

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
VOILA = Path(sys.executable).parent / "voila"
NOTEBOOK = REPO / "notebooks" / "02_kpi_tree_designer.ipynb"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]

# first render of a cold Voilà page (kernel start, imports, panel built from the warehouse); generous
# because the test machine is shared (set KPI_VOILA_LIMIT_S to tighten it on a quiet machine)
FIRST_RENDER_LIMIT_S = float(os.environ.get("KPI_VOILA_LIMIT_S", "90"))
NOTEBOOKS = sorted((REPO / "notebooks").glob("0*.ipynb"))
SCREENS = Path(os.environ.get("KPI_SCREENSHOT_DIR", REPO / "screens"))
# notebooks/voila.json's settings, passed on the command line too (the tests serve a copy of one notebook from a
# temporary folder, where voila.json is not read): jupyter_server's *async* kernel manager (the sync one starts
# kernels on a helper thread whose loop then writes kernel messages to the browser's websocket from a second
# thread: tornado's AssertionError in iostream advance, messages lost) and the patient kernel client
# (kpi_lib.kernel_client: a cell's reply that arrived, or a request the kernel did not notice, never stalls the
# page at "Executing 1 of 3").
VOILA_CONFIG = json.loads((REPO / "notebooks" / "voila.json").read_text(encoding="utf-8"))
VOILA_FLAGS = [f"--{section}.{key}={value}" for section, settings in VOILA_CONFIG.items()
               for key, value in settings.items()]

pytestmark = [
    pytest.mark.browser,
    needs(CHROMIUM.exists(), "needs /usr/bin/chromium (make chromium)"),
    needs(VOILA.exists(), "needs voila in the venv"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_http(url: str, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"voila exited early with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url + "static/voila_probe", timeout=2):
                return
        except urllib.error.HTTPError:
            return  # the server answers (a 404 is fine: it is up)
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"voila did not answer on {url} within {timeout}s")


@pytest.fixture
def voila_project(tmp_path):
    root = tmp_path / "project"
    shutil.copytree(REPO / "parameters", root / "parameters")
    (root / "parameters" / "kpi_tree.yaml").unlink(missing_ok=True)
    with _voila(NOTEBOOK, root, tmp_path, {}, drop=("KPI_HEADLESS", "KPI_WAREHOUSE")) as (url, log):
        yield root, url, log


def _option_label(page, selector: str, startswith: str) -> str:
    labels = page.eval_on_selector_all(f"{selector} option", "els => els.map(e => e.textContent)")
    for lab in labels:
        norm = lab.replace("\xa0", " ")
        if norm == startswith or norm.startswith(startswith + " "):
            return lab
    raise AssertionError(f"no option starting with {startswith!r} in {selector}: {labels[:10]}")


def test_tree_designer_add_node_and_save_in_browser(voila_project, tmp_path):
    from kpi_lib import tree as tree_mod
    from kpi_lib.definitions import load_catalog
    from kpi_lib.labels import label

    root, url, log = voila_project
    tree_file = root / "parameters" / "kpi_tree.yaml"
    assert not tree_file.exists()
    used = {n.kpi for n in tree_mod.default_tree().nodes}
    kpi = "late_shipment_rate" if "late_shipment_rate" not in used else next(
        k for k in ("first_response_hours", "response_24h_rate", "dispute_days", "sell_through") if k not in used)
    shot = tmp_path / "kpi_tree_designer.png"
    cat = load_catalog()
    saved_word = label("widget.tree.saved", "zh").split("{")[0].strip()
    with _page() as page:
        try:
            page.set_default_timeout(30_000)
            # one cold load, no retry (issue 13 item 7): the panel must be on screen within the limit
            page.goto(url, wait_until="commit", timeout=30_000)
            page.wait_for_selector(".kpi-add-kpi select", state="visible", timeout=FIRST_RENDER_LIMIT_S * 1000)
            page.wait_for_selector(".kpi-outline [data-node='net_profit']", timeout=30_000)

            # the panel speaks the workbench's default language (zh): options are KPI names and catalog words
            page.select_option(".kpi-add-kpi select", label=_option_label(page, ".kpi-add-kpi select", cat.name(kpi, "zh")))
            page.select_option(".kpi-add-parent select", label=_option_label(page, ".kpi-add-parent select",
                                                                             cat.name("net_profit", "zh")))
            page.select_option(".kpi-add-layer select", label=label("widget.tree.layer.execution", "zh"))
            page.select_option(".kpi-add-relation select", label=label("widget.tree.relation.informational", "zh"))
            owner = page.locator(".kpi-add-owner input")
            owner.fill("T-AMZ")
            owner.press("Tab")
            page.wait_for_timeout(300)
            page.click("button.kpi-add-button")
            page.wait_for_selector(f".kpi-outline [data-node='{kpi}']", timeout=20_000)

            page.click("button.kpi-diff-button")
            page.wait_for_function(
                "() => document.querySelector('.kpi-diff') && "
                f"document.querySelector('.kpi-diff').textContent.includes('{kpi}')",
                timeout=20_000,
            )
            page.click("button.kpi-save-button")
            page.wait_for_function(
                "() => document.querySelector('.kpi-status') && "
                f"document.querySelector('.kpi-status').textContent.includes('{saved_word}')",
                timeout=20_000,
            )
            page.set_viewport_size({"width": 1400, "height": 2000})
            page.wait_for_timeout(500)
            page.screenshot(path=str(shot), full_page=True)
        except Exception as exc:
            tail = log.read_text(errors="replace")[-3000:] if log.is_file() else ""
            raise AssertionError(f"browser step failed: {exc}\n--- voila log ---\n{tail}") from exc

    assert shot.stat().st_size > 10_000
    keep = os.environ.get("KPI_SCREENSHOT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / shot.name)

    assert tree_file.is_file()
    saved = tree_mod.load_tree(tree_file)
    node = {n.id or n.kpi: n for n in saved.nodes}[kpi]
    assert (node.parent, node.layer, node.relation, node.owner) == ("net_profit", "execution", "informational", "T-AMZ")
    assert tree_mod.validate_tree(saved) == []


@contextlib.contextmanager
def _voila(nb: Path, root: Path, tmp: Path, env_extra: dict[str, str],
           drop: tuple[str, ...] = ("KPI_HEADLESS",)) -> Iterator[tuple[str, Path]]:
    """Voilà serving a copy of ``nb`` over the project ``root``, answering HTTP; stopped on exit."""
    nbdir = tmp / "nb"
    nbdir.mkdir(exist_ok=True)
    shutil.copy(nb, nbdir / nb.name)
    port = _free_port()
    env = dict(os.environ, KPI_ROOT=str(root), PYTHONUNBUFFERED="1", **env_extra)
    for name in drop:
        env.pop(name, None)
    log_path = tmp / f"voila-{nb.stem}.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [str(VOILA), "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1", "--ServerApp.port_retries=0",
             *VOILA_FLAGS, str(nbdir / nb.name)],
            env=env, cwd=str(nbdir), stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        url = f"http://127.0.0.1:{port}/"
        try:
            _wait_http(url, proc, 60)
            yield url, log_path
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(5)


@contextlib.contextmanager
def _page() -> Iterator[Any]:
    """A new page in Debian's headless Chromium (never a downloaded browser); closed on exit."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, timeout=30_000)
        try:
            yield browser.new_page(viewport={"width": 1400, "height": 1000})
        finally:
            browser.close()


def _demo_voila(nb: Path, demo_project: Path, tmp_path: Path) -> contextlib.AbstractContextManager:
    """Voilà serving ``nb`` over a copy of the demo project's parameters and its warehouse in place."""
    root = tmp_path / "project"
    shutil.copytree(demo_project / "parameters", root / "parameters")
    (root / "data").mkdir()
    if (demo_project / "data" / "raw").is_dir():
        (root / "data" / "raw").symlink_to(demo_project / "data" / "raw")
    env_extra = {"KPI_WAREHOUSE": str(demo_project / "data" / "warehouse"),
                 "KPI_REFERENCE": str(demo_project / "data" / "reference")}
    return _voila(nb, root, tmp_path, env_extra)


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=[n.stem for n in NOTEBOOKS])
def test_notebook_cold_load_once_within_limit(nb, demo_project, tmp_path):
    """Each notebook, served cold by Voilà on the demo data, shows its panel within the limit on the first
    and only page load (no retry), without a Python traceback on the page; a screenshot is kept."""
    with _demo_voila(nb, demo_project, tmp_path) as (url, log), _page() as page:
        t0 = time.monotonic()
        page.goto(url, wait_until="commit", timeout=60_000)
        try:
            page.wait_for_selector(".kpi-panel", state="visible", timeout=FIRST_RENDER_LIMIT_S * 1000)
        except Exception as exc:
            tail = log.read_text(errors="replace")[-3000:]
            raise AssertionError(f"{nb.name}: no panel within {FIRST_RENDER_LIMIT_S}s: {exc}\n{tail}") from exc
        first_render = time.monotonic() - t0
        page.wait_for_timeout(1500)
        text = page.inner_text("body")
        assert "Traceback" not in text and "Error" not in text.split("\n")[0]
        SCREENS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENS / f"{nb.stem}.png"), full_page=True)
        (SCREENS / f"{nb.stem}.timing.txt").write_text(f"first_render_s={first_render:.1f}\n")
    assert first_render < FIRST_RENDER_LIMIT_S


def test_cost_explorer_store_change_under_voila_without_reload(demo_project, tmp_path):
    """The cost explorer served by Voilà: choosing a store redraws the panel on the same page (no reload), and
    the server logs no tornado websocket error (the kernel's messages are written from the server's own
    thread; with a sync kernel manager an AssertionError in iostream.advance lost them and the page hung)."""
    nb = REPO / "notebooks" / "04_cost_explorer.ipynb"
    with _demo_voila(nb, demo_project, tmp_path) as (url, log), _page() as page:
        page.goto(url, wait_until="commit", timeout=60_000)
        page.wait_for_selector(".kpi-cost-store select", state="visible", timeout=FIRST_RENDER_LIMIT_S * 1000)
        labels = page.eval_on_selector_all(".kpi-cost-store select option", "els => els.map(e => e.textContent)")
        assert len(labels) >= 3, labels
        for lab in labels[1:3]:  # two stores one after the other, on the same page
            page.select_option(".kpi-cost-store select", label=lab)
            page.wait_for_function(
                "(s) => { const e = document.querySelector('.kpi-cost-scope');"
                " return e && e.textContent.includes(s); }", arg=lab.strip(), timeout=60_000)
        text = page.inner_text("body")
        assert "Traceback" not in text
    server_log = log.read_text(errors="replace")
    # the websocket failure logs "Uncaught exception in ZMQStream callback" with a traceback through iostream.py
    assert "Uncaught exception" not in server_log and "iostream.py" not in server_log, server_log[-3000:]
