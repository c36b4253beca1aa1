"""No silent skips: a required part missing under CI is a failure; test files skip only through
``conftest.require`` / ``conftest.needs``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import in_ci, needs, require

HERE = Path(__file__).resolve().parent
SKIPPING = re.compile(r"pytest\.mark\.skipif\(|pytest\.skip\(|importorskip\(|pytest\.mark\.skip\b|pytest\.xfail\(")


def test_require_skips_locally_and_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    require(True, "present")  # nothing happens
    monkeypatch.delenv("CI", raising=False)
    assert not in_ci()
    with pytest.raises(pytest.skip.Exception, match="gone"):
        require(False, "gone")
    for value in ("true", "1", "yes"):
        monkeypatch.setenv("CI", value)
        assert in_ci()
        with pytest.raises(pytest.fail.Exception, match="missing in CI.*gone"):
            require(False, "gone")
    monkeypatch.setenv("CI", "false")
    assert not in_ci()


def test_needs_marker_carries_condition_and_reason() -> None:
    m = needs(Path("/nonexistent-kpi").exists(), "needs a thing").mark
    assert m.name == "needs" and m.kwargs == {"condition": False, "reason": "needs a thing"}


def test_test_files_do_not_skip_on_their_own() -> None:
    """Every skip goes through conftest.require/needs (so CI turns it into a failure)."""
    offenders = []
    for p in sorted(HERE.glob("test_*.py")):
        if p.name == Path(__file__).name:
            continue
        for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
            if SKIPPING.search(line):
                offenders.append(f"{p.name}:{i}: {line.strip()}")
    assert not offenders, "skips outside conftest.require/needs:\n" + "\n".join(offenders)


def test_browser_tests_are_required_under_ci() -> None:
    import test_report_browser
    import test_voila_browser

    for mod in (test_report_browser, test_voila_browser):
        marks = [m.mark for m in mod.pytestmark if hasattr(m, "mark")]
        assert any(m.name == "needs" for m in marks), mod.__name__
