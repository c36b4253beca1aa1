"""The mutation harness's rerun on a changed module (tests/mutate.py), without running mutmut.

Two texts of a module differ in one function (``b``'s body), gain one (``d``) and lose one (``c``);
``a`` and the method ``K.m`` only move down a line. The earlier verdicts of ``a``'s and ``K.m``'s
mutants still hold (mutmut numbers a function's mutants from its text alone); ``b``'s and ``c``'s do
not, and a rerun checks every mutant of ``b`` and ``d`` again, plus the unchanged functions' survivors.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import mutate

OLD = '''import math


def a(x):
    return x + 1


def b(x):
    return x * 2


def c(x):
    return x


class K:
    @property
    def m(self):
        return 3
'''

NEW = '''import math

LIMIT = 4


def a(x):
    return x + 1


def b(x):
    return x * 3


class K:
    @property
    def m(self):
        return 3


def d(x):
    return -x
'''

MOD = "kpi_lib.mod."
#: an earlier run's verdicts (mutmut exit codes: 1 killed, 0 survived, 33 no tests, None not checked)
BEFORE = {MOD + "x_a__mutmut_1": 1, MOD + "x_a__mutmut_2": 0, MOD + "x_b__mutmut_1": 1, MOD + "x_b__mutmut_2": None,
          MOD + "x_c__mutmut_1": 1, MOD + "xǁKǁm__mutmut_1": 1, MOD + "xǁKǁm__mutmut_2": None}


def test_function_sources_names_like_mutmut_with_decorators():
    src = mutate.function_sources(OLD)
    assert set(src) == {"x_a", "x_b", "x_c", "xǁKǁm"}
    assert src["xǁKǁm"].lstrip().startswith("@property")  # a changed decorator changes the function
    assert src["x_b"] == "def b(x):\n    return x * 2"


def test_changed_functions_edited_new_and_gone_not_moved():
    assert mutate.changed_functions(OLD, NEW) == {"x_b", "x_c", "x_d"}
    assert mutate.changed_functions(OLD, OLD.replace("return 3", "return 4")) == {"xǁKǁm"}
    assert mutate.changed_functions(OLD, "\n\n" + OLD) == set()


def test_new_functions_make_mutmut_collect_which_tests_reach_them_again(tmp_path, monkeypatch):
    """A rerun after ``d`` was added drops mutmut's test stats (else every mutant of ``d`` reads "no tests");
    an edit of existing functions keeps them (collecting costs a whole test run)."""
    assert mutate.new_functions(OLD, NEW) == {"x_d"}
    assert mutate.new_functions(OLD, OLD.replace("return 3", "return 4")) == set()
    root, work = tmp_path / "root", tmp_path / "work"
    for base, text in ((root, NEW), (work, OLD)):
        (base / "kpi_lib").mkdir(parents=True)
        (base / "kpi_lib" / "mod.py").write_text(text, encoding="utf-8")
    stats = work / "mutants" / "mutmut-stats.json"
    stats.parent.mkdir()
    stats.write_text("{}", encoding="utf-8")
    monkeypatch.setattr(mutate, "ROOT", root)
    assert mutate.refresh_rest("mod", work) == {"x_b", "x_c", "x_d"}
    assert not stats.exists()
    stats.write_text("{}", encoding="utf-8")
    (root / "kpi_lib" / "mod.py").write_text(NEW.replace("a(x)", "a(y)"), encoding="utf-8")
    assert mutate.refresh_rest("mod", work) == {"x_a"} and stats.exists()


def test_carry_verdicts_keeps_only_unchanged_functions():
    kept = mutate.carry_verdicts(BEFORE, mutate.changed_functions(OLD, NEW))
    assert kept == {MOD + "x_a__mutmut_1": 1, MOD + "x_a__mutmut_2": 0,
                    MOD + "xǁKǁm__mutmut_1": 1, MOD + "xǁKǁm__mutmut_2": None}


def test_to_rerun_survivors_of_unchanged_and_all_of_changed():
    statuses = {MOD + "x_a__mutmut_1": "killed", MOD + "x_a__mutmut_2": "survived",
                MOD + "x_b__mutmut_1": "killed", MOD + "x_b__mutmut_2": "not checked",
                MOD + "x_c__mutmut_1": "killed", MOD + "xǁKǁm__mutmut_1": "killed",
                MOD + "xǁKǁm__mutmut_2": "no tests"}
    changed = mutate.changed_functions(OLD, NEW)
    today = set(mutate.function_sources(NEW))
    again = mutate.to_rerun("mod", statuses, changed, today)
    assert again == [MOD + "x_a__mutmut_2", MOD + "xǁKǁm__mutmut_2", MOD + "x_b__mutmut_*", MOD + "x_d__mutmut_*"]
    assert mutate.to_rerun("mod", statuses, changed, today, only=["b", "K.m"]) == [
        MOD + "xǁKǁm__mutmut_2", MOD + "x_b__mutmut_*"]


def test_a_stopped_rerun_does_not_make_the_next_one_check_everything_again():
    """mutmut forgot every verdict when the last rerun started (its meta: "not checked"); the saved verdicts
    still know them. The next rerun checks only the survivor, the "no tests" and the truly unchecked."""
    forgotten = {MOD + "x_a__mutmut_1": "not checked", MOD + "x_a__mutmut_2": "not checked",
                 MOD + "x_b__mutmut_2": "not checked", MOD + "xǁKǁm__mutmut_1": "killed",
                 MOD + "xǁKǁm__mutmut_2": "not checked"}
    before = {MOD + "x_a__mutmut_1": 1, MOD + "x_a__mutmut_2": 0, MOD + "x_b__mutmut_2": None,
              MOD + "xǁKǁm__mutmut_2": 33}
    got = mutate.remembered(forgotten, before)
    assert got == {MOD + "x_a__mutmut_1": "killed", MOD + "x_a__mutmut_2": "survived",
                   MOD + "x_b__mutmut_2": "not checked", MOD + "xǁKǁm__mutmut_1": "killed",
                   MOD + "xǁKǁm__mutmut_2": "no tests"}
    assert mutate.to_rerun("mod", got, set(), set(mutate.function_sources(OLD))) == [
        MOD + "x_a__mutmut_2", MOD + "x_b__mutmut_2", MOD + "xǁKǁm__mutmut_2"]


def _scratch(tmp_path: Path, codes: dict[str, int | None]) -> Path:
    """A scratch copy's files as mutmut leaves them: the module, its mutants file and its meta file."""
    (tmp_path / "kpi_lib").mkdir()
    (tmp_path / "mutants" / "kpi_lib").mkdir(parents=True)
    (tmp_path / "kpi_lib" / "mod.py").write_text(NEW, encoding="utf-8")
    (tmp_path / "mutants" / "kpi_lib" / "mod.py").write_text("# mutants", encoding="utf-8")
    meta = {"exit_code_by_key": codes, "hash_by_function_name": {}}
    (tmp_path / "mutants" / "kpi_lib" / "mod.py.meta").write_text(json.dumps(meta), encoding="utf-8")
    return tmp_path


