"""`kpi send`: scope by role and period, one email per recipient, retries, dry run, recipients.yaml validation.

A local SMTP server (aiosmtpd on 127.0.0.1, a free port) receives the mail. The outputs tree is written
by the test with the real layout (outputs/<period>/<report>/<entity>.html + manifest.json) from the
demo warehouse's entities; expected scopes come from a hand-written DuckDB query on the assignments
table, not from kpi_lib.org.
"""

from __future__ import annotations

import email
import email.policy
import json
import re
import shutil
import socket
from email.message import Message
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml
from aiosmtpd.controller import Controller
from conftest import make_project
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from kpi_lib.delivery import Recipient, SmtpSettings, load_recipients, plan, scope_entities, send
from kpi_lib.errors import ConfigError, DeliveryError
from kpi_lib.reports import load_batch
from kpi_lib.validate import validate_all
from kpi_lib.warehouse import Warehouse

PERIOD = "2026-08"  # before AMZ-US-03 and SHP-MY-02 launched (demo end 2026-11): team store sets differ by month
CJK = re.compile(r"[\u4e00-\u9fff]")


# ---- SMTP server -----------------------------------------------------------------------------------
class Sink:
    """aiosmtpd handler: refuses the first ``refuse_first`` DATA commands (or all), keeps the rest."""

    def __init__(self, refuse_first: int = 0, always: bool = False) -> None:
        self.refuse_first, self.always = refuse_first, always
        self.attempts = 0
        self.messages: list[tuple[list[str], Message]] = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd hook
        self.attempts += 1
        if self.always or self.attempts <= self.refuse_first:
            return "451 4.3.0 temporary failure (test server)"
        self.messages.append((list(envelope.rcpt_tos), email.message_from_bytes(envelope.content, policy=email.policy.default)))
        return "250 OK"

    def by_recipient(self) -> dict[str, Message]:
        out: dict[str, Message] = {}
        for rcpts, msg in self.messages:
            for r in rcpts:
                assert r not in out, f"{r} received two emails"
                out[r] = msg
        return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def smtp():
    """Start a local SMTP server; yields (make(sink) -> SmtpSettings)."""
    started = []

    def make(sink: Sink) -> SmtpSettings:
        port = _free_port()
        c = Controller(sink, hostname="127.0.0.1", port=port)
        c.start()
        started.append(c)
        return SmtpSettings(host="127.0.0.1", port=port, sender="kpi@example.com", starttls=False, timeout=10)

    yield make
    for c in started:
        c.stop()


def smtp_env(s: SmtpSettings) -> dict[str, str]:
    return {"KPI_SMTP_HOST": s.host, "KPI_SMTP_PORT": str(s.port), "KPI_SMTP_FROM": s.sender,
            "KPI_SMTP_STARTTLS": "0"}


# ---- a rendered batch, fast: fake HTML files with the real layout -----------------------------------
def _entities(con: duckdb.DuckDBPyConnection, wh: Warehouse, kind: str) -> list[str]:
    if kind == "company":
        return ["company"]
    if kind == "contracts":
        data = yaml.safe_load((Path(__file__).resolve().parents[1] / "parameters" / "contracts.yaml").read_text())
        return sorted(c["id"] for c in data["contracts"])
    table, col = {"stores": ("stores", "store_id"), "teams": ("teams", "team_id"), "people": ("people", "person_id")}[kind]
    return [r[0] for r in con.execute(f"SELECT DISTINCT {col} FROM {wh.scan_sql(table)} ORDER BY 1").fetchall()]


