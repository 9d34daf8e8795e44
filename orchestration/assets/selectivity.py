"""The learned selectivity model as assets: `models/risk_model` trains a challenger on every inspection
outcome (monthly by schedule, or on demand) and decides whether it replaces the champion;
`models/risk_scores` scores every item with the champion, out of time, and says why.

A version is trained walk-forward: for each month from the `risk.model.warmup_months`-th month with
outcomes up to the latest complete one (L), a booster trained on the earlier months only; then a final
booster on every month up to L, which scores the months after L. The challenger's booster for L and the
champion's booster for L (trained before L either way) are compared on L's outcomes
(`training.decide`). The walk-forward predictions of every version are kept in `models.risk_backtest`,
from which dbt computes `marts.risk_model_performance` next to the rules and random selection."""

import hashlib
import json
import time
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from orchestration import settings
from orchestration.assets.dbt import refresh_window
from orchestration.assets.table_metadata import existing_tables, table_metadata
from orchestration.quality.parameters import as_of_date
from orchestration.resources import WAREHOUSE_POOL, WarehouseResource
from orchestration.rules import rule
from orchestration.selectivity import registry, training
from orchestration.selectivity.explain import explain
from orchestration.selectivity.features import FEATURE_TABLE, FEATURES, read_features

RULES_TABLE = "intermediate.int_declaration_rules"

FEATURES_KEY = AssetKey(["intermediate", "int_risk_features"])
RULES_KEY = AssetKey(["intermediate", "int_declaration_rules"])
RISK_MODEL = AssetKey(["models", "risk_model"])
RISK_SCORES = AssetKey(["models", "risk_scores"])


def _settings() -> dict:
    return rule("risk.model")


def complete_months(months, as_of: date) -> list[date]:
    """The months whose last day is on or before `as_of`: their outcomes are as complete as they get."""
    return sorted(m for m in months if (pd.Timestamp(m) + pd.offsets.MonthEnd(0)).date() <= as_of)


def retrain_due(con, root: Path, as_of: date) -> str | None:
    """Why a challenger should be trained now (no model yet, or a complete month of outcomes that no
    version has been trained through), or None: the monthly cadence, checked after a refresh."""
    tables = existing_tables(con)
    if FEATURE_TABLE not in tables:
        return None
    months = [
        m
        for (m,) in con.execute(f"SELECT DISTINCT period_month FROM {FEATURE_TABLE} WHERE is_inspected = 1").fetchall()
    ]
    complete = complete_months(months, as_of)
    if len(complete) <= _settings()["warmup_months"]:
        return None
    if registry.champion(con, root) is None:
        return f"no model yet, and {len(complete)} complete months of inspection outcomes"
    (latest,) = con.execute(f"SELECT max(trained_through) FROM {registry.VERSIONS}").fetchone()
    if latest < complete[-1]:
        return f"the outcomes of {complete[-1]:%Y-%m} are in; the latest version was trained through {latest:%Y-%m}"
    return None


def learn_rules_weights(
    backtest: pd.DataFrame, weights: list[float], initial: float, rates: list[float]
) -> dict[date, float]:
    """The rules' weight in risk_score for each walk-forward month, learned from the out-of-time
    predictions of the months before it only (`initial` for the first), and under `None` the weight
    for the months after the last one, learned from all of them."""
    months = sorted(backtest["period_month"].unique())
    learned: dict = {}
    for month in [*months, None]:
        earlier = backtest if month is None else backtest[backtest["period_month"] < month]
        learned[month] = (
            training.rules_weight(
                earlier["is_irregular"], earlier["fraud_probability"], earlier["rules_score"], weights, rates
            )
            if len(earlier)
            else initial
        )
    return learned


