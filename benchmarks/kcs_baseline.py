"""A plain, notebook-style fraud model on the KCS synthetic declarations, outside the warehouse: what a
data scientist would try first, and what the warehouse's own ranking must at least match.

Same split as the warehouse (month by month from the fourth month, each month scored by a model
trained on the months before it), the same label (Fraud), simple out-of-time target encodings of the
parties and codes (earlier months only, shrunk towards the earlier base rate) plus the declared
numbers. Two maintained libraries side by side: LightGBM and scikit-learn's HistGradientBoosting.

    python benchmarks/kcs_baseline.py ../shared/data/kcs-synthetic-declarations
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import duckdb
import lightgbm as lgb
import numpy as np
import pandas as pd

ENTITIES = ["Importer ID", "Declarant ID", "Seller ID", "HS6 Code", "Country of Origin", "Country of Departure",
            "Office ID", "Mode of Transport", "route", "hs6_origin"]  # fmt: skip
NUMBERS = ["Net Mass", "Item Price", "Tax Rate", "unit_value"]
RATES = (0.01, 0.05, 0.1)
WARMUP_MONTHS, PRIOR_WEIGHT = 3, 5


def load(data_dir: Path) -> pd.DataFrame:
    files = [str(p) for p in sorted(data_dir.glob("df_syn_*_eng.csv")) if "test" not in p.name]
    df = duckdb.sql(f"SELECT * FROM read_csv({files}, all_varchar = true)").df()
    for c in ("Net Mass", "Item Price", "Tax Rate"):
        df[c] = df[c].astype(float)
    df["month"] = pd.to_datetime(df["Date"]).dt.to_period("M")
    df["y"] = df["Fraud"].astype(int)
    df["unit_value"] = df["Item Price"] / df["Net Mass"].replace(0, np.nan)
    df["route"] = df["Country of Origin"] + ">" + df["Country of Departure"]
    df["hs6_origin"] = df["HS6 Code"] + "|" + df["Country of Origin"]
    pair_first = df.groupby(["HS6 Code", "Net Mass"])["month"].transform("min")
    df["pair_seen"] = pair_first < df["month"]
    return df


def features(df: pd.DataFrame) -> pd.DataFrame:
    """Numbers as declared, and per entity its earlier inspections and their shrunk fraud share."""
    out = df[NUMBERS].copy()
    base = df.groupby("month")["y"].agg(["sum", "count"]).sort_index()
    prior_base = (base["sum"].cumsum() - base["sum"]) / (base["count"].cumsum() - base["count"]).replace(0, np.nan)
    b = df["month"].map(prior_base.fillna(0)).to_numpy()
    for e in ENTITIES:
        g = df.groupby([e, "month"])["y"].agg(["sum", "count"]).reset_index().sort_values("month")
        g["hits"] = g.groupby(e)["sum"].cumsum() - g["sum"]
        g["n"] = g.groupby(e)["count"].cumsum() - g["count"]
        m = df[[e, "month"]].merge(g[[e, "month", "hits", "n"]], on=[e, "month"], how="left")
        out[f"{e}_share"] = ((m["hits"] + PRIOR_WEIGHT * b) / (m["n"] + PRIOR_WEIGHT)).to_numpy()
        out[f"{e}_n"] = m["n"].to_numpy()
    return out


def precision(y: np.ndarray, p: np.ndarray, rate: float) -> float:
    top = np.argsort(-p, kind="stable")[: max(1, int(len(y) * rate))]
    return float(y[top].mean())


def evaluate(data_dir: Path) -> dict[str, dict[str, float]]:
    """Pooled out-of-time precision at 1/5/10% per library, for all items and items with a new pair."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    df = load(data_dir)
    x = features(df)
    months = sorted(df["month"].unique())
    models = {
        "lightgbm": lambda: lgb.LGBMClassifier(n_estimators=300, learning_rate=0.05, verbose=-1, random_state=7),
        "hist_gradient_boosting": lambda: HistGradientBoostingClassifier(
            max_iter=300, learning_rate=0.05, random_state=7
        ),
    }
    results = {}
    for name, make in models.items():
        started, scores = time.perf_counter(), np.full(len(df), np.nan)
        for month in months[WARMUP_MONTHS:]:
            train, test = (df["month"] < month).to_numpy(), (df["month"] == month).to_numpy()
            scores[test] = make().fit(x[train], df["y"][train]).predict_proba(x[test])[:, 1]
        scored = ~np.isnan(scores)
        y, p, new = df["y"].to_numpy()[scored], scores[scored], ~df["pair_seen"].to_numpy()[scored]
        results[name] = {
            **{f"precision_at_{r:g}": precision(y, p, r) for r in RATES},
            **{f"new_pair_precision_at_{r:g}": precision(y[new], p[new], r) for r in RATES},
            "base_rate": float(y.mean()),
            "items": int(len(y)),
            "seconds": round(time.perf_counter() - started, 1),
        }
    return results


if __name__ == "__main__":
    for library, figures in evaluate(Path(sys.argv[1])).items():
        print(library, {k: round(v, 3) if isinstance(v, float) else v for k, v in figures.items()})
