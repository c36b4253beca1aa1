"""The opening summary's driver sentence: what moved the figure, in words a director reads.

Worked example (an attribution of net profit vs the prior month): net profit 100 000 -> 849 257, a move
of +749 257 = net sales +2 149 440 + overheads +5 + COGS -1 400 188 (children add up to the move).
"""

from __future__ import annotations

import pandas as pd

from kpi_lib.present import summary


class Ctx:
    lang, currency, fx, kind, entity_id, period = "en", "CNY", 1.0, "company", "", "2026-11"

    def __init__(self, lang: str = "en") -> None:
        self.lang = lang
        self.figures: dict[str, float] = {}

    def record(self, kpi, value, **kw) -> None:
        self.figures[kpi] = value


def attribution(overheads: float) -> pd.DataFrame:
    cogs = 749_257 - 2_149_440 - overheads
    return pd.DataFrame([
        {"node": "np", "parent": None, "kpi": "net_profit", "name": "Net profit", "value_a": 100_000.0,
         "value_b": 849_257.0, "contribution": 749_257.0, "unit": "money", "root_unit": "money"},
        {"node": "ns", "parent": "np", "kpi": "net_sales", "name": "Net sales", "value_a": 1.0, "value_b": 2.0,
         "contribution": 2_149_440.0, "unit": "money", "root_unit": "money"},
        {"node": "oh", "parent": "np", "kpi": "overheads", "name": "Overheads", "value_a": 1.0, "value_b": 2.0,
         "contribution": overheads, "unit": "money", "root_unit": "money"},
        {"node": "cg", "parent": "np", "kpi": "cogs", "name": "COGS", "value_a": 1.0, "value_b": 2.0,
         "contribution": cogs, "unit": "money", "root_unit": "money"},
    ])


def test_a_negligible_second_driver_is_not_named_and_the_move_has_no_double_sign() -> None:
    # overheads +5 is 0.0007 % of the +749 257 move: below the 5 % line, not named
    text = summary._drivers(attribution(5.0), Ctx())
    assert text == ("Net profit rose by ¥749,257 on the prior month, mainly from Net sales (+¥2,149,440); "
                    "the largest move the other way was COGS (-¥1,400,188).")
    zh = summary._drivers(attribution(5.0), Ctx("zh"))
    assert "较上月增加 ¥749,257" in zh and "+¥5" not in zh


def test_a_material_second_driver_is_named() -> None:
    # overheads +60 000 is 8 % of the move (≥ 5 %): named after net sales
    text = summary._drivers(attribution(60_000.0), Ctx())
    assert "mainly from Net sales (+¥2,149,440), Overheads (+¥60,000);" in text


class Card:
    def __init__(self, total: float, bonus: float) -> None:
        self.total, self.bonus = total, bonus


def test_score_sentence_names_the_lowest_line_only_when_lines_differ() -> None:
    lines = pd.DataFrame({"kpi": ["gmv", "net_profit", "late"], "name": ["GMV", "Net profit", "Late rate"],
                          "weight": [40, 60, 0], "payout_pct": [150.0, 150.0, 0.0]})
    # both weighted lines at the 150 % cap (the zero-weight line does not count): no "lowest"
    assert summary.score_sentence(Card(150.0, 18000.0), lines, Ctx()) == \
        "Score this period 150.0 / 100, bonus ¥18,000.00."
    lines.loc[1, "payout_pct"] = 80.0
    assert summary.score_sentence(Card(92.0, 11040.0), lines, Ctx()).endswith("Net profit (80.0%).")
