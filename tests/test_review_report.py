"""The monthly team review (templates/team_review.ipynb) renders through `kpi report` for every demo
team (zh, and en for one), with deviations, drivers, last review's actions and an agenda, and no
internal (snake_case) token in the visible text. The demo project is copied first (rendering writes
outputs); the warehouse is shared read-only.
"""

from __future__ import annotations

import html as htmllib
import os
import re
import shutil
from pathlib import Path

import pytest

PERIOD = "2026-11"
TEAMS = ["T-AMZ", "T-DTC", "T-SEA"]
BATCH = """
name: review-test
timeout: 180
reports:
  - {template: team_review, entities: teams}
  - {template: team_review, name: team_review_en, entities: teams, ids: [T-AMZ], language: en}
"""


def visible_text(page: str) -> str:
    """What a reader sees: the page without scripts, styles and tags."""
    body = re.sub(r"<script.*?</script>|<style.*?</style>", "", page, flags=re.DOTALL)
    return htmllib.unescape(re.sub(r"<[^>]+>", "\n", body))


@pytest.fixture(scope="module")
def rendered(demo_project: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    from conftest import ROOT

    from kpi_lib.reports import run_batch

    proj = tmp_path_factory.mktemp("review") / "project"
    shutil.copytree(demo_project / "parameters", proj / "parameters")
    shutil.copytree(ROOT / "templates", proj / "templates")
    (proj / "outputs").mkdir()
    (proj / "parameters" / "batches" / "review-test.yaml").write_text(BATCH, encoding="utf-8")
    old = {k: os.environ.get(k) for k in ("KPI_ROOT", "KPI_WAREHOUSE", "KPI_REFERENCE")}
    os.environ.update(KPI_ROOT=str(proj), KPI_WAREHOUSE=str(demo_project / "data" / "warehouse"),
                      KPI_REFERENCE=str(demo_project / "data" / "reference"))
    try:
        summary = run_batch("review-test", period=PERIOD, jobs=2)
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return proj, summary


def test_monthly_batch_has_the_review_for_every_team() -> None:
    from conftest import ROOT

    from kpi_lib.config import load_model
    from kpi_lib.reports import Batch

    batch = load_model(ROOT / "parameters" / "batches" / "monthly.yaml", Batch)
    assert any(r.template == "team_review" and r.entities == "teams" for r in batch.reports)


def test_review_renders_for_every_team(rendered: tuple[Path, dict]) -> None:
    proj, summary = rendered
    bad = [r for r in summary["results"] if r["status"] != "ok"]
    assert not bad, bad
    assert summary["ok"] == len(TEAMS) + 1
    for team in TEAMS:
        page = (proj / "outputs" / PERIOD / "team_review" / f"{team}.html").read_text(encoding="utf-8")
        text = visible_text(page)
        for label in ("月度复盘", "会议议程", "未达标指标", "偏差驱动因素", "上次复盘的行动及结果", "其他新增与进行中的行动",
                      "数据新鲜度"):
            assert label in text, (team, label)
        tokens = sorted(set(re.findall(r"\b[A-Za-z0-9]+_[A-Za-z0-9_]+\b", text)))
        assert not tokens, (team, tokens)
        assert "Traceback" not in text and "None" not in text.split(), team


def test_review_content_for_the_amazon_team(rendered: tuple[Path, dict]) -> None:
    proj, _ = rendered
    zh = visible_text((proj / "outputs" / PERIOD / "team_review" / "T-AMZ.html").read_text(encoding="utf-8"))
    # last review's actions with results; the overdue one highlighted; a red KPI without action on the agenda
    for aid in ("ACT-2026-010", "ACT-2026-011", "ACT-2026-012", "ACT-2026-013", "ACT-2026-014"):
        assert aid in zh, aid
    assert "逾期 12 天" in zh and "已放弃" in zh
    assert re.search(r"(达到预期|未达预期)", zh) and re.search(r"(有改善|无改善)", zh)
    assert "广告花费" in zh and "广告销售额" in zh, "drivers of ACoS from the attribution"
    assert "ACT-2026-015" not in zh, "another team's action"
    assert "王杰森" in zh, "owners are named in the team's own review"
    en = visible_text((proj / "outputs" / PERIOD / "team_review_en" / "T-AMZ.html").read_text(encoding="utf-8"))
    assert "Monthly review" in en and "Agenda" in en and "days overdue" in en and "Jason Wang" in en
    assert not re.search(r"[\u4e00-\u9fff]", en.split("Data freshness")[0].replace("亚马逊组", "")), \
        "the English pack has no Chinese labels"
    tokens = sorted(set(re.findall(r"\b[A-Za-z0-9]+_[A-Za-z0-9_]+\b", en)))
    assert not tokens, tokens
