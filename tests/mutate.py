"""Mutation testing per module (``make mutate [MODULES="tree formula"]``); not part of CI.

For each module of ``tests/mutation.yaml`` a scratch copy of the project is made under
``$KPI_MUTATE_DIR`` (default: the system temp dir), mutmut mutates only ``kpi_lib/<module>.py`` there
and runs only that module's test files against each mutant. The score per module is printed and
written to ``<scratch>/scores.json``; the surviving mutants are listed (``mutmut show NAME`` in the
module's scratch copy shows the diff).

``--rerun`` keeps a module's scratch copy from an earlier run, refreshes its tests (and the test list of
``tests/mutation.yaml``) and re-checks only the mutants that survived or had no test, so the tests
written for survivors are measured without running every mutant again. When the module itself changed
since, the rerun takes today's text and keeps the earlier verdict of every mutant whose function's source
is unchanged (mutmut numbers a function's mutants from its text alone); the mutants of changed or new
functions run again (``function_sources``, ``carry_verdicts``). ``--only fn Class.method``
mutates only those functions of the module (the rest counts as "not checked", outside the score).
``--rerun --tests FILE`` re-checks the survivors against those test files only (a survivor already
passed every other test of the module): the quick way to measure the tests written for survivors (a mutant
never checked before and not killed by those files stays "not checked"). The verdicts before a rerun are kept
in ``<scratch>/verdicts-before-rerun.json`` until it ends, so a rerun stopped half-way loses none.
``--jobs`` defaults to 1: the machine is shared.
"""

from __future__ import annotations

import argparse
import ast
import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
COPY = ("kpi_lib", "tests", "parameters", "templates", "notebooks", "pyproject.toml")
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis", "mutants")


def load_map() -> dict[str, list[str]]:
    return yaml.safe_load((ROOT / "tests" / "mutation.yaml").read_text(encoding="utf-8"))["modules"]


def scratch_copy(module: str, tests: list[str], base: Path, rerun: bool = False) -> Path:
    """A fresh copy of the project for ``module`` (or, with ``rerun``, the earlier copy with fresh tests)."""
    work = base / module
    if rerun and (work / "mutants").is_dir():
        refresh_rest(module, work)
        for d in (work / "tests", work / "mutants" / "tests"):
            shutil.rmtree(d, ignore_errors=True)
            shutil.copytree(ROOT / "tests", d, ignore=IGNORE)
        shutil.copy2(ROOT / "pyproject.toml", work / "pyproject.toml")
    else:
        if work.exists():
            shutil.rmtree(work)
        work.mkdir(parents=True)
        for name in COPY:
            src = ROOT / name
            if src.is_dir():
                shutil.copytree(src, work / name, ignore=IGNORE)
            elif src.is_file():
                shutil.copy2(src, work / name)
    cfg = (
        "\n[tool.mutmut]\n"
        'source_paths = ["kpi_lib"]\n'
        f'only_mutate = ["kpi_lib/{module}.py"]\n'
        f"pytest_add_cli_args_test_selection = {json.dumps(tests)}\n"
        'pytest_add_cli_args = ["-p", "no:cacheprovider", "-q", "-x", "-p", "no:randomly"]\n'
        'also_copy = ["parameters", "templates", "notebooks"]\n'
    )
    with open(work / "pyproject.toml", "a", encoding="utf-8") as f:
        f.write(cfg)
    return work


