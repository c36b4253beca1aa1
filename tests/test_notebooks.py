"""Every widget notebook runs top to bottom headless (KPI_HEADLESS=1) against a temporary project.

Two situations are covered: a project without a warehouse (the notebooks must say to run
`make demo` instead of failing) and, when the checkout has a demo warehouse, the demo data
(read-only: KPI_WAREHOUSE points at it, writes go to the temporary project).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
EXPECTED = [
    "01_data_onboarding", "02_kpi_tree_designer", "03_target_setting",
    "04_cost_explorer", "05_contract_simulator", "06_training_walkthrough",
]


def _demo_warehouse() -> Path | None:
    wh = REPO / "data" / "warehouse"
    return wh if (wh / "CURRENT").is_file() else None


@pytest.fixture
def nb_project(tmp_path, monkeypatch):
    root = tmp_path / "project"
    shutil.copytree(REPO / "parameters", root / "parameters")
    (root / "data" / "raw").mkdir(parents=True)
    monkeypatch.setenv("KPI_ROOT", str(root))
    monkeypatch.setenv("KPI_HEADLESS", "1")
    monkeypatch.delenv("KPI_WAREHOUSE", raising=False)
    monkeypatch.delenv("KPI_REFERENCE", raising=False)
    return root


def _run(path: Path, cwd: Path) -> nbformat.NotebookNode:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=90, kernel_name="python3", resources={"metadata": {"path": str(cwd)}})
    client.execute()
    return nb


def _text(nb: nbformat.NotebookNode) -> str:
    out = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            out.append(json.dumps(o.get("data", {})) + o.get("text", ""))
    return "\n".join(out)


def test_notebooks_present_and_without_outputs():
    assert [p.stem for p in NOTEBOOKS] == EXPECTED
    for p in NOTEBOOKS:
        nb = nbformat.read(p, as_version=4)
        nbformat.validate(nb)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert 1 <= len(code) <= 4, f"{p.name}: notebooks stay thin"
        for c in code:
            assert not c.outputs and c.execution_count is None, f"{p.name}: committed with outputs"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_headless_without_warehouse(path, nb_project):
    nb = _run(path, REPO / "notebooks")
    text = _text(nb)
    assert "Traceback" not in text
    if path.stem in ("03_target_setting", "04_cost_explorer", "05_contract_simulator"):
        assert "make demo" in text, "a data-dependent notebook must tell the user to run make demo"


@pytest.fixture(scope="module")
def fixture_warehouse(tmp_path_factory):
    from engine_fixtures import make_warehouse

    path = tmp_path_factory.mktemp("nb_wh") / "warehouse"
    make_warehouse(path)
    return path


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_headless_with_data(path, nb_project, fixture_warehouse, monkeypatch):
    """With a warehouse (the engine's small fixture): the data-dependent parts run too."""
    monkeypatch.setenv("KPI_WAREHOUSE", str(fixture_warehouse))
    nb = _run(path, REPO / "notebooks")
    text = _text(nb)
    assert "Traceback" not in text and "no warehouse yet" not in text.lower()


@pytest.mark.skipif(_demo_warehouse() is None, reason="no demo warehouse in the checkout (run make demo)")
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_headless_on_demo_data(path, nb_project, monkeypatch):
    """On the checkout's demo warehouse, read-only (writes still go to the temporary project)."""
    monkeypatch.setenv("KPI_WAREHOUSE", str(_demo_warehouse()))
    if (REPO / "data" / "reference").is_dir():
        monkeypatch.setenv("KPI_REFERENCE", str(REPO / "data" / "reference"))
    nb = _run(path, REPO / "notebooks")
    assert "Traceback" not in _text(nb)
