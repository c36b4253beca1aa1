"""kpi_lib.spec: one home per parameter file.

- every demo parameter file loads, and saving the unchanged object writes nothing (bytes and mtime
  stay) while the merge itself reproduces the file byte for byte;
- an edit changes only its own lines (comments kept);
- an invalid object (schema or cross-file) is refused, the file untouched, and the issue names
  file, position and field;
- nothing outside kpi_lib/spec writes a parameter file (a source scan; broken on purpose in
  ``test_scan_catches_a_writer``).
"""

from __future__ import annotations

import ast
import difflib
import os
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

import kpi_lib.spec as S
from kpi_lib.errors import ConfigError
from kpi_lib.spec import Context

ROOT = Path(__file__).resolve().parents[1]
PARAMS = ROOT / "parameters"
LIB = ROOT / "kpi_lib"

FILES = [(spec, p) for spec in S.ALL for p in spec.files(PARAMS)]


def test_every_spec_has_a_demo_file_and_every_yaml_a_spec() -> None:
    assert {s.name for s, _ in FILES} == {s.name for s in S.ALL}
    assert sorted(p for _, p in FILES) == sorted(PARAMS.rglob("*.yaml"))


@pytest.mark.parametrize(("spec", "path"), FILES, ids=[f"{s.name}:{p.name}" for s, p in FILES])
def test_unchanged_object_saves_byte_identical(spec: S.Spec, path: Path, tmp_path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    obj = spec.load(path)
    assert spec.text(obj, text) == text  # the round-trip merge itself changes nothing
    copy = tmp_path / path.name
    shutil.copyfile(path, copy)
    os.utime(copy, (1_000_000_000, 1_000_000_000))
    assert spec.save(obj, copy, context=Context()) is False
    assert copy.read_bytes() == path.read_bytes() and copy.stat().st_mtime == 1_000_000_000
    assert spec.load(copy) == obj


def test_demo_files_pass_their_cross_file_checks(demo_project: Path) -> None:
    ctx = Context.from_files(demo_project / "parameters", demo_project / "data" / "reference")
    assert ctx.stores and "AMZ-US-01" in ctx.stores and ctx.people and ctx.kpis and "gmv" in ctx.kpis
    for spec, p in FILES:
        assert spec.validate(spec.load(p), ctx, source=p.name) == [], p


def _diff(a: str, b: str) -> list[str]:
    return [ln for ln in difflib.unified_diff(a.splitlines(), b.splitlines(), lineterm="", n=0)
            if ln[:1] in "+-" and not ln.startswith(("+++", "---"))]


def test_an_edit_changes_only_its_lines(tmp_path: Path) -> None:
    f = tmp_path / "contracts.yaml"
    shutil.copyfile(PARAMS / "contracts.yaml", f)
    before = f.read_text(encoding="utf-8")
    cf = S.contracts.load(f)
    c0 = cf.contracts[0]
    edited = c0.model_copy(update={"fee": c0.fee.model_copy(update={"base": Decimal(32000)})})
    assert S.contracts.save(cf.model_copy(update={"contracts": [edited, *cf.contracts[1:]]}), f, Context()) is True
    after = f.read_text(encoding="utf-8")
    assert _diff(before, after) == ["-      base: 30000", "+      base: 32000"]
    assert S.contracts.load(f).contracts[0].fee.base == Decimal(32000)


def test_new_item_is_appended_in_the_files_style(tmp_path: Path) -> None:
    f = tmp_path / "overheads.yaml"
    shutil.copyfile(PARAMS / "overheads.yaml", f)
    before = f.read_text(encoding="utf-8")
    oh = S.overheads.load(f)
    rent = S.overheads.RentCost(id="office-hk", monthly_cost=Decimal("12500.5"), label_zh="香港办公室", label_en="HK office")
    assert S.overheads.save(oh.model_copy(update={"rent": [*oh.rent, rent]}), f, Context()) is True
    d = _diff(before, f.read_text(encoding="utf-8"))
    assert d == ["+  - id: office-hk", "+    label_zh: 香港办公室", "+    label_en: HK office", "+    monthly_cost: 12500.5"]
    assert S.overheads.item_label(S.overheads.load(f).rent[-1], "zh") == "香港办公室"


def test_new_file_is_written_and_reads_back(tmp_path: Path) -> None:
    f = tmp_path / "targets" / "new.yaml"
    t = S.targets.TargetsFile(targets=[S.targets.Target(kpi="gmv", period="2026-11", value=1000.0)])
    assert S.targets.save(t, f, Context(kpis={"gmv"})) is True
    assert f.read_text(encoding="utf-8") == "targets:\n  - kpi: gmv\n    period: 2026-11\n    value: 1000.0\n"
    assert S.targets.load(f) == t
    assert not [p for p in f.parent.iterdir() if p.name != "new.yaml"]  # no temporary file left behind


REF = Context(kpis={"gmv", "net_margin", "acos"}, stores={"AMZ-US-01", "SHP-MY-01"}, people={"P01", "P02"},
              teams={"T-AMZ"}, platforms={"amazon", "shopee"}, contracts={"C-001"}, roles={"manager"})


def _refused(spec: S.Spec, obj: object, name: str, tmp_path: Path, ctx: Context = REF) -> str:
    """Save ``obj`` over a copy of the demo file: it must raise and leave the bytes as they were."""
    src = next(p for s, p in FILES if s is spec and p.name == name)
    d = tmp_path / spec.name
    d.mkdir(exist_ok=True)
    f = d / name
    shutil.copyfile(src, f)
    with pytest.raises(ConfigError) as e:
        spec.save(obj, f, ctx)
    assert f.read_bytes() == src.read_bytes()
    assert not [p for p in d.iterdir() if p.name != name]
    return "\n".join(e.value.issues)


def test_cross_file_errors_name_file_position_and_field(tmp_path: Path) -> None:
    cf = S.contracts.load(PARAMS / "contracts.yaml")
    bad = cf.model_copy(update={"contracts": [cf.contracts[0].model_copy(update={"stores": ["AMZ-US-01", "NOPE-9"]})]})
    msg = _refused(S.contracts.SPEC, bad, "contracts.yaml", tmp_path)
    assert "contracts.yaml: contracts[0] (C-001).stores[1]: unknown store 'NOPE-9'" in msg

    t = S.targets.TargetsFile(targets=[S.targets.Target(kpi="gmv", period="*", value=1.0),
                                       S.targets.Target(kpi="gmvv", entity_kind="team", entity_id="T-X", period="*",
                                                        value=1.0)])
    msg = _refused(S.targets.SPEC, t, "demo.yaml", tmp_path)
    assert "demo.yaml: targets[1].kpi: unknown KPI 'gmvv'" in msg
    assert "demo.yaml: targets[1].entity_id: unknown team 'T-X'" in msg and "targets[0]" not in msg

    a = S.actions.load(PARAMS / "actions.yaml")
    act = a.actions[0].model_copy(update={"owner": "P77"})
    msg = _refused(S.actions.SPEC, a.model_copy(update={"actions": [act]}), "actions.yaml", tmp_path, ctx=Context(
        kpis=S.kpis.known_ids(None), stores={act.entity_id or ""}, people={"P01", "P02"}))
    assert f"actions.yaml: actions[0] ({act.id}).owner: unknown person 'P77'" in msg

    sc = S.scorecards.load(PARAMS / "scorecards.yaml")
    card = sc.scorecards[0]
    k0 = card.kpis[0].model_copy(update={"kpi": "nett_margin"})
    bad_sc = sc.model_copy(update={"scorecards": [card.model_copy(update={"kpis": [k0, *card.kpis[1:]]})]})
    msg = _refused(S.scorecards.SPEC, bad_sc, "scorecards.yaml", tmp_path, ctx=Context(kpis=S.kpis.known_ids(None)))
    assert f"scorecards.yaml: scorecards[0] ({card.id}).kpis[0].kpi: unknown KPI 'nett_margin'" in msg

    tree = S.tree.load(PARAMS / "kpi_tree.yaml")
    n0 = tree.nodes[0].model_copy(update={"owner": "T-NONE"})
    msg = _refused(S.tree.SPEC, tree.model_copy(update={"nodes": [n0, *tree.nodes[1:]]}), "kpi_tree.yaml", tmp_path,
                   ctx=Context(kpis=S.kpis.known_ids(None), teams={"T-AMZ"}, people={"P01"}))
    assert "kpi_tree.yaml: nodes[0] (net_margin).owner: unknown owner 'T-NONE'" in msg

    rc = S.recipients.load(PARAMS / "recipients.yaml")
    r_person = next(i for i, r in enumerate(rc.recipients) if r.person_id)
    msg = _refused(S.recipients.SPEC, rc, "recipients.yaml", tmp_path, ctx=Context(people={"NOBODY"}))
    assert f"recipients.yaml: recipients[{r_person}].person_id:" in msg and "is not in people.csv" in msg


def test_schema_errors_are_refused_too(tmp_path: Path) -> None:
    al = S.alerts.load(PARAMS / "alerts.yaml")
    broken = al.model_copy(update={"rules": [al.rules[0].model_copy(update={"periods": 0})]})  # ge=1, unchecked copy
    msg = _refused(S.alerts.SPEC, broken, "alerts.yaml", tmp_path)
    assert "alerts.yaml: rules[0].periods:" in msg


def test_period_labels_are_checked_without_the_engine() -> None:
    with pytest.raises(ValueError, match="not a valid month"):
        S.check_period_label("2026-13")
    with pytest.raises(ValueError, match="not a period label"):
        S.check_period_label("Nov 2026")
    for ok in ("2026-11-07", "2026-W45", "2026-11", "2026-Q4", "2026"):
        S.check_period_label(ok)


# ---------------------------------------------------------------------------- nothing else writes

_YAML_WRITERS = {"write_text_atomic", "dump_yaml", "update_file", "safe_dump", "YAML"}
_FILE_WRITES = {"write_text", "write_bytes"}
_MODULE_WRITES = {("os", "replace"), ("os", "rename"), ("shutil", "copyfile"), ("shutil", "copy"), ("shutil", "copy2"),
                  ("shutil", "move")}


def parameter_writes(source: str, filename: str) -> list[str]:
    """Calls in ``source`` that could write a parameter file: YAML writers (dumping to a stream,
    atomic writes, ruamel instances) anywhere, and plain file writes inside a function whose text
    names parameters/ or a .yaml file."""
    tree = ast.parse(source, filename)
    found: list[str] = []

    def name(call: ast.Call) -> str:
        f = call.func
        return f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""

    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            n = name(node)
            if n in _YAML_WRITERS and not (n == "safe_dump" and len(node.args) < 2 and not any(
                    k.arg == "stream" for k in node.keywords)):
                found.append(f"{filename}:{node.lineno}: {n}(…)")
            if n == "dump" and isinstance(node.func, ast.Attribute) and len(node.args) >= 2:
                found.append(f"{filename}:{node.lineno}: .dump(…, stream)")
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            text = ast.get_source_segment(source, node) or ""
            if "parameters" not in text and ".yaml" not in text and ".yml" not in text:
                continue
            for sub in ast.walk(node):
                if isinstance(sub, ast.Call):
                    n = name(sub)
                    mode = [a.value for a in sub.args[1:2] if isinstance(a, ast.Constant)] + [
                        k.value.value for k in sub.keywords if k.arg == "mode" and isinstance(k.value, ast.Constant)]
                    f = sub.func
                    mod = f.value.id if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) else ""
                    if (n in _FILE_WRITES or (mod, n) in _MODULE_WRITES
                            or (n == "open" and any(str(m)[:1] in "wax" for m in mode))):
                        found.append(f"{filename}:{sub.lineno}: {n}(…) in {node.name}()")
    return sorted(set(found))