def _age(path: Path, seconds: int) -> None:
    st = path.stat()
    os.utime(path, (st.st_atime - seconds, st.st_mtime - seconds))


def test_saved_verdicts_drop_changed_and_remember_them_until_regenerated(tmp_path):
    work = _scratch(tmp_path, dict(BEFORE))
    changed = mutate.changed_functions(OLD, NEW)
    before, stale = mutate.saved_verdicts(work, "mod", changed)
    assert stale == changed
    assert before == mutate.carry_verdicts(BEFORE, changed)
    # stopped after today's text was copied in, before mutmut made the mutants again: the meta still
    # holds b's old verdicts and the texts now agree, but the saved file knows b changed
    _age(work / "mutants" / "kpi_lib" / "mod.py", 60)
    again, stale = mutate.saved_verdicts(work, "mod", set())
    assert stale == changed and MOD + "x_b__mutmut_1" not in again
    # once mutmut has made the mutants again, its meta's verdicts are fresh: b's new verdict counts
    _age(work / "kpi_lib" / "mod.py", 120)
    codes = dict(BEFORE, **{MOD + "x_b__mutmut_1": 0})
    (work / "mutants" / "kpi_lib" / "mod.py.meta").write_text(json.dumps({"exit_code_by_key": codes}),
                                                              encoding="utf-8")
    fresh, stale = mutate.saved_verdicts(work, "mod", set())
    assert stale == set() and fresh[MOD + "x_b__mutmut_1"] == 0


def test_restore_verdicts_puts_back_only_unchanged_functions(tmp_path):
    changed = mutate.changed_functions(OLD, NEW)
    # after the rerun mutmut's meta: every verdict forgotten (a new test selection) but the re-run ones
    after = {k: None for k in BEFORE if not k.startswith(MOD + "x_c")}
    after.update({MOD + "x_a__mutmut_2": 1, MOD + "x_b__mutmut_1": 0, MOD + "x_d__mutmut_1": 1})
    work = _scratch(tmp_path, after)
    before = mutate.carry_verdicts(BEFORE, changed)
    again = mutate.to_rerun("mod", {MOD + "x_a__mutmut_2": "survived"}, changed, set(mutate.function_sources(NEW)))
    mutate.restore_verdicts(work, "mod", before, set(again), changed=changed)
    codes = mutate.read_verdicts(work, "mod")
    assert codes == {MOD + "x_a__mutmut_1": 1, MOD + "x_a__mutmut_2": 1, MOD + "x_b__mutmut_1": 0,
                     MOD + "x_b__mutmut_2": None, MOD + "xǁKǁm__mutmut_1": 1, MOD + "xǁKǁm__mutmut_2": None,
                     MOD + "x_d__mutmut_1": 1}
    assert not (work / mutate.SAVED).exists()


def test_restore_verdicts_subset_leaves_changed_survivors_unchecked(tmp_path):
    changed = mutate.changed_functions(OLD, NEW)
    work = _scratch(tmp_path, {MOD + "x_b__mutmut_1": 0, MOD + "x_d__mutmut_1": 1, MOD + "x_d__mutmut_2": 33})
    mutate.restore_verdicts(work, "mod", {}, {MOD + "x_b__mutmut_*", MOD + "x_d__mutmut_*"}, subset=True,
                            changed=changed)
    # a changed function's mutant that the given files did not kill was never run against the others
    assert mutate.read_verdicts(work, "mod") == {MOD + "x_b__mutmut_1": None, MOD + "x_d__mutmut_1": 1,
                                                 MOD + "x_d__mutmut_2": None}
