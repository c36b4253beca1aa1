"""Shared fixtures: a temporary project root and, once per session, the small demo warehouse.

Required parts (``../shared/real-exports``, Chromium, Voilà, a fixture file) go through
``require(condition, reason)`` or the ``needs(condition, reason)`` marker: locally a missing part
skips the test; when the environment variable ``CI`` is set it FAILS it (CI must have them all).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parents[1]
REAL_EXPORTS = ROOT.parent / "shared" / "real-exports"

CHROMIUM = Path("/usr/bin/chromium")

os.environ.setdefault("KPI_HEADLESS", "1")


def in_ci() -> bool:
    """True when running under CI (the variable CI set to anything but empty/0/false)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


# Property tests explore new examples on every local run, but CI runs the same examples each time
# (derandomized): a landing must not depend on the draw. An example a local run finds goes into the
# test as an explicit ``@example`` (test_ingest_versions.py has one).
settings.register_profile("ci", derandomize=True, print_blob=True)
if in_ci():
    settings.load_profile("ci")


def require(condition: object, reason: str) -> None:
    """Continue when ``condition`` holds; otherwise skip the test locally, fail it under CI."""
    if condition:
        return
    if in_ci():
        pytest.fail(f"missing in CI (a skip here would hide it): {reason}", pytrace=False)
    pytest.skip(reason)


def needs(condition: object, reason: str) -> pytest.MarkDecorator:
    """Marker form of ``require`` (checked before the test and its fixtures run)."""
    return pytest.mark.needs(condition=bool(condition), reason=reason)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "needs(condition, reason): required part; skip locally, fail under CI")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    for mark in item.iter_markers("needs"):
        require(mark.kwargs["condition"], mark.kwargs["reason"])


def make_project(tmp: Path) -> Path:
    """A throwaway project root with a copy of parameters/ and templates/ (writes never touch the repo)."""
    proj = tmp / "project"
    proj.mkdir(parents=True, exist_ok=True)
    shutil.copytree(ROOT / "parameters", proj / "parameters", dirs_exist_ok=True)
    if (ROOT / "templates").is_dir():
        shutil.copytree(ROOT / "templates", proj / "templates", dirs_exist_ok=True)
    (proj / "data").mkdir(exist_ok=True)
    (proj / "outputs").mkdir(exist_ok=True)
    return proj


@pytest.fixture()
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """KPI_ROOT pointing at a fresh temporary project."""
    proj = make_project(tmp_path)
    monkeypatch.setenv("KPI_ROOT", str(proj))
    monkeypatch.delenv("KPI_WAREHOUSE", raising=False)
    monkeypatch.delenv("KPI_REFERENCE", raising=False)
    return proj


@pytest.fixture(scope="session")
def demo_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo company at a small scale: generated, ingested and computed once per test session.

    Tests that only read it may share it; tests that write must copy it first. Locally,
    ``KPI_TEST_DEMO_CACHE=<project dir built by this fixture>`` skips the build (never under CI).
    """
    from kpi_lib import demo

    cached = os.environ.get("KPI_TEST_DEMO_CACHE")
    if cached and (Path(cached) / "data" / "warehouse" / "CURRENT").is_file() and not in_ci():
        # developer shortcut: a demo project built earlier by this fixture (copied, never written)
        proj = tmp_path_factory.mktemp("demo") / "project"
        shutil.copytree(cached, proj)
        return proj
    proj = make_project(tmp_path_factory.mktemp("demo"))
    old = os.environ.get("KPI_ROOT")
    os.environ["KPI_ROOT"] = str(proj)
    try:
        demo.build(scale=0.04, seed=7, end=demo.DEMO_TEST_END, reports=False, quiet=True)
    finally:
        if old is None:
            os.environ.pop("KPI_ROOT", None)
        else:
            os.environ["KPI_ROOT"] = old
    return proj


@pytest.fixture()
def demo_env(demo_project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """KPI_ROOT set to the shared demo project (read-only use)."""
    monkeypatch.setenv("KPI_ROOT", str(demo_project))
    return demo_project


@pytest.fixture(scope="module")
def demo_env_module(demo_project: Path):
    """The shared demo project as the widgets' project for a whole module: its root, warehouse and reference
    data, headless (read-only use)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("KPI_ROOT", str(demo_project))
    mp.setenv("KPI_WAREHOUSE", str(demo_project / "data" / "warehouse"))
    mp.setenv("KPI_REFERENCE", str(demo_project / "data" / "reference"))
    mp.setenv("KPI_HEADLESS", "1")
    yield demo_project
    mp.undo()


@pytest.fixture()
def cost_wh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The worked cost fixture (tests/cost_fixtures.py): its project as KPI_ROOT, and its warehouse."""
    from cost_fixtures import make_project as make_cost_project
    from cost_fixtures import make_warehouse

    make_cost_project(tmp_path / "proj")
    monkeypatch.setenv("KPI_ROOT", str(tmp_path / "proj"))
    monkeypatch.delenv("KPI_WAREHOUSE", raising=False)
    return make_warehouse(tmp_path / "wh")