@pytest.fixture()
def sent_project(demo_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    """A project whose outputs/PERIOD holds every report of the monthly batch (fake HTML, real paths)."""
    proj = make_project(tmp_path)
    monkeypatch.setenv("KPI_ROOT", str(proj))
    wh = Warehouse(demo_project / "data" / "warehouse")
    monkeypatch.setenv("KPI_WAREHOUSE", str(wh.path))
    monkeypatch.setenv("KPI_REFERENCE", str(demo_project / "data" / "reference"))
    batch = load_batch("monthly")
    con = duckdb.connect()
    files: dict[str, Path] = {}
    runs = {}
    for spec in batch.reports:
        for eid in _entities(con, wh, spec.entities):
            f = proj / "outputs" / PERIOD / spec.report / f"{eid}.html"
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_text(f"<html><body><!-- {spec.report}/{eid} --></body></html>", encoding="utf-8")
            files[f"{spec.report}/{eid}"] = f
            runs[f"{spec.report}/{eid}"] = {"report": spec.report, "entity": eid, "status": "ok",
                                            "html": f"{PERIOD}/{spec.report}/{eid}.html", "error": ""}
    (proj / "outputs" / PERIOD / "manifest.json").write_text(json.dumps({"period": PERIOD, "runs": runs}))
    return {"proj": proj, "wh": wh, "con": con, "files": files, "batch": batch}


def team_stores_sql(con: duckdb.DuckDBPyConnection, wh: Warehouse, team: str, period: str) -> set[str]:
    """Independent: stores a team held at any day of the month (assignments, inclusive dates, open end)."""
    q = f"""
        SELECT DISTINCT store_id FROM {wh.scan_sql("assignments")}
        WHERE team_id = ? AND CAST(valid_from AS DATE) <= last_day(CAST(? AS DATE))
          AND coalesce(CAST(nullif(CAST(valid_to AS VARCHAR), '') AS DATE), DATE '9999-12-31') >= CAST(? AS DATE)"""
    return {r[0] for r in con.execute(q, [team, f"{period}-01", f"{period}-01"]).fetchall()}


def expected_labels(r: Recipient, ctx: dict) -> set[str]:
    files = ctx["files"]
    if r.role == "management":
        return set(files)
    if r.role == "client":
        return {f"contract_settlement/{r.contract_id}"}
    out = {f"person_scorecard/{r.person_id}"} if r.person_id else set()
    if r.role == "team_lead":
        out |= {f"team_scorecard/{r.team_id}", f"team_review/{r.team_id}"}  # their team's monthly review pack
        for s in team_stores_sql(ctx["con"], ctx["wh"], str(r.team_id), PERIOD):
            out |= {f"store_performance/{s}", f"store_cost_diagnostic/{s}"}
    return out


def attachments(msg: Message) -> dict[str, bytes]:
    return {p.get_filename(): p.get_payload(decode=True) for p in msg.walk() if p.get_filename()}


def body(msg: Message) -> str:
    for p in msg.walk():
        if p.get_content_type() == "text/plain" and not p.get_filename():
            return p.get_content()
    raise AssertionError("no text body")


# ---- scope and content ---------------------------------------------------------------------------
def test_everyone_gets_exactly_their_scope(sent_project: dict, smtp) -> None:
    ctx = sent_project
    rf = load_recipients()
    # the demo month really separates the periods: T-AMZ held AMZ-US-03 only later
    assert "AMZ-US-03" not in team_stores_sql(ctx["con"], ctx["wh"], "T-AMZ", PERIOD)
    assert "AMZ-US-03" in team_stores_sql(ctx["con"], ctx["wh"], "T-AMZ", "2026-11")
    sink = Sink()
    p = plan("monthly", PERIOD)
    people = ctx["wh"].read("people").astype({"person_id": str}).set_index("person_id")
    results = send(p, smtp(sink), attempts=1)
    assert [r.status for r in results] == ["sent"] * len(rf.recipients)
    got = sink.by_recipient()
    assert set(got) == {r.email for r in rf.recipients}
    all_stores = {lab.split("/")[1] for lab in ctx["files"] if lab.startswith("store_performance/")}
    for r in rf.recipients:
        msg = got[r.email]
        att = attachments(msg)
        want = expected_labels(r, ctx)
        assert set(att) == {f"{PERIOD}_{lab.replace('/', '_')}.html" for lab in want}, r.email
        for lab in want:  # the attachment is the file itself
            assert att[f"{PERIOD}_{lab.replace('/', '_')}.html"] == ctx["files"][lab].read_bytes()
        if r.role == "person":
            assert set(att) == {f"{PERIOD}_person_scorecard_{r.person_id}.html"}
        if r.role == "team_lead":
            mine = team_stores_sql(ctx["con"], ctx["wh"], str(r.team_id), PERIOD)
            others = all_stores - mine
            assert others and not any(s in name for s in others for name in att), (r.email, sorted(att))
            assert not any("executive_overview" in n or "contract_settlement" in n for n in att)
        text = body(msg)
        assert PERIOD in text and PERIOD in msg["Subject"]
        # the batch and every entity by display name, never by internal id
        assert ("月度经营报告" if r.language == "zh" else "Monthly management pack") in msg["Subject"]
        assert "monthly" not in msg["Subject"]
        if r.role == "person":
            who = people.loc[r.person_id]
            shown = who["name_zh"] if r.language == "zh" and pd.notna(who.get("name_zh")) else who["name"]
            assert f" · {r.person_id}" not in text and f" · {shown}" in text, text
        if r.language == "zh":
            assert "您好" in text and "附件" in text
        else:
            assert text.startswith(f"Hello {r.name},") and "attached" in text
            assert not CJK.search(text.replace(r.name, "")), text
        assert msg["To"].endswith(f"<{r.email}>")


def test_headline_figures_in_body_and_missing_is_not_zero(sent_project: dict, smtp) -> None:
    f = sent_project["files"]["person_scorecard/P02"]
    f.with_name("P02.figures.json").write_text(json.dumps([
        {"entity_kind": "person", "entity_id": "P02", "period": PERIOD, "kpi": "gmv", "value": 1234567.4,
         "complete": True, "unit": "money"},
        {"entity_kind": "person", "entity_id": "P02", "period": PERIOD, "kpi": "orders", "value": None,
         "complete": False, "unit": "count"},
        {"entity_kind": "person", "entity_id": "P02", "period": "2026-07", "kpi": "net_profit", "value": 5.0,
         "complete": True, "unit": "money"},
    ]))
    sink = Sink()
    send(plan("monthly", PERIOD, only="emily.zhang@example.com"), smtp(sink), attempts=1)
    text = body(sink.by_recipient()["emily.zhang@example.com"])
    assert "GMV 1,234,567 CNY" in text
    assert "Orders — (incomplete)" in text and "Orders 0" not in text
    assert "Net profit" not in text  # another month's figure is not a headline of this one


def test_links_instead_of_attachments(sent_project: dict, smtp) -> None:
    sink = Sink()
    send(plan("monthly", PERIOD, only="liu.yang@example.com"), smtp(sink), links="https://kpi.example.com/out/",
         attempts=1)
    msg = sink.by_recipient()["liu.yang@example.com"]
    assert attachments(msg) == {}
    assert f"https://kpi.example.com/out/{PERIOD}/person_scorecard/P03.html" in body(msg)


def test_missing_report_is_reported_not_skipped(sent_project: dict, smtp) -> None:
    ctx = sent_project
    ctx["files"]["person_scorecard/P05"].unlink()
    man = ctx["proj"] / "outputs" / PERIOD / "manifest.json"
    m = json.loads(man.read_text())
    m["runs"]["person_scorecard/P05"].update(status="failed", error="KeyError: 'gmv'")
    man.write_text(json.dumps(m))
    p = plan("monthly", PERIOD)
    missing = {(r.email, it.label): it.reason for r, it in p.missing}
    assert set(missing) == {("li.na@example.com", "person_scorecard/P05"), ("ceo@example.com", "person_scorecard/P05"),
                            ("finance@example.com", "person_scorecard/P05")}
    assert "KeyError: 'gmv'" in missing[("li.na@example.com", "person_scorecard/P05")]
    sink = Sink()
    res = {r.email: r for r in send(p, smtp(sink), attempts=1)}
    assert res["li.na@example.com"].status == "not_sent"  # nothing of theirs to send: reported, not dropped
    assert res["ceo@example.com"].status == "sent" and res["ceo@example.com"].missing
    assert "person_scorecard · P05" not in body(sink.by_recipient()["finance@example.com"]).split("Not available")[0]
    assert "KeyError" in body(sink.by_recipient()["finance@example.com"])


# ---- retries and failures ------------------------------------------------------------------------
def test_refused_twice_then_sent(sent_project: dict, smtp) -> None:
    sink = Sink(refuse_first=2)
    waits: list[float] = []
    res = send(plan("monthly", PERIOD, only="jason.wang@example.com"), smtp(sink), attempts=3, backoff=0.5,
               sleep=waits.append)
    assert res[0].status == "sent" and res[0].attempts == 3
    assert waits == [0.5, 1.0]  # exponential backoff between the tries
    assert sink.attempts == 3 and len(sink.messages) == 1


def test_always_refused_fails_the_command_naming_the_recipient(sent_project: dict, smtp) -> None:
    from kpi_lib.cli import app

    s = smtp(Sink(always=True))
    out = CliRunner().invoke(app, ["send", "--period", PERIOD, "--only", "zhao.lei@example.com", "--attempts", "2"],
                             env=smtp_env(s))
    assert out.exit_code == 1, out.output
    text = " ".join(out.output.split())
    assert "zhao.lei@example.com" in text and "451" in text and "failed" in text


def test_unreachable_server_is_retried_and_reported(sent_project: dict) -> None:
    s = SmtpSettings(host="127.0.0.1", port=_free_port(), sender="kpi@example.com", starttls=False, timeout=2)
    waits: list[float] = []
    res = send(plan("monthly", PERIOD, only="wu.fang@example.com"), s, attempts=3, backoff=0.01, sleep=waits.append)
    assert res[0].status == "failed" and res[0].attempts == 3 and "ConnectionRefused" in res[0].error
    assert len(waits) == 2


def test_attachments_over_the_limit_are_split_into_several_emails(sent_project: dict, smtp) -> None:
    from kpi_lib.delivery import encoded_mb, split_by_size

    p = plan("monthly", PERIOD)
    ceo = next(d for d in p.deliveries if d.recipient.email == "ceo@example.com")
    one = max(x.html.stat().st_size for x in ceo.ready) * 4 / 3 / 1e6
    limit = encoded_mb(ceo) / 3.5  # worked: the pack needs 4 emails, each under the limit
    assert one < limit
    parts = split_by_size(ceo, limit)
    assert len(parts) == 4 and all(encoded_mb(x) <= limit for x in parts)
    assert [x.label for part in parts for x in part.ready] == [x.label for x in ceo.ready]  # all, in order, once
    sink = Sink()
    s = smtp(sink)
    s.max_mb = limit
    res = {r.email: r for r in send(p, s, attempts=1)}
    assert res["ceo@example.com"].status == "sent" and res["ceo@example.com"].parts == 4
    got = [m for rcpts, m in sink.messages if "ceo@example.com" in rcpts]
    assert len(got) == 4 and sorted(m["Subject"] for m in got) == [f"KPI 报告 {PERIOD}（月度经营报告）（第 {i}/4 封）"
                                                                     for i in range(1, 5)]
    assert sum(len(list(m.iter_attachments())) for m in got) == len(ceo.ready)
    assert res["emily.zhang@example.com"].status == "sent" and res["emily.zhang@example.com"].parts == 1


def test_a_single_report_over_the_limit_is_refused_before_sending(sent_project: dict, smtp) -> None:
    sink = Sink()
    s = smtp(sink)
    s.max_mb = 1e-6  # smaller than any report
    res = send(plan("monthly", PERIOD, only="ceo@example.com"), s, attempts=1)
    assert res[0].status == "failed" and "alone is" in res[0].error and "--links" in res[0].error
    assert "ceo@example.com" not in sink.by_recipient()
    sink2 = Sink()
    res2 = send(plan("monthly", PERIOD, only="ceo@example.com"), smtp(sink2), links="https://x.example.com", attempts=1)
    assert res2[0].status == "sent" and res2[0].parts == 1  # links are small whatever the pack's size


def test_cli_send_all_ok_exits_zero(sent_project: dict, smtp) -> None:
    from kpi_lib.cli import app

    sink = Sink()
    out = CliRunner().invoke(app, ["send", "--period", PERIOD], env=smtp_env(smtp(sink)))
    assert out.exit_code == 0, out.output
    assert len(sink.messages) == len(load_recipients().recipients)


def test_dry_run_lists_every_recipient_and_sends_nothing(sent_project: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    from rich.console import Console

    from kpi_lib import cli

    monkeypatch.setattr(cli, "console", Console(width=400, force_terminal=False))
    monkeypatch.delenv("KPI_SMTP_HOST", raising=False)  # no network settings needed
    out = CliRunner().invoke(cli.app, ["send", "--batch", "monthly", "--period", PERIOD, "--dry-run"])
    assert out.exit_code == 0, out.output
    for r in load_recipients().recipients:
        assert r.email in out.output
    emily = next(line for line in out.output.splitlines() if "emily.zhang@example.com" in line)
    assert "person P02" in emily and "person_scorecard (1): P02" in emily  # her one report, grouped by kind
    js = CliRunner().invoke(cli.app, ["send", "--period", PERIOD, "--dry-run", "--json"])
    rows = json.loads(js.output)
    assert [r["email"] for r in rows] == [r.email for r in load_recipients().recipients]


def test_user_errors_are_one_line(sent_project: dict) -> None:
    from kpi_lib.cli import app

    out = CliRunner().invoke(app, ["send", "--period", PERIOD, "--only", "nobody@example.com", "--dry-run"])
    assert out.exit_code == 1 and "nobody@example.com" in out.output and "Traceback" not in out.output
    out = CliRunner().invoke(app, ["send", "--period", PERIOD], env={"KPI_SMTP_HOST": ""})
    assert out.exit_code == 1 and "KPI_SMTP_HOST" in out.output


@pytest.mark.parametrize("env, msg", [
    ({}, "KPI_SMTP_HOST"),
    ({"KPI_SMTP_HOST": "h", "KPI_SMTP_PORT": "smtp", "KPI_SMTP_FROM": "a@example.com"}, "KPI_SMTP_PORT"),
    ({"KPI_SMTP_HOST": "h", "KPI_SMTP_STARTTLS": "maybe", "KPI_SMTP_FROM": "a@example.com"}, "KPI_SMTP_STARTTLS"),
    ({"KPI_SMTP_HOST": "h"}, "KPI_SMTP_FROM"),
    ({"KPI_SMTP_HOST": "h", "KPI_SMTP_FROM": "a@example.com", "KPI_SMTP_MAX_MB": "-1"}, "KPI_SMTP_MAX_MB"),
    ({"KPI_SMTP_HOST": "h", "KPI_SMTP_FROM": "not-an-address"}, "not an email"),
])
def test_smtp_settings_from_env_errors(env: dict, msg: str) -> None:
    with pytest.raises(DeliveryError, match=msg):
        SmtpSettings.from_env(env)


def test_smtp_settings_from_env() -> None:
    s = SmtpSettings.from_env({"KPI_SMTP_HOST": "mail.example.com", "KPI_SMTP_USER": "kpi@example.com",
                               "KPI_SMTP_PASSWORD": "pw", "KPI_SMTP_STARTTLS": "false"})
    assert (s.host, s.port, s.sender, s.starttls, s.password) == ("mail.example.com", 587, "kpi@example.com", False, "pw")
    assert "pw" not in repr(s)


# ---- invariants of the scope rule -----------------------------------------------------------------
ids = st.sampled_from(["P01", "P02", "T-AMZ", "T-SEA", "C-001", "AMZ-US-01", "SHP-SG-01", "company"])


@settings(max_examples=200, deadline=None)
@given(role=st.sampled_from(["person", "team_lead", "client"]), own=st.sampled_from(["P02", "P07"]),
       team=st.sampled_from(["T-AMZ", "T-SEA"]), contract=st.sampled_from(["C-001", "C-002"]),
       kind=st.sampled_from(["stores", "teams", "people", "contracts", "company"]),
       expected=st.lists(ids, unique=True), team_stores=st.lists(ids, unique=True))
def test_scope_never_leaves_the_role(role: str, own: str, team: str, contract: str, kind: str,
                                     expected: list[str], team_stores: list[str]) -> None:
    r = Recipient(name="x", email="x@example.com", role=role,
                  **{"person": {"person_id": own}, "team_lead": {"team_id": team},
                     "client": {"contract_id": contract}}[role])
    got = scope_entities(r, kind, expected, team_stores)
    if role == "person":
        assert got == ([own] if kind == "people" else [])
    elif role == "client":
        assert got == ([contract] if kind == "contracts" else [])
    else:
        assert set(got) <= ({team} if kind == "teams" else set(team_stores) if kind == "stores" else set())


# ---- recipients.yaml validation -----------------------------------------------------------------
def _write(proj: Path, rows: list[dict]) -> None:
    (proj / "parameters" / "recipients.yaml").write_text(yaml.safe_dump({"recipients": rows}, allow_unicode=True))


GOOD = {"name": "A", "email": "a@example.com", "language": "en", "role": "person", "person_id": "P02"}


@pytest.mark.parametrize("rows, fragment", [
    ([GOOD, {**GOOD, "email": "A@Example.com"}], "duplicate email"),
    ([{**GOOD, "email": "a@example"}], "recipients[0].email"),
    ([{**GOOD, "email": "two words@example.com"}], "not an email address"),
    ([{**GOOD, "person_id": None}], "role person needs person_id"),
    ([{**GOOD, "role": "client", "contract_id": "C-001"}], "role client takes no person_id"),
    ([{**GOOD, "role": "management"}], "role management takes no person_id"),
    ([{**GOOD, "language": "fr"}], "recipients[0].language"),
    ([{**GOOD, "phone": "1"}], "recipients[0].phone: Extra inputs are not permitted"),
    ([], "recipients"),
])
def test_recipients_model_errors(project: Path, rows: list[dict], fragment: str) -> None:
    _write(project, rows)
    with pytest.raises(ConfigError) as exc:
        load_recipients()
    assert fragment in str(exc.value)
    assert any(fragment in i for i in validate_all())


def test_validate_unknown_person_team_contract(demo_project: Path, project: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KPI_REFERENCE", str(demo_project / "data" / "reference"))
    _write(project, [{**GOOD, "person_id": "P99"},
                     {"name": "B", "email": "b@example.com", "role": "team_lead", "team_id": "T-XX"},
                     {"name": "C", "email": "c@example.com", "role": "client", "contract_id": "C-404"},
                     {"name": "D", "email": "d@example.com", "role": "team_lead", "team_id": "T-SEA",
                      "person_id": "P06"}])
    issues = [i for i in validate_all() if "recipients" in i]
    assert len(issues) == 3, issues
    joined = "\n".join(issues)
    for frag in ("recipients[0].person_id: 'P99' (a@example.com) is not in people.csv",
                 "recipients[1].team_id: 'T-XX'", "recipients[2].contract_id: 'C-404'"):
        assert frag in joined


def test_shipped_recipients_are_valid(demo_project: Path, project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KPI_REFERENCE", str(demo_project / "data" / "reference"))
    assert [i for i in validate_all() if "recipients" in i] == []
    rf = load_recipients()
    assert {r.person_id for r in rf.recipients if r.person_id} == {f"P{i:02d}" for i in range(1, 13)}
    assert {r.team_id for r in rf.recipients if r.team_id} == {"T-AMZ", "T-SEA", "T-DTC"}
    assert {r.contract_id for r in rf.recipients if r.contract_id} == {"C-001", "C-002"}
    assert all(r.email.endswith("example.com") for r in rf.recipients)


# ---- one real batch, rendered by kernels, delivered ------------------------------------------------
@pytest.mark.slow
def test_real_rendered_reports_are_delivered(demo_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             smtp) -> None:
    from kpi_lib.reports import run_batch

    proj = tmp_path / "real"
    shutil.copytree(demo_project, proj, ignore=shutil.ignore_patterns("raw"))
    shutil.copy(Path(__file__).resolve().parents[1] / "parameters" / "recipients.yaml", proj / "parameters")
    monkeypatch.setenv("KPI_ROOT", str(proj))
    monkeypatch.delenv("KPI_WAREHOUSE", raising=False)
    monkeypatch.delenv("KPI_REFERENCE", raising=False)
    summary = run_batch("monthly", period="2026-11", only="person_scorecard/P02", jobs=1)
    assert summary["ok"] == 1, summary
    html = proj / "outputs" / "2026-11" / "person_scorecard" / "P02.html"
    sink = Sink()
    res = send(plan("monthly", "2026-11", only="emily.zhang@example.com"), smtp(sink), attempts=1)
    assert res[0].status == "sent" and not res[0].missing
    att = attachments(sink.by_recipient()["emily.zhang@example.com"])
    assert att == {"2026-11_person_scorecard_P02.html": html.read_bytes()}
    # management sees that report too, and every other report of the batch is listed as not rendered
    p = plan("monthly", "2026-11", only="ceo@example.com")
    assert [it.label for it in p.deliveries[0].ready] == ["person_scorecard/P02"]
    assert len(p.deliveries[0].missing) > 30
    assert all("not rendered" in it.reason for it in p.deliveries[0].missing)
