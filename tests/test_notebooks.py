"""Every widget notebook runs top to bottom headless (KPI_HEADLESS=1) against a temporary project.

Three situations are covered: a project without a warehouse (the notebooks must say to run
`make demo` instead of failing), the engine's small fixture warehouse, and the small demo company
the test session builds itself (read-only: KPI_WAREHOUSE points at it, writes go to the temporary
project), so nothing is skipped on a fresh clone.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
EXPECTED = [
    "01_data_onboarding", "02_kpi_tree_designer", "03_target_setting",
    "04_cost_explorer", "05_contract_simulator", "06_training_walkthrough", "07_actions_review",
]


@pytest.fixture
def nb_project(project: Path) -> Path:
    """The shared temporary project (conftest ``project``) with an empty data/raw."""
    (project / "data" / "raw").mkdir(parents=True, exist_ok=True)
    return project


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


def _run_all(paths: list[Path]) -> dict[str, str]:
    """Run notebooks concurrently (one kernel each); returns {stem: output text}; raises listing failures."""
    from concurrent.futures import ThreadPoolExecutor

    def one(p: Path) -> tuple[str, str | None, str | None]:
        for attempt in (1, 2):
            try:
                return p.stem, _text(_run(p, REPO / "notebooks")), None
            except Exception as exc:  # noqa: BLE001 - collected and reported below with the notebook name
                # a kernel that died before its first reply never ran a cell: jupyter_client picks free ports
                # and the kernel binds them later, so with seven kernels starting at once another process can
                # take one between the two ("ZMQError: Address already in use"); start it once more
                if attempt == 1 and "Kernel died before replying to kernel_info" in str(exc):
                    continue
                return p.stem, None, f"{type(exc).__name__}: {str(exc)[-1500:]}"
        raise AssertionError("unreachable")

    with ThreadPoolExecutor(max_workers=len(paths)) as pool:
        results = list(pool.map(one, paths))
    failures = {stem: err for stem, _t, err in results if err}
    assert not failures, "notebooks failed headless:\n" + "\n\n".join(f"{k}: {v}" for k, v in failures.items())
    return {stem: text or "" for stem, text, _e in results}


def test_notebooks_run_headless_without_warehouse(nb_project):
    """No warehouse: every notebook runs; data-dependent ones tell the user to run `make demo`."""
    texts = _run_all(NOTEBOOKS)
    for stem, text in texts.items():
        assert "Traceback" not in text, stem
    for stem in ("03_target_setting", "04_cost_explorer", "05_contract_simulator"):
        assert "make demo" in texts[stem], f"{stem} must tell the user to run make demo"


@pytest.fixture(scope="module")
def fixture_warehouse(tmp_path_factory):
    from engine_fixtures import make_warehouse

    path = tmp_path_factory.mktemp("nb_wh") / "warehouse"
    make_warehouse(path)
    return path


def test_notebooks_run_headless_with_data(nb_project, fixture_warehouse, monkeypatch):
    """With a warehouse (the engine's small fixture): the data-dependent parts run too."""
    monkeypatch.setenv("KPI_WAREHOUSE", str(fixture_warehouse))
    texts = _run_all(NOTEBOOKS)
    for stem, text in texts.items():
        assert "Traceback" not in text and "no warehouse yet" not in text.lower(), stem


def test_notebooks_run_headless_on_demo_data(nb_project, demo_project, monkeypatch):
    """On the demo company the test session builds (conftest ``demo_project``, read-only; writes go to
    the temporary project): runs on every fresh clone, no `make demo` needed beforehand."""
    monkeypatch.setenv("KPI_WAREHOUSE", str(demo_project / "data" / "warehouse"))
    monkeypatch.setenv("KPI_REFERENCE", str(demo_project / "data" / "reference"))
    texts = _run_all(NOTEBOOKS)
    for stem, text in texts.items():
        assert "Traceback" not in text and "no warehouse yet" not in text.lower(), stem