def test_nothing_outside_spec_writes_a_parameter_file() -> None:
    allowed = {LIB / "yaml_roundtrip.py"}
    hits = []
    for p in sorted(LIB.rglob("*.py")):
        if p in allowed or (LIB / "spec") in p.parents:
            continue
        hits += parameter_writes(p.read_text(encoding="utf-8"), str(p.relative_to(ROOT)))
    assert hits == [], "parameter files must be written through kpi_lib.spec:\n" + "\n".join(hits)


def test_scan_catches_a_writer() -> None:
    """The rule broken on purpose: each of these writers is found."""
    samples = {
        "from kpi_lib.config import dump_yaml\ndef f(d, p):\n    dump_yaml(d, p)\n": "dump_yaml",
        "import yaml\ndef f(d, fh):\n    yaml.safe_dump(d, fh)\n": "safe_dump",
        "from kpi_lib import yaml_roundtrip\ndef f(p, t):\n    yaml_roundtrip.write_text_atomic(p, t)\n": "write_text_atomic",
        "def f(d):\n    p = paths.parameters_dir() / 'x.yaml'\n    p.write_text(d)\n": "write_text",
        "def f(d, path):\n    with open(path / 'a.yaml', 'w') as fh:\n        fh.write(d)\n": "open",
        "from ruamel.yaml import YAML\ndef f(doc, fh):\n    YAML().dump(doc, fh)\n": "YAML",
        "import os\ndef f(tmp):\n    os.replace(tmp, PARAMS / 'contracts.yaml')\n": "replace",
    }
    for src, what in samples.items():
        assert any(what in h for h in parameter_writes(src, "x.py")), src
    assert parameter_writes("import yaml\ndef f(d):\n    return yaml.safe_dump(d)\n", "x.py") == []