@asset(
    key=RISK_MODEL,
    deps=[FEATURES_KEY, RULES_KEY],
    group_name="models",
    pool=WAREHOUSE_POOL,
    owners=["team:risk-management"],
    kinds={"lightgbm", "duckdb", "python"},
    description="A challenger LightGBM model trained walk-forward on every inspection outcome; it replaces "
    "the champion only if it beats it on the latest out-of-time month. Every version is kept.",
)
def risk_model(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    s = _settings()
    root = settings.model_dir(Path(warehouse.path))
    with warehouse.connect(read_only=True) as con:
        labelled = read_features(con, "is_inspected = 1")
        rules = con.execute(f"""
            SELECT r.declaration_id, r.item_no, CAST(r.rules_score AS DOUBLE) AS rules_score
            FROM {RULES_TABLE} AS r JOIN {FEATURE_TABLE} AS f USING (declaration_id, item_no)
            WHERE f.is_inspected = 1""").df()  # the labelled items' only: the weights are learned on them
        champion = registry.champion(con, root)
    months = complete_months(labelled["period_month"].unique(), as_of_date(context.run.tags))
    if len(months) <= s["warmup_months"]:
        raise ValueError(
            f"{len(months)} complete month(s) of inspection outcomes; the model needs more than "
            f"{s['warmup_months']} (risk.model.warmup_months) to be trained and tested out of time"
        )
    last = months[-1]
    started = time.perf_counter()
    boosters = training.walk_forward(
        labelled, FEATURES, s["lightgbm"], s["warmup_months"], s["min_training_items"], last
    )
    if last not in boosters:
        raise ValueError(f"too few outcomes before {last:%Y-%m} to train a model that can be tested on it")
    final = training.train(labelled[labelled["period_month"] <= last], FEATURES, s["lightgbm"])
    seconds = time.perf_counter() - started

    backtest = pd.concat(
        [
            labelled.loc[
                labelled["period_month"] == m, ["declaration_id", "item_no", "period_month", "is_irregular"]
            ].assign(fraud_probability=training.predict(b, labelled[labelled["period_month"] == m]))
            for m, b in boosters.items()
        ]
    ).merge(rules, on=["declaration_id", "item_no"], how="left")
    weights = learn_rules_weights(backtest, s["rules_weights"], s["initial_rules_weight"], s["inspection_rates"])
    backtest["rules_weight"] = backtest["period_month"].map(weights)
    evaluated = labelled[labelled["period_month"] == last]
    rates, money = s["inspection_rates"], np.zeros(len(evaluated))
    ours = training.metrics(evaluated["is_irregular"], training.predict(boosters[last], evaluated), money, rates)
    theirs = None
    if champion is not None and (booster := champion.model_for(last)) is not None:
        if set(booster.feature_name()) <= set(evaluated.columns):
            theirs = training.metrics(evaluated["is_irregular"], training.predict(booster, evaluated), money, rates)
    promote, reason = training.decide(theirs, ours, s["decision_rate"])
    decision = ("promoted: " if promote else "rejected: ") + reason
    training_items = int((labelled["period_month"] <= last).sum())

    with warehouse.connect() as con:
        registry.ensure_tables(con)
        name = registry.next_name(con)
        card = {
            "model_version": name,
            "library": "lightgbm",
            "features": FEATURES,
            "parameters": s["lightgbm"],
            "training_from": min(months),
            "trained_through": last,
            "walk_forward_months": [m.isoformat() for m in boosters],
            "rules_weights": {
                **{f"months/{m:%Y-%m}.txt": weights[m] for m in boosters},
                "final.txt": weights[None],
            },
            "evaluated_month": last,
            "challenger_metrics": ours,
            "champion_metrics": theirs,
            "decision": reason,
        }
        folder = registry.save(root, name, boosters, final, card)
        con.execute("BEGIN")
        if promote and champion is not None:
            con.execute(f"UPDATE {registry.VERSIONS} SET status = 'retired' WHERE model_version = ?", [champion.name])
        con.execute(
            f"INSERT INTO {registry.VERSIONS} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                name,
                datetime.now(UTC).replace(tzinfo=None),
                "champion" if promote else "rejected",
                min(months),
                last,
                min(boosters),
                last,
                training_items,
                round(seconds, 3),
                json.dumps(FEATURES),
                json.dumps(card["parameters"]),
                json.dumps(ours),
                json.dumps(theirs) if theirs else None,
                champion.name if champion else None,
                decision,
                str(folder),
            ],
        )
        con.register("_backtest", backtest.assign(model_version=name))
        con.execute(f"""INSERT INTO {registry.BACKTEST}
            SELECT model_version, declaration_id, item_no, CAST(period_month AS DATE), fraud_probability,
                   rules_weight
            FROM _backtest""")
        con.execute("COMMIT")
    context.log.info(f"{name}: {'promoted' if promote else 'rejected'} ({reason})")
    return MaterializeResult(
        metadata={
            "model_version": name,
            "decision": decision,
            "champion": name if promote else (champion.name if champion else None),
            "training_window": f"{min(months):%Y-%m} to {last:%Y-%m}",
            "walk_forward_months": len(boosters),
            "training_items": training_items,
            "training_seconds": round(seconds, 2),
            "rules_weight_after_training": weights[None],
            "evaluated_month": f"{last:%Y-%m}",
            "challenger": MetadataValue.json(ours),
            "champion_on_the_same_month": MetadataValue.json(theirs) if theirs else None,
            "parameters": MetadataValue.json(card["parameters"]),
        }
    )