def function_sources(text: str) -> dict[str, str]:
    """mutmut's name of each function of a module text (``x_fn``, ``xǁClassǁmethod``) → its source lines.

    Top-level functions and the methods of top-level classes (the ones mutmut mutates), with their
    decorators; a name defined twice gets both texts.
    """
    lines = text.splitlines()
    out: dict[str, str] = {}

    def add(name: str, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        src = "\n".join(lines[first - 1:node.end_lineno])
        out[name] = out[name] + "\n" + src if name in out else src

    for node in ast.parse(text).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            add(f"x_{node.name}", node)
        elif isinstance(node, ast.ClassDef):
            for sub in node.body:
                if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    add(f"xǁ{node.name}ǁ{sub.name}", sub)
    return out


def changed_functions(old: str, new: str) -> set[str]:
    """mutmut names of the functions whose source differs between two texts of a module (new, gone or edited)."""
    a, b = function_sources(old), function_sources(new)
    return {f for f in a.keys() | b.keys() if a.get(f) != b.get(f)}


def new_functions(old: str, new: str) -> set[str]:
    """mutmut names of the functions in the new text only. mutmut keeps which tests reach each function in
    ``mutants/mutmut-stats.json`` and refreshes it for new tests, not for new functions: without a fresh
    collection every mutant of a new function would read "no tests"."""
    return set(function_sources(new)) - set(function_sources(old))


def function_of(mutant: str) -> str:
    """``kpi_lib.m.xǁCǁf__mutmut_3`` → ``xǁCǁf``: the function a mutant belongs to."""
    return mutant.partition("__mutmut_")[0].rpartition(".")[2]


def carry_verdicts(verdicts: dict[str, int | None], changed: set[str]) -> dict[str, int | None]:
    """The verdicts still valid after the module changed: those of mutants of unchanged functions."""
    return {k: v for k, v in verdicts.items() if function_of(k) not in changed}


def refresh_rest(module: str, work: Path) -> set[str]:
    """Bring a scratch copy's library, parameters, templates, notebooks up to date; the changed functions.

    The tests of today may need today's other modules. When the mutated module itself changed, today's
    text replaces it (newer than the mutants file: mutmut makes its mutants again) and the mutmut names
    of its changed functions are returned: their earlier verdicts no longer hold.
    """
    mod = Path("kpi_lib") / f"{module}.py"
    changed: set[str] = set()
    old, new = (work / mod).read_text(encoding="utf-8"), (ROOT / mod).read_text(encoding="utf-8")
    if old != new:
        changed = changed_functions(old, new)
        if new_functions(old, new):  # which tests reach the new functions: collected again
            (work / "mutants" / "mutmut-stats.json").unlink(missing_ok=True)
        shutil.copy(ROOT / mod, work / mod)  # mtime now: mutmut regenerates mutants/kpi_lib/<module>.py
    for name in ("kpi_lib", "parameters", "templates", "notebooks"):
        src, dst = ROOT / name, work / name
        if not src.is_dir():
            continue
        for f in src.rglob("*"):
            rel = f.relative_to(ROOT)
            if rel == mod or not f.is_file() or "__pycache__" in f.parts:
                continue
            for target in (work / rel, work / "mutants" / rel):  # mutmut imports the copy under mutants/
                if not target.is_file() or target.read_bytes() != f.read_bytes():
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy(f, target)
        for f in list(dst.rglob("*")):  # files deleted since
            rel = f.relative_to(work)
            if f.is_file() and "__pycache__" not in f.parts and not (ROOT / rel).exists():
                f.unlink()
                (work / "mutants" / rel).unlink(missing_ok=True)
    return changed


def results(work: Path, env: dict[str, str]) -> dict[str, str]:
    """mutant name → status (killed, survived, no tests, timeout, …) of a scratch copy."""
    res = subprocess.run([sys.executable, "-m", "mutmut", "results", "--all", "true"], cwd=work, env=env,
                         capture_output=True, text=True, check=False)
    out: dict[str, str] = {}
    for line in res.stdout.splitlines():
        m = re.match(r"\s*(\S+): (.+)$", line)
        if m:
            out[m.group(1)] = m.group(2).strip()
    return out


def _meta(work: Path, module: str) -> Path:
    return work / "mutants" / "kpi_lib" / f"{module}.py.meta"


def read_verdicts(work: Path, module: str) -> dict[str, int | None]:
    """mutant name → mutmut exit code recorded in a scratch copy (None: not checked)."""
    path = _meta(work, module)
    return dict(json.loads(path.read_text(encoding="utf-8"))["exit_code_by_key"]) if path.is_file() else {}


def restore_verdicts(work: Path, module: str, before: dict[str, int | None], rerun: set[str],
                     subset: bool = False, changed: set[str] | None = None) -> None:
    """Put back the earlier verdicts of the mutants a rerun did not re-check.

    mutmut forgets every verdict when its test selection changes (a new test file in
    ``tests/mutation.yaml``); the mutants that were not re-run keep their earlier verdict here (their
    code and the tests that killed them are unchanged: a killed mutant stays killed).

    ``subset`` (a rerun with ``--tests``): a survivor that the given files do not reach stays a survivor (not
    "no tests"), and a mutant never checked before that the given files did not kill goes back to "not
    checked" (the module's other test files never ran against it); so does a mutant of a function
    ``changed`` since the earlier run that the given files did not kill.
    """
    path = _meta(work, module)
    if not path.is_file():
        return
    data = json.loads(path.read_text(encoding="utf-8"))
    codes = data["exit_code_by_key"]
    for k, v in before.items():
        if k not in rerun and codes.get(k) is None and v is not None:
            codes[k] = v
        elif subset and k in rerun and codes.get(k) not in KILLED and not (v == 33 and codes.get(k) == 0):
            codes[k] = v  # the given files reached a mutant no test reached before: it survived them
    if subset:
        for k in codes:
            if function_of(k) in (changed or ()) and codes[k] not in KILLED:
                codes[k] = None
    path.write_text(json.dumps(data, indent=4), encoding="utf-8")
    (work / SAVED).unlink(missing_ok=True)


#: mutmut exit codes of a killed mutant (1 and 3: a test failed or pytest broke; the rest: timed out)
KILLED = {1, 3, -24, 24, 36, 152, 255}
#: the verdicts before a rerun, kept on disk until the rerun ends (a rerun stopped half-way loses none)
SAVED = "verdicts-before-rerun.json"


def saved_verdicts(work: Path, module: str, changed: set[str] | None = None
                   ) -> tuple[dict[str, int | None], set[str]]:
    """The scratch copy's verdicts still valid, with those of an earlier rerun stopped before it ended.

    ``changed``: the functions changed since the verdicts were made (their verdicts are dropped). They are
    kept on disk with the verdicts until mutmut has made the module's mutants again (a rerun stopped before
    then still knows which verdicts are stale); the set of changed functions is returned.
    """
    changed = set(changed or ())
    now = read_verdicts(work, module)
    p = work / SAVED
    if p.is_file():
        saved = json.loads(p.read_text(encoding="utf-8"))
        old = saved["verdicts"] if isinstance(saved.get("verdicts"), dict) else saved
        now = {k: (v if v is not None else old.get(k)) for k, v in now.items()}
        src, mutants = work / "kpi_lib" / f"{module}.py", work / "mutants" / "kpi_lib" / f"{module}.py"
        if not (mutants.is_file() and src.is_file() and mutants.stat().st_mtime > src.stat().st_mtime):
            changed |= set(saved.get("changed", ()))  # not regenerated yet: the meta still holds stale verdicts
    now = carry_verdicts(now, changed)
    p.write_text(json.dumps({"verdicts": now, "changed": sorted(changed)}), encoding="utf-8")
    return now, changed


def remembered(statuses: dict[str, str], before: dict[str, int | None]) -> dict[str, str]:
    """mutmut's statuses with the verdicts it forgot put back: after a rerun stopped half-way, mutmut's
    meta reads "not checked" for every mutant that rerun did not reach, though the saved verdicts
    (:func:`saved_verdicts`) still hold them; only the truly unchecked are checked again."""
    def status(code: int) -> str:
        return "killed" if code in KILLED else "survived" if code == 0 else "no tests" if code == 33 else "other"
    return {k: status(before[k]) if v == "not checked" and before.get(k) is not None else v
            for k, v in statuses.items()}


def patterns(module: str, only: list[str]) -> list[str]:
    """mutmut name globs of the given functions (``fn`` or ``Class.method``) of ``kpi_lib/<module>.py``."""
    return [f"kpi_lib.{module}." + ("xǁ" + "ǁ".join(f.split(".", 1)) if "." in f else f"x_{f}") + "__mutmut_*"
            for f in only]


def to_rerun(module: str, statuses: dict[str, str], changed: set[str], today: set[str],
             only: list[str] | None = None) -> list[str]:
    """What a rerun checks: the survivors, "no tests" and never-checked mutants of unchanged functions, and
    (as name globs) every mutant of a changed function that still exists; with ``only``, of those functions."""
    again = [k for k, v in statuses.items()
             if v in ("survived", "no tests", "not checked") and function_of(k) not in changed]
    again += [f"kpi_lib.{module}.{f}__mutmut_*" for f in sorted(changed & today)]
    if only:
        globs = patterns(module, only)
        again = [k for k in again if any(fnmatch.fnmatch(k, g) for g in globs)]
    return again


def run_module(module: str, tests: list[str], base: Path, jobs: int, rerun: bool = False,
               only: list[str] | None = None, subset: bool = False) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "KPI_ROOT", "KPI_WAREHOUSE", "KPI_REFERENCE")}
    env["KPI_HEADLESS"] = "1"
    work = base / module
    keep = rerun and (work / "mutants").is_dir()
    again: list[str] | None = patterns(module, only) if only and not keep else None
    before: dict[str, int | None] = {}
    changed: set[str] = set()
    if keep:  # survivors, the unchecked rest of a stopped run, and every mutant of a function changed since
        mod = Path("kpi_lib") / f"{module}.py"
        changed = changed_functions((work / mod).read_text(encoding="utf-8"), (ROOT / mod).read_text(encoding="utf-8"))
        before, changed = saved_verdicts(work, module, changed)
        today = function_sources((ROOT / mod).read_text(encoding="utf-8"))
        again = to_rerun(module, remembered(results(work, env), before), changed, set(today), only)
    work = scratch_copy(module, tests, base, rerun=keep)
    mutmut = [sys.executable, "-m", "mutmut"]
    if again != []:
        with open(work / "mutmut.log", "a" if again else "w", encoding="utf-8") as out:
            subprocess.run([*mutmut, "run", "--max-children", str(jobs), *(again or [])], cwd=work, env=env,
                           stdout=out, stderr=subprocess.STDOUT, check=False)
    if keep:
        restore_verdicts(work, module, before, set(again or []), subset, changed)
    counts: dict[str, int] = {}
    survivors: list[str] = []
    for name, status in results(work, env).items():
        counts[status] = counts.get(status, 0) + 1
        if status in ("survived", "no tests"):
            survivors.append(name)
    killed = counts.get("killed", 0) + counts.get("timeout", 0)
    judged = sum(v for k, v in counts.items() if k not in ("skipped", "not checked"))
    score = killed / judged if judged else float("nan")
    return {"module": module, "tests": tests, "counts": counts, "killed": killed, "judged": judged,
            "score": round(score, 4), "survivors": survivors, "scratch": str(work)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("modules", nargs="*", help="modules of tests/mutation.yaml (default: all)")
    p.add_argument("--jobs", type=int, default=1, help="mutmut worker processes (default 1: a shared machine)")
    p.add_argument("--rerun", action="store_true",
                   help="re-check only the survivors of an earlier run, with the current tests")
    p.add_argument("--only", nargs="+", metavar="FUNCTION",
                   help="mutate only these functions of the module(s) (fn or Class.method)")
    p.add_argument("--tests", nargs="+", metavar="FILE",
                   help="with --rerun: re-check the survivors against these test files only (they already "
                        "passed the module's other tests), e.g. the file written for them")
    p.add_argument("--dir", default=os.environ.get("KPI_MUTATE_DIR") or str(Path(tempfile.gettempdir()) / "kpi-mutate"))
    a = p.parse_args(argv)
    if a.tests and not a.rerun:
        p.error("--tests needs --rerun: a first run measures a module against all its test files")
    mapping = load_map()
    mods = a.modules or list(mapping)
    unknown = [m for m in mods if m not in mapping]
    if unknown:
        p.error(f"unknown module(s) {unknown}; tests/mutation.yaml has {sorted(mapping)}")
    base = Path(a.dir)
    base.mkdir(parents=True, exist_ok=True)
    scores = []
    for m in mods:
        r = run_module(m, a.tests or mapping[m], base, a.jobs, a.rerun, a.only, subset=bool(a.tests))
        scores.append(r)
        print(f"{m:12s} {r['killed']:4d}/{r['judged']:<4d} killed  score {r['score']:.1%}  {r['counts']}", flush=True)
        for s in r["survivors"]:
            print(f"    survived: {s}")
    old = json.loads((base / "scores.json").read_text(encoding="utf-8")) if (base / "scores.json").is_file() else []
    merged = {r["module"]: r for r in [*old, *scores]}  # a run of some modules keeps the others' scores
    (base / "scores.json").write_text(json.dumps(list(merged.values()), indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
