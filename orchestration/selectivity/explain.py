"""Why the model scored an item as it did: LightGBM's per-item feature contributions (`pred_contrib`,
exact SHAP values for trees), the largest ones that raise the risk, put in words an officer reads."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd

from orchestration.selectivity.features import describe


def explain(booster: lgb.Booster, frame: pd.DataFrame, top: int) -> tuple[list[str | None], list[str | None]]:
    """For each row of `frame`: the `top` contributions that raise its score, in words (`; `-separated,
    largest first) and as feature names (`,`-separated); None where nothing raises it."""
    features = booster.feature_name()
    contributions = booster.predict(frame[features].to_numpy(np.float64), pred_contrib=True)[:, :-1]
    order = np.argsort(-contributions, axis=1, kind="stable")[:, :top]
    words, names = [], []
    for row, (i, ranked) in zip(frame.to_dict("records"), enumerate(order), strict=True):
        raising = [features[j] for j in ranked if contributions[i, j] > 0]
        words.append("; ".join(describe(f, row) for f in raising) or None)
        names.append(",".join(raising) or None)
    return words, names
