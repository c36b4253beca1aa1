"""Shared fixtures: a temporary project root and, once per session, the small demo warehouse."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REAL_EXPORTS = ROOT.parent / "shared" / "real-exports"

os.environ.setdefault("KPI_HEADLESS", "1")


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

    Tests that only read it may share it; tests that write must copy it first.
    """
    from kpi_lib import demo

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