def exploration_draw(declaration_ids: pd.Series, item_nos: pd.Series) -> np.ndarray:
    """A uniform number per item from a hash of its identity: the random part of selection is the same
    whenever the item is scored again, and independent of the model."""
    keys = (declaration_ids.astype(str) + "#" + item_nos.astype(str)).to_numpy()
    return np.array([int.from_bytes(hashlib.blake2b(k.encode(), digest_size=8).digest()) / 2**64 for k in keys])


def months_to_score(items: dict, scored: dict, wanted: dict, refresh_from: str | None) -> list:
    """Months whose scores are missing, stale (scored by another version than the one that should score
    them now, or for another number of items) or in the refresh window of this run. `items` is the
    feature rows per month, `scored` the (items, version) of the stored scores per month, `wanted`
    the version that should score each month ('' for none)."""
    start = date.fromisoformat(refresh_from).replace(day=1) if refresh_from else None
    return sorted(
        month
        for month, n in items.items()
        if scored.get(month) != (n, wanted[month]) or (start is not None and month >= start)
    )


@asset(
    key=RISK_SCORES,
    deps=[FEATURES_KEY, RISK_MODEL],
    group_name="models",
    pool=WAREHOUSE_POOL,
    owners=["team:risk-management"],
    kinds={"lightgbm", "duckdb", "python"},
    description="Every item's probability of an irregular outcome from the champion model (out of time: the "
    "booster that scores a month never saw it), with the contributions that raise it in words.",
)
def risk_scores(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    s = _settings()
    root = settings.model_dir(Path(warehouse.path))
    refresh_from, _ = refresh_window(warehouse)
    with warehouse.connect(read_only=True) as con:
        champion = registry.champion(con, root)
        items = dict(con.execute(f"SELECT period_month, count(*) FROM {FEATURE_TABLE} GROUP BY 1").fetchall())
        scored = {
            month: (n, version)
            for month, n, version in con.execute(
                f"SELECT period_month, count(*), max(coalesce(model_version, '')) FROM {registry.SCORES} GROUP BY 1"
            ).fetchall()
        }
    wanted = {m: (champion.name if champion and champion.model_for(m) is not None else "") for m in items}
    todo = months_to_score(items, scored, wanted, refresh_from)
    written = with_model = explained = 0
    started = time.perf_counter()
    for month in todo:
        with warehouse.connect(read_only=True) as con:
            frame = read_features(con, "period_month = ?", [month])
        booster = champion.model_for(month) if champion else None
        if booster is not None:
            p = training.predict(booster, frame)
            words, names = [None] * len(frame), [None] * len(frame)
            # exact contributions cost about 2 ms an item: for the items an officer may be sent to
            top = np.argsort(-p, kind="stable")[: int(np.ceil(len(p) * s["explained_share"]))]
            for i, w, n in zip(top, *explain(booster, frame.iloc[top], s["explanations"]), strict=True):
                words[i], names[i] = w, n
            with_model += len(frame)
            explained += len(top)
        else:
            p, words, names = np.full(len(frame), np.nan), [None] * len(frame), [None] * len(frame)
        out = pd.DataFrame(
            {
                "declaration_id": frame["declaration_id"],
                "item_no": frame["item_no"],
                "period_month": frame["period_month"],
                "fraud_probability": p,
                "model_version": champion.name if booster is not None else None,
                "model_explanation": words,
                "model_top_features": names,
                "rules_weight": champion.rules_weight_for(month) if booster is not None else None,
                "exploration_draw": exploration_draw(frame["declaration_id"], frame["item_no"]),
            }
        )
        with warehouse.connect() as con:
            con.register("_scores", out)
            con.execute("BEGIN")
            con.execute(f"DELETE FROM {registry.SCORES} WHERE period_month = ?", [month])
            con.execute(f"""INSERT INTO {registry.SCORES}
                SELECT declaration_id, item_no, CAST(period_month AS DATE), fraud_probability, model_version,
                       model_explanation, model_top_features, exploration_draw, rules_weight, current_timestamp
                FROM _scores""")
            con.execute("COMMIT")
        written += len(out)
    if champion is None:
        context.log.warning("no risk model yet: risk_score is the rules' score until `risk_model` is trained")
    with warehouse.connect(read_only=True) as con:
        table = table_metadata(con, "models", "risk_scores")
    return MaterializeResult(
        metadata={
            **table,
            "champion": champion.name if champion else None,
            "months_scored": len(todo),
            "items_scored": written,
            "items_with_a_model_score": with_model,
            "items_explained": explained,
            "seconds": round(time.perf_counter() - started, 2),
        }
    )
