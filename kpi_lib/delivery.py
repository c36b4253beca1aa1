"""`kpi send`: email each recipient the rendered reports they may see.

Recipients live in ``parameters/recipients.yaml`` (:class:`RecipientsFile`). Scope by role:

- ``person``      their own person scorecard(s) (reports of the batch over ``people`` with their id);
- ``team_lead``   their team's reports (``teams``) and the reports of every store their team held in the
                  period (org assignments valid in that month), plus their own scorecard when ``person_id``;
- ``management``  every report of the batch;
- ``client``      their contract's reports (``contracts``, i.e. the settlement statement) only.

:func:`plan` reads what a batch wrote (``outputs/<period>/<report>/<entity>.html`` and the run's
``outputs/<period>/manifest.json``); it never renders. A report a recipient should get but whose file
is absent is kept in the plan as *missing* with the reason (failed run, never rendered) and reported.
:func:`send` sends one email per recipient (attachments, or links with ``links=BASE_URL``), retrying a
failed send a bounded number of times with exponential backoff; every failure is returned, none is
dropped. SMTP settings come from environment variables only (:meth:`SmtpSettings.from_env`).

Size (≈550 lines): plan (who may see what), message building and the SMTP send with retries are
one delivery run; the scope rules are the part tests check.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import smtplib
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from rich.markup import escape
from rich.table import Table

from . import paths
from .config import read_yaml, workbench
from .definitions import load_catalog
from .errors import DeliveryError, KpiError
from .labels import label
from .org import entity_stores
from .report_data import entity_name
from .reports import entity_ids, load_batch, safe_name
from .spec import recipients as recipients_spec
from .spec.batches import batch_label
from .spec.recipients import (  # noqa: F401 - re-exported
    EMAIL_RE,
    RECIPIENTS_FILE,
    ROLE_IDS,
    Recipient,
    RecipientsFile,
    Role,
)
from .warehouse import Warehouse

HEADLINE_KPIS = ["gmv", "orders", "contribution", "net_profit", "score", "fee_total", "achievement"]
MAX_HEADLINES = 4
REPORT_TITLES = {
    "executive_overview": ("经营总览", "Executive overview"),
    "store_performance": ("店铺业绩", "Store performance"),
    "team_scorecard": ("团队计分卡", "Team scorecard"),
    "person_scorecard": ("个人计分卡", "Personal scorecard"),
    "scorecard": ("计分卡", "Scorecard"),
    "contract_settlement": ("合同结算单", "Contract settlement statement"),
    "cost_diagnostic": ("成本诊断", "Cost diagnostic"),
    "store_cost_diagnostic": ("店铺成本诊断", "Store cost diagnostic"),
}


# ---- recipients.yaml -----------------------------------------------------------------------------
def recipients_path() -> Path:
    return paths.parameters_dir() / RECIPIENTS_FILE


def load_recipients(path: Path | None = None) -> RecipientsFile:
    """Validated recipients (ConfigError listing every problem; DeliveryError when the file is absent)."""
    p = path or recipients_path()
    if not p.is_file():
        raise DeliveryError(f"{p}: no recipients file; list who gets which reports there "
                            "(see README, `kpi send`)")
    return recipients_spec.load(p)


def _csv_ids(path: Path, col: str) -> set[str] | None:
    if not path.is_file():
        return None
    df = pd.read_csv(path, dtype=str, usecols=lambda c: c == col)
    return set(df[col].dropna().astype(str)) if col in df.columns else None


def known_ids(parameters: Path | None = None, reference: Path | None = None,
              warehouse: Warehouse | None = None) -> dict[str, set[str] | None]:
    """person/team/contract ids to check recipients against (None = cannot be checked: no data).

    People and teams come from the reference CSVs (else the warehouse's copies); contracts from
    contracts.yaml beside recipients.yaml.
    """
    ref = reference or paths.reference_dir()
    out: dict[str, set[str] | None] = {"person_id": _csv_ids(ref / "people.csv", "person_id"),
                                       "team_id": _csv_ids(ref / "teams.csv", "team_id"), "contract_id": None}
    wh = warehouse
    for key, table in (("person_id", "people"), ("team_id", "teams")):
        if out[key] is None:
            try:
                wh = wh or Warehouse()
                if wh.exists() and wh.has(table):
                    out[key] = set(wh.read(table)[key].dropna().astype(str))
            except KpiError:
                pass
    cpath = (parameters or paths.parameters_dir()) / "contracts.yaml"
    if cpath.is_file():
        data = read_yaml(cpath) or {}
        items = data.get("contracts") or [] if isinstance(data, dict) else []
        out["contract_id"] = {str(c.get("id") or c.get("contract_id")) for c in items
                              if isinstance(c, dict) and (c.get("id") or c.get("contract_id"))}
    return out


def check_references(rf: RecipientsFile, known: dict[str, set[str] | None], source: str = RECIPIENTS_FILE) -> list[str]:
    """Issues for ids no reference knows (a recipient that would silently receive nothing)."""
    issues = []
    what = {"person_id": "people.csv", "team_id": "teams.csv", "contract_id": "contracts.yaml"}
    for i, r in enumerate(rf.recipients):
        for key in ("person_id", "team_id", "contract_id"):
            v = getattr(r, key)
            ids = known.get(key)
            if v and ids is not None and v not in ids:
                shown = ", ".join(sorted(ids)[:15]) + (" …" if len(ids) > 15 else "")
                issues.append(f"{source}: recipients[{i}].{key}: {v!r} ({r.email}) is not in {what[key]} "
                              f"(known: {shown or 'none'})")
    return issues


def validate_recipients(path: Path, reference: Path | None = None) -> list[str]:
    """`kpi validate` hook: the model (raises ConfigError) plus unknown person/team/contract ids."""
    rf = recipients_spec.load(path)
    return check_references(rf, known_ids(path.parent, reference), path.name)


# ---- planning ------------------------------------------------------------------------------------
@dataclass
class PlannedReport:
    """One report file a recipient may see, and whether the batch produced it."""

    report: str
    entity_kind: str
    entity: str
    html: Path
    status: Literal["ready", "missing"]
    reason: str = ""

    @property
    def label(self) -> str:
        return f"{self.report}/{self.entity}"

    @property
    def figures(self) -> Path:
        return self.html.with_name(self.html.stem + ".figures.json")


@dataclass
class Delivery:
    recipient: Recipient
    reports: list[PlannedReport]

    @property
    def ready(self) -> list[PlannedReport]:
        return [r for r in self.reports if r.status == "ready"]

    @property
    def missing(self) -> list[PlannedReport]:
        return [r for r in self.reports if r.status == "missing"]


@dataclass
class DeliveryPlan:
    batch: str
    period: str
    outputs: Path
    deliveries: list[Delivery]
    titles: dict[str, str] = field(default_factory=dict)  # language → the batch's display name
    names: dict[tuple[str, str, str], str] = field(default_factory=dict)  # (kind, id, language) → display name

    def title(self, lang: str) -> str:
        return self.titles.get(lang) or self.batch

    def name(self, item: PlannedReport, lang: str) -> str:
        """The entity's display name (its id when the warehouse does not name it)."""
        return self.names.get((item.entity_kind, item.entity, lang)) or item.entity

    @property
    def missing(self) -> list[tuple[Recipient, PlannedReport]]:
        return [(d.recipient, r) for d in self.deliveries for r in d.missing]


_KIND = {"stores": "store", "teams": "team", "people": "person", "contracts": "contract", "company": "company"}


def _month_bounds(period: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    start = pd.Timestamp(f"{period}-01")
    return start, start + pd.offsets.MonthEnd(0)


def _latest_period(out: Path) -> str | None:
    periods = sorted(p.parent.name for p in out.glob("*/manifest.json")
                     if re.match(r"^\d{4}-(0[1-9]|1[0-2])$", p.parent.name))
    return periods[-1] if periods else None


def _short(text: str, n: int = 120) -> str:
    """First line of an error, at most ``n`` characters (the manifest and notebook keep the whole)."""
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= n else line[: n - 1] + "…"


def scope_entities(r: Recipient, entities: str, expected: list[str], team_stores: list[str]) -> list[str]:
    """The entities of one report kind (``entities`` set of a batch entry) a recipient may see."""
    if r.role == "management":
        return expected
    if entities == "people" and r.person_id and r.role in ("person", "team_lead"):
        return [r.person_id]
    if r.role == "team_lead":
        if entities == "teams":
            return [str(r.team_id)]
        if entities == "stores":
            return team_stores
    if r.role == "client" and entities == "contracts":
        return [str(r.contract_id)]
    return []


def plan(batch: str | Path | None = "monthly", period: str | None = None, warehouse: Warehouse | str | Path | None = None,
         recipients: RecipientsFile | Path | None = None, only: str | None = None) -> DeliveryPlan:
    """Who gets which report file of a rendered batch in ``period`` (nothing is sent)."""
    b = load_batch(batch)
    rf = recipients if isinstance(recipients, RecipientsFile) else load_recipients(recipients)
    out = paths.outputs_dir()
    period = period or b.period or _latest_period(out)
    if not period or not re.match(r"^\d{4}-(0[1-9]|1[0-2])$", period):
        raise DeliveryError(f"--period must be 'YYYY-MM' (got {period!r}); render it first with "
                            "`kpi report --period YYYY-MM`")
    people = rf.recipients
    if only:
        people = [r for r in people if r.email.lower() == only.strip().lower()]
        if not people:
            raise DeliveryError(f"--only {only}: no such recipient in {RECIPIENTS_FILE} "
                                f"(known: {', '.join(r.email for r in rf.recipients)})")
    wh = Warehouse.of(warehouse)
    man_path = out / period / "manifest.json"
    runs: dict[str, Any] = {}
    if man_path.is_file():
        try:
            runs = json.loads(man_path.read_text(encoding="utf-8")).get("runs", {})
        except json.JSONDecodeError as exc:
            raise DeliveryError(f"{man_path}: unreadable run manifest ({exc}); re-run `kpi report`") from None
    has_wh = wh.exists()
    if not has_wh and not runs:
        raise DeliveryError(f"nothing rendered for {period}: no {man_path} and no warehouse at {wh.path}; "
                            f"run `kpi report --batch {b.name} --period {period}` first")
    start, end = _month_bounds(period)
    team_stores: dict[str, list[str]] = {}
    for r in people:
        if r.role == "team_lead" and r.team_id not in team_stores:
            team_stores[str(r.team_id)] = (entity_stores("team", r.team_id, start, end, wh) if has_wh else
                                           [])
    expected: dict[int, list[str]] = {}
    for i, spec in enumerate(b.reports):
        ids = list(spec.ids) if spec.ids else (entity_ids(spec.entities, wh) if has_wh else [])
        ids += [v["entity"] for v in runs.values() if v.get("report") == spec.report and v["entity"] not in ids
                and not spec.ids]
        expected[i] = ids
    deliveries = []
    for r in people:
        items: list[PlannedReport] = []
        for i, spec in enumerate(b.reports):
            allowed = set(spec.ids) if spec.ids else None
            for eid in scope_entities(r, spec.entities, expected[i], team_stores.get(str(r.team_id), [])):
                if allowed is not None and eid not in allowed:
                    continue
                html = out / period / spec.report / f"{safe_name(eid)}.html"
                run = runs.get(f"{spec.report}/{eid}")
                if html.is_file():
                    items.append(PlannedReport(spec.report, _KIND[spec.entities], eid, html, "ready"))
                    continue
                if run and run.get("status") == "failed":
                    why = f"rendering failed: {_short(str(run.get('error') or 'unknown error'))}"
                elif run:
                    why = f"file {html.relative_to(out)} is gone (run status {run.get('status')})"
                else:
                    why = f"not rendered (run `kpi report --batch {b.name} --period {period}`)"
                items.append(PlannedReport(spec.report, _KIND[spec.entities], eid, html, "missing", why))
        deliveries.append(Delivery(r, items))
    names: dict[tuple[str, str, str], str] = {}
    if has_wh:
        for d in deliveries:
            for it in d.reports:
                key = (it.entity_kind, it.entity, d.recipient.language)
                if key not in names:
                    names[key] = entity_name(wh, it.entity_kind, it.entity, d.recipient.language) or it.entity
    return DeliveryPlan(b.name, period, out, deliveries, {lg: batch_label(b, lg) for lg in ("zh", "en")}, names)


# ---- email content -------------------------------------------------------------------------------


def _t(key: str, lang: str, **kw: Any) -> str:
    return label(f"delivery.{key}", lang).format(**kw)


def report_title(report: str, lang: str) -> str:
    zh, en = REPORT_TITLES.get(report, (report, report))
    return zh if lang == "zh" else en


def _fmt(value: float, unit: str, currency: str) -> str:
    if unit == "money":
        return f"{value:,.0f} {currency}"
    if unit == "pct":
        return f"{value * 100:.1f}%"
    if unit == "count":
        return f"{value:,.0f}"
    if unit in ("days", "hours"):
        return f"{value:,.1f} {'d' if unit == 'days' else 'h'}"
    return f"{value:,.2f}"


def headlines(item: PlannedReport, period: str, lang: str) -> list[str]:
    """A few headline figures of a report from its ``<entity>.figures.json`` (empty when absent).

    Figures the page showed as incomplete or missing say so (missing is not zero).
    """
    if not item.figures.is_file():
        return []
    try:
        figs = json.loads(item.figures.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, OSError):
        return []
    mine = [f for f in figs if isinstance(f, dict) and f.get("period") == period
            and f.get("entity_kind") == item.entity_kind
            and (item.entity_kind == "company" or str(f.get("entity_id")) == item.entity)]
    by_kpi: dict[str, dict] = {}
    for f in mine:
        by_kpi.setdefault(str(f.get("kpi")), f)
    chosen = [k for k in HEADLINE_KPIS if k in by_kpi][:MAX_HEADLINES]
    if not chosen:
        chosen = list(by_kpi)[:3]
    try:

        cat = load_catalog()
    except (KpiError, ImportError):
        cat = None
    currency = workbench().reporting_currency
    lines = []
    for k in chosen:
        f = by_kpi[k]
        name = k
        if cat is not None:
            try:
                d = cat.get(k.split(":")[0])
                name = d.zh if lang == "zh" else d.en
            except (KeyError, KpiError):
                pass
        v = f.get("value")
        shown = "—" if v is None else _fmt(float(v), str(f.get("unit") or ""), currency)
        if v is None or not f.get("complete", True):
            shown += f" ({_t('incomplete', lang)})"
        lines.append(f"{name} {shown}")
    return lines


def link_for(item: PlannedReport, outputs: Path, base_url: str) -> str:
    return base_url.rstrip("/") + "/" + item.html.relative_to(outputs).as_posix()


def attachment_name(item: PlannedReport, period: str) -> str:
    return f"{period}_{item.report}_{safe_name(item.entity)}.html"


def compose(d: Delivery, p: DeliveryPlan, sender: str, links: str | None = None,
            part: tuple[int, int] = (1, 1)) -> EmailMessage:
    """The email for one recipient: summary body in their language, reports attached (or linked);
    ``part`` (i, n) numbers the emails when the attachments are split over n of them."""
    r, lang = d.recipient, d.recipient.language
    msg = EmailMessage()
    msg["Subject"] = _t("subject", lang, period=p.period, batch=p.title(lang)) + (
        _t("part", lang, i=part[0], n=part[1]) if part[1] > 1 else "")
    msg["From"] = sender
    msg["To"] = formataddr((r.name, r.email))
    msg["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1].strip(">") or None)
    lines = [_t("hello", lang, name=r.name), ""]
    lines.append(_t("linked" if links else "attached", lang, period=p.period, n=len(d.ready)))
    for it in d.ready:
        head = headlines(it, p.period, lang)
        line = f"  - {report_title(it.report, lang)} · {p.name(it, lang)}"
        if head:
            line += ("：" if lang == "zh" else ": ") + ("；" if lang == "zh" else "; ").join(head)
        if links:
            line += f"\n    {link_for(it, p.outputs, links)}"
        lines.append(line)
    if d.missing:
        lines += ["", _t("missing", lang)]
        lines += [f"  - {report_title(it.report, lang)} · {p.name(it, lang)} ({it.reason})" for it in d.missing]
    lines += ["", _t("footer", lang)]
    msg.set_content("\n".join(lines))
    if not links:
        for it in d.ready:
            msg.add_attachment(it.html.read_bytes(), maintype="text", subtype="html",
                               filename=attachment_name(it, p.period))
    return msg


# ---- SMTP ----------------------------------------------------------------------------------------
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off", ""}


def max_mb_from_env(env: Mapping[str, str] | None = None) -> float:
    """KPI_SMTP_MAX_MB (default 20): the largest email, in MB after base64, the server accepts."""
    raw = ((os.environ if env is None else env).get("KPI_SMTP_MAX_MB", "20") or "20").strip() or "20"
    try:
        max_mb = float(raw)
        if max_mb <= 0:
            raise ValueError
    except ValueError:
        raise DeliveryError(f"KPI_SMTP_MAX_MB must be a positive number of megabytes, got {raw!r}") from None
    return max_mb


def report_mb(x: PlannedReport) -> float:
    """Size of one report as an email attachment (base64: × 4/3), in MB."""
    return x.html.stat().st_size * 4 / 3 / 1e6


def encoded_mb(d: Delivery) -> float:
    """Size of ``d``'s attachments in the email, in MB."""
    return sum(report_mb(x) for x in d.ready)


def split_by_size(d: Delivery, max_mb: float) -> list[Delivery]:
    """``d`` as one or more emails whose attachments each stay under ``max_mb`` (base64), reports in plan
    order; the missing ones are listed in the first. [] when one report alone is over the limit."""
    parts: list[list[PlannedReport]] = [[]]
    size = 0.0
    for x in d.ready:
        mb = report_mb(x)
        if mb > max_mb:
            return []
        if parts[-1] and size + mb > max_mb:
            parts.append([])
            size = 0.0
        parts[-1].append(x)
        size += mb
    return [Delivery(d.recipient, part + (d.missing if i == 0 else [])) for i, part in enumerate(parts)]


@dataclass
class SmtpSettings:
    """Where and how to send (from KPI_SMTP_* environment variables, never from repository files)."""

    host: str
    port: int = 587
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    sender: str = ""
    starttls: bool = True
    timeout: float = 30.0
    max_mb: float = 20.0  # most servers refuse messages over 20-25 MB; attachments are base64 (x 4/3)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> SmtpSettings:
        e = os.environ if env is None else env
        host = e.get("KPI_SMTP_HOST", "").strip()
        if not host:
            raise DeliveryError("KPI_SMTP_HOST is not set: export KPI_SMTP_HOST, KPI_SMTP_PORT, KPI_SMTP_FROM "
                                "(and KPI_SMTP_USER/KPI_SMTP_PASSWORD, KPI_SMTP_STARTTLS) or use --dry-run")
        raw_port = e.get("KPI_SMTP_PORT", "587").strip() or "587"
        try:
            port = int(raw_port)
            if not 0 < port < 65536:
                raise ValueError
        except ValueError:
            raise DeliveryError(f"KPI_SMTP_PORT must be a port number 1..65535, got {raw_port!r}") from None
        tls = e.get("KPI_SMTP_STARTTLS", "1").strip().lower()
        if tls not in _TRUE | _FALSE:
            raise DeliveryError(f"KPI_SMTP_STARTTLS must be 1/0 (true/false), got {tls!r}")
        user = e.get("KPI_SMTP_USER") or None
        sender = (e.get("KPI_SMTP_FROM") or (user if user and "@" in user else "")).strip()
        if not sender:
            raise DeliveryError("KPI_SMTP_FROM is not set: the sender address, e.g. kpi@your-company.com")
        addr = sender.rsplit("<", 1)[-1].rstrip(">").strip()
        if not EMAIL_RE.match(addr):
            raise DeliveryError(f"KPI_SMTP_FROM {sender!r} is not an email address")
        return cls(host, port, user, e.get("KPI_SMTP_PASSWORD") or None, sender, tls in _TRUE,
                   max_mb=max_mb_from_env(e))


@dataclass
class SendResult:
    email: str
    name: str
    status: Literal["sent", "failed", "not_sent"]
    attempts: int = 0
    error: str = ""
    reports: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    parts: int = 0  # emails sent to this recipient (attachments over KPI_SMTP_MAX_MB are split)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _deliver_once(msg: EmailMessage, to: str, s: SmtpSettings) -> None:
    with smtplib.SMTP(s.host, s.port, timeout=s.timeout) as smtp:
        if s.starttls:
            smtp.starttls(context=ssl.create_default_context())
        if s.user:
            smtp.login(s.user, s.password or "")
        refused = smtp.send_message(msg, to_addrs=[to])
        if refused:
            raise smtplib.SMTPRecipientsRefused(refused)


def send(p: DeliveryPlan, settings: SmtpSettings, links: str | None = None, attempts: int = 3,
         backoff: float = 2.0, sleep: Callable[[float], None] | None = None,
         progress: Callable[[SendResult], None] | None = None) -> list[SendResult]:
    """One email per recipient of the plan; each failed send is retried ``attempts`` times in all with
    exponential backoff (``backoff`` s, then ×2). Returns every outcome; never raises for a failed send."""
    results = []
    for d in p.deliveries:
        r = d.recipient
        res = SendResult(r.email, r.name, "failed", reports=[x.label for x in d.ready],
                         missing=[f"{x.label}: {x.reason}" for x in d.missing])
        parts = [d] if links else split_by_size(d, settings.max_mb)
        if not d.ready:
            res.status = "not_sent"
            res.error = ("no report of theirs is available" if d.missing else
                         "no report of the batch is in their scope")
        elif not parts:
            big = max(d.ready, key=report_mb)
            res.error = (f"{big.label} alone is {report_mb(big):.1f} MB encoded, over the "
                         f"{settings.max_mb:g} MB limit (KPI_SMTP_MAX_MB); send links instead with --links BASE_URL")
        else:
            res.parts = len(parts)
            errors = []
            for i, part in enumerate(parts, 1):
                msg = compose(part, p, settings.sender, links, part=(i, len(parts)))
                for n in range(1, max(1, attempts) + 1):
                    res.attempts += 1
                    try:
                        _deliver_once(msg, r.email, settings)
                        break
                    except (smtplib.SMTPException, OSError) as exc:
                        err = f"{type(exc).__name__}: {exc}".strip()
                        if n < attempts:
                            (sleep or time.sleep)(backoff * 2 ** (n - 1))
                        else:
                            errors.append(err if len(parts) == 1 else f"email {i}/{len(parts)}: {err}")
            res.status = "failed" if errors else "sent"
            res.error = "; ".join(errors)
        results.append(res)
        if progress is not None:
            progress(res)
    return results


# ---- views ---------------------------------------------------------------------------------------
def _grouped(reports: list[PlannedReport]) -> str:
    """``store_performance (12): AMZ-DE-01, AMZ-US-01, …`` — one line per report kind, in plan order."""
    kinds: dict[str, list[str]] = {}
    for x in reports:
        kinds.setdefault(x.report, []).append(x.entity)
    return "\n".join(f"{k} ({len(v)}): {', '.join(v)}" for k, v in kinds.items())


def plan_table(p: DeliveryPlan, links: str | None = None, max_mb: float = 20.0) -> Any:
    """rich Table: every recipient, role, language, the reports they get (grouped by kind), the email's size
    with attachments (red above ``max_mb``: that email would be refused; use links) and the missing ones."""

    t = Table(title=f"kpi send {p.batch} {p.period}: {len(p.deliveries)} recipient(s), "
                    f"{sum(len(d.ready) for d in p.deliveries)} report(s) "
                    + (f"as links to {links}" if links else "attached"), show_lines=True)
    for c in ("recipient", "role", "lang", "n", "MB", "reports", "missing"):
        t.add_column(c, overflow="fold", justify="right" if c in ("n", "MB") else "left")
    for d in p.deliveries:
        r = d.recipient
        scope = {"person": r.person_id, "team_lead": r.team_id, "client": r.contract_id}.get(r.role) or ""
        mb = encoded_mb(d)
        n_mail = len(split_by_size(d, max_mb)) if d.ready and not links else 1
        size = ("links" if links else f"[red]{mb:.1f}: a report is over {max_mb:g}[/]" if not n_mail
                else f"{mb:.1f} in {n_mail} emails" if n_mail > 1 else f"{mb:.1f}")
        t.add_row(escape(r.label), f"{r.role} {scope}".strip(), r.language, str(len(d.ready)), size,
                  escape(_grouped(d.ready)) or "[dim]—[/]",
                  "[red]" + escape("\n".join(f"{x.label}: {_short(x.reason, 60)}" for x in d.missing)) + "[/]"
                  if d.missing
                  else "")
    return t


def results_table(results: list[SendResult]) -> Any:

    t = Table(title=f"sent {sum(r.status == 'sent' for r in results)} of {len(results)} email(s) "
                    f"at {dt.datetime.now().strftime('%H:%M:%S')}")
    for c in ("recipient", "status", "attempts", "reports", "error / missing"):
        t.add_column(c, overflow="fold")
    colour = {"sent": "green", "failed": "red", "not_sent": "yellow"}
    for r in results:
        t.add_row(escape(f"{r.name} <{r.email}>"), f"[{colour[r.status]}]{r.status}[/]", str(r.attempts),
                  str(len(r.reports)), escape("; ".join([x for x in [r.error] if x] + r.missing)))
    return t


__all__ = [
    "Delivery",
    "DeliveryPlan",
    "PlannedReport",
    "Recipient",
    "RecipientsFile",
    "SendResult",
    "SmtpSettings",
    "check_references",
    "compose",
    "encoded_mb",
    "headlines",
    "known_ids",
    "load_recipients",
    "max_mb_from_env",
    "plan",
    "plan_table",
    "report_mb",
    "results_table",
    "scope_entities",
    "send",
    "split_by_size",
    "validate_recipients",
]
