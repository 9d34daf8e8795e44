"""Training, out-of-time evaluation and the champion/challenger rule, as pure functions over feature
frames (`features.read_features`), so that they are tested without Dagster or a warehouse.

Walk-forward: the model that scores month m is trained on the labelled items of the months before m
only; the features themselves are already out of time (dbt model int_risk_features). The metrics are
those an inspection service plans with: precision and recall of the top 1/5/10% of items, the money
at risk caught, and the AUC."""

from __future__ import annotations

from datetime import date

import lightgbm as lgb
import numpy as np
import pandas as pd

LABEL = "is_irregular"


def train(frame: pd.DataFrame, features: list[str], params: dict) -> lgb.Booster:
    """A LightGBM model of P(irregular outcome) on the labelled rows of `frame` (`params` as LightGBM
    takes them, boosting rounds as `num_iterations`)."""
    data = lgb.Dataset(frame[features].to_numpy(np.float64), label=frame[LABEL].to_numpy(), feature_name=features)
    return lgb.train(params, data)


def predict(booster: lgb.Booster, frame: pd.DataFrame) -> np.ndarray:
    return booster.predict(frame[booster.feature_name()].to_numpy(np.float64))


def trainable(labelled: pd.DataFrame, min_items: int) -> bool:
    """Enough outcomes, of both kinds, to learn from."""
    return len(labelled) >= min_items and labelled[LABEL].nunique() == 2


def walk_forward(
    labelled: pd.DataFrame,
    features: list[str],
    params: dict,
    warmup_months: int,
    min_items: int,
    last_month: date,
) -> dict[date, lgb.Booster]:
    """One model per month from the `warmup_months`-th month with outcomes up to `last_month`, each
    trained on the outcomes of the months before it only."""
    months = sorted(m for m in labelled["period_month"].unique() if m <= last_month)
    models = {}
    for month in months[warmup_months:]:
        history = labelled[labelled["period_month"] < month]
        if trainable(history, min_items):
            models[month] = train(history, features, params)
    return models


def metrics(y: np.ndarray, p: np.ndarray, money: np.ndarray, rates: list[float]) -> dict[str, float]:
    """Precision, recall and money caught of the top `rate` of items by `p` (ties in the given order),
    and the AUC (rank statistic, ties averaged)."""
    y, p, money = np.asarray(y, dtype=float), np.asarray(p, dtype=float), np.asarray(money, dtype=float)
    order = np.argsort(-p, kind="stable")
    hits, total_money = y.sum(), (money * y).sum()
    out: dict[str, float] = {"items": float(len(y)), "irregular": float(hits)}
    for rate in rates:
        top = order[: max(1, int(len(y) * rate))]
        out[f"precision_at_{rate:g}"] = float(y[top].mean()) if len(y) else float("nan")
        out[f"recall_at_{rate:g}"] = float(y[top].sum() / hits) if hits else float("nan")
        out[f"revenue_caught_at_{rate:g}"] = float((money[top] * y[top]).sum())
        out[f"revenue_share_at_{rate:g}"] = float((money[top] * y[top]).sum() / total_money) if total_money else 0.0
    positives, negatives = hits, len(y) - hits
    if positives and negatives:
        ranks = pd.Series(p).rank(method="average").to_numpy()
        out["auc"] = float((ranks[y == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives))
    else:
        out["auc"] = float("nan")
    return out


def combined(p: np.ndarray, rules_score: np.ndarray, weight: float) -> np.ndarray:
    """risk_score / 100 (macro combined_risk_score): model and rules as independent chances."""
    return 1 - (1 - np.asarray(p, dtype=float)) * (1 - weight * np.asarray(rules_score, dtype=float) / 100)


def rules_weight(
    y: np.ndarray, p: np.ndarray, rules_score: np.ndarray, weights: list[float], rates: list[float]
) -> float:
    """The weight of the rules in risk_score that the outcomes support: of `weights`, the one whose
    combined ranking has the best mean precision at the inspection `rates` (ties: the larger weight,
    so rules keep their say until outcomes contradict them)."""
    zeros = np.zeros(len(y))

    def mean_precision(weight: float) -> float:
        found = metrics(y, combined(p, rules_score, weight), zeros, rates)
        return float(np.mean([found[f"precision_at_{rate:g}"] for rate in rates]))

    return max((mean_precision(w), w) for w in weights)[1]


def decide(champion: dict[str, float] | None, challenger: dict[str, float], rate: float) -> tuple[bool, str]:
    """Whether the challenger replaces the champion, and why: it must beat the champion's precision at
    the decision `rate` on the same out-of-time month, or equal it with a higher AUC."""
    key = f"precision_at_{rate:g}"
    if champion is None:
        return True, "no champion yet"
    ours, theirs = challenger[key], champion[key]
    if ours > theirs:
        return True, f"precision at {rate:.0%}: {ours:.3f} against the champion's {theirs:.3f}"
    if ours == theirs and challenger["auc"] > champion["auc"]:
        auc = f"AUC {challenger['auc']:.3f} against {champion['auc']:.3f}"
        return True, f"same precision at {rate:.0%} ({ours:.3f}), {auc}"
    return False, f"precision at {rate:.0%}: {ours:.3f}, not above the champion's {theirs:.3f}; the champion stays"
