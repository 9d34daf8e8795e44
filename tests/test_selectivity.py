"""The learned risk model's pure parts: walk-forward training never sees the month it scores, the
metrics an inspection service plans with, the champion/challenger rule, which months are scored
again, and explanations in words. No Dagster, no warehouse."""

from datetime import date

import numpy as np
import pandas as pd
import pytest

from orchestration.assets.selectivity import complete_months, exploration_draw, learn_rules_weights, months_to_score
from orchestration.rules import rule
from orchestration.selectivity import training
from orchestration.selectivity.explain import explain
from orchestration.selectivity.features import FEATURES, describe

pytestmark = pytest.mark.fast

PARAMS = {**rule("risk.model.lightgbm"), "min_data_in_leaf": 5, "num_iterations": 20}


def frame(months: int = 5, per_month: int = 200, seed: int = 1) -> pd.DataFrame:
    """Labelled items whose trader share of earlier irregular outcomes predicts their own outcome."""
    rng = np.random.default_rng(seed)
    n = months * per_month
    out = pd.DataFrame({f: rng.random(n) for f in FEATURES})
    out["trader_prior_inspections"] = rng.integers(0, 20, n).astype(float)
    out["is_irregular"] = (rng.random(n) < 0.1 + 0.8 * (out["trader_irregular_share"] > 0.8)).astype(int)
    out["is_inspected"] = 1
    out["period_month"] = [date(2022, 1 + i // per_month, 1) for i in range(n)]
    out["declaration_id"], out["item_no"] = [f"D{i}" for i in range(n)], 1
    return out


def test_walk_forward_trains_each_month_on_the_months_before_it_only():
    labelled = frame()
    models = training.walk_forward(labelled, FEATURES, PARAMS, 2, 50, date(2022, 5, 1))
    assert sorted(models) == [date(2022, 3, 1), date(2022, 4, 1), date(2022, 5, 1)]
    # an outcome changed in the month scored, or after it, leaves that month's booster unchanged
    changed = labelled.copy()
    changed.loc[changed["period_month"] >= date(2022, 4, 1), "is_irregular"] ^= 1
    again = training.walk_forward(changed, FEATURES, PARAMS, 2, 50, date(2022, 5, 1))
    march = labelled[labelled["period_month"] == date(2022, 3, 1)]
    april = labelled[labelled["period_month"] == date(2022, 4, 1)]
    assert np.array_equal(
        training.predict(models[date(2022, 3, 1)], march), training.predict(again[date(2022, 3, 1)], march)
    )
    assert np.array_equal(
        training.predict(models[date(2022, 4, 1)], april), training.predict(again[date(2022, 4, 1)], april)
    )
    may = labelled[labelled["period_month"] == date(2022, 5, 1)]
    assert not np.array_equal(
        training.predict(models[date(2022, 5, 1)], may), training.predict(again[date(2022, 5, 1)], may)
    )
    # and it learns: the irregular items are ranked first
    p = training.predict(models[date(2022, 5, 1)], may)
    assert training.metrics(may["is_irregular"], p, np.zeros(len(may)), [0.1])["precision_at_0.1"] >= 0.8


def test_metrics_by_hand():
    y, p, money = np.array([1, 0, 1, 0]), np.array([0.9, 0.8, 0.3, 0.1]), np.array([10, 0, 30, 0])
    m = training.metrics(y, p, money, [0.25, 0.5])
    assert m["precision_at_0.25"] == 1 and m["recall_at_0.25"] == 0.5 and m["revenue_share_at_0.25"] == 0.25
    assert m["precision_at_0.5"] == 0.5 and m["revenue_caught_at_0.5"] == 10
    assert m["auc"] == 0.75
    tied = training.metrics(np.array([1, 0]), np.array([0.5, 0.5]), np.zeros(2), [0.5])
    assert tied["auc"] == 0.5


def test_a_challenger_must_beat_the_champion_on_the_same_month():
    champion = {"precision_at_0.05": 0.6, "auc": 0.80}
    assert training.decide(None, champion, 0.05)[0]
    assert training.decide(champion, {"precision_at_0.05": 0.61, "auc": 0.7}, 0.05)[0]
    assert training.decide(champion, {"precision_at_0.05": 0.6, "auc": 0.81}, 0.05)[0]
    kept, reason = training.decide(champion, {"precision_at_0.05": 0.6, "auc": 0.80}, 0.05)
    assert not kept and "champion stays" in reason
    assert not training.decide(champion, {"precision_at_0.05": 0.5, "auc": 0.99}, 0.05)[0]


def test_months_scored_again_are_the_missing_the_stale_and_the_refreshed():
    items = {date(2022, 1, 1): 10, date(2022, 2, 1): 10, date(2022, 3, 1): 5, date(2022, 4, 1): 7}
    wanted = {
        date(2022, 1, 1): "",
        date(2022, 2, 1): "risk-v2",
        date(2022, 3, 1): "risk-v2",
        date(2022, 4, 1): "risk-v2",
    }
    scored = {date(2022, 1, 1): (10, ""), date(2022, 2, 1): (10, "risk-v1"), date(2022, 3, 1): (4, "risk-v2")}
    assert months_to_score(items, scored, wanted, None) == [date(2022, 2, 1), date(2022, 3, 1), date(2022, 4, 1)]
    current = {m: (n, wanted[m]) for m, n in items.items()}
    assert months_to_score(items, current, wanted, None) == []
    assert months_to_score(items, current, wanted, "2022-03-17") == [date(2022, 3, 1), date(2022, 4, 1)]


def test_complete_months_end_on_or_before_the_as_of_date():
    months = [date(2022, 1, 1), date(2022, 2, 1), date(2022, 3, 1)]
    assert complete_months(months, date(2022, 2, 28)) == months[:2]
    assert complete_months(months, date(2022, 2, 27)) == months[:1]


def test_explanations_name_what_raises_the_score_in_words():
    labelled = frame(months=3)
    booster = training.train(labelled, FEATURES, {**PARAMS, "num_iterations": 30})
    risky = labelled.nlargest(5, "trader_irregular_share")
    words, names = explain(booster, risky, 3)
    assert all(n.split(",")[0] == "trader_irregular_share" for n in names)
    assert all(w.startswith("importer: ") and "irregular in" in w for w in words)
    row = {"trader_irregular_share": 0.62, "trader_prior_inspections": 13, "trader_prior_items": 40}
    assert describe("trader_irregular_share", row) == "importer: 62% irregular in 13 earlier inspections"
    row = {"hs6_origin_irregular_share": 0.1, "hs6_origin_prior_inspections": 0, "hs6_origin_prior_items": 0}
    assert describe("hs6_origin_prior_items", row) == "HS6 from this origin: not seen before"
    assert describe("valuation_ratio", {"valuation_ratio": 0.25}) == "unit value against the reference 0.25x"
    assert describe("signal_origin", {}) == "rule: GCC origin on goods consigned from outside the GCC"


def test_the_exploration_draw_is_uniform_and_repeatable():
    ids = pd.Series([f"D{i}" for i in range(20_000)])
    draw = exploration_draw(ids, pd.Series([1] * len(ids)))
    assert np.array_equal(draw, exploration_draw(ids, pd.Series([1] * len(ids))))
    assert 0 <= draw.min() and draw.max() < 1 and abs(draw.mean() - 0.5) < 0.01
    assert abs((draw < 0.1).mean() - 0.1) < 0.01


def test_the_rules_weight_is_learned_from_earlier_months_only():
    y = np.array([1, 0, 1, 0, 0, 0, 0, 0, 0, 0])
    p = np.array([0.5, 0.4, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1])
    rules_agree = np.array([0, 0, 90, 0, 0, 0, 0, 0, 0, 0])  # the rules find C, which the model missed
    assert training.rules_weight(y, p, rules_agree, [0, 0.5, 1], [0.2]) == 1
    rules_wrong = np.array([0, 0, 0, 90, 0, 0, 0, 0, 0, 0])  # they point at D, which was clean
    assert training.rules_weight(y, p, rules_wrong, [0, 0.5, 1], [0.1]) == 0
    assert training.rules_weight(y, p, np.zeros(10), [0, 0.5, 1], [0.1]) == 1  # no evidence either way: keep them

    backtest = pd.DataFrame(
        {
            "period_month": [date(2022, 4, 1)] * 10 + [date(2022, 5, 1)] * 10,
            "is_irregular": np.r_[y, y],
            "fraud_probability": np.r_[p, p],
            "rules_score": np.r_[rules_wrong, rules_agree],
        }
    )
    learned = learn_rules_weights(backtest, [0, 0.5, 1], 0.5, [0.1])
    assert learned[date(2022, 4, 1)] == 0.5  # nothing earlier to learn from
    assert learned[date(2022, 5, 1)] == 0  # April's rules were wrong; May's own outcomes do not count
    assert learned[None] == 0  # both months pooled: the wrong pick in April outweighs