def test_unchanged_object_keeps_a_hand_wrapped_file(tmp_path: Path) -> None:
    """The merge would unwrap a wrapped flow mapping; an unchanged object must not write at all."""
    f = tmp_path / "alerts.yaml"
    f.write_text("rules:\n  - {id: gmv-behind, kind: consecutive_below_target, kpi: gmv, periods: 3,\n"
                 "     severity: high}  # wrapped by hand\n", encoding="utf-8")
    before = f.read_bytes()
    obj = S.alerts.load(f)
    assert S.alerts.SPEC.text(obj, before.decode()) != before.decode()  # the merge alone would change it
    assert S.alerts.save(obj, f, Context()) is False and f.read_bytes() == before


def test_display_names_of_overheads_and_fee_lines() -> None:
    oh = S.overheads.load(PARAMS / "overheads.yaml")
    items = [*oh.staff, *oh.rent, *oh.subscriptions]
    assert items and all(i.label_zh and i.label_en for i in items)  # the demo names every item in both languages
    assert S.overheads.item_label(S.overheads.Subscription(id="x", vendor="Acme"), "en") == "Acme"  # fallbacks
    assert S.overheads.item_label(S.overheads.RentCost(id="r1", monthly_cost=Decimal(1)), "zh") == "r1"
    for c in S.contracts.load(PARAMS / "contracts.yaml").contracts:
        assert S.contracts.item_label(c.fee, "base", "zh") and S.contracts.item_label(c.fee, "performance", "en")
        assert S.contracts.item_label(c.fee, "fixed", "en") is None
    with pytest.raises(ConfigError, match="labels"):
        S.contracts.SPEC.parse({"contracts": [{"id": "X", "stores": ["S"], "fee": {
            "model": "fixed", "base": 1, "labels": {"bonus": {"label_en": "Bonus"}}}}]}, "contracts.yaml")
