"""Every version of the risk model, kept: its boosters and model card on disk (the model folder beside
the warehouse), its row in `models.risk_model_versions` (window, features, parameters, metrics, the
champion/challenger decision). A version holds one booster per walk-forward month (trained on the
months before it, so it scores that month out of time) and a final booster trained on every month up
to `trained_through`, which scores the months after it.

A version's folder is written under a temporary name and renamed when complete, and its table rows
are written in one transaction after that, so a killed training leaves no half version behind."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import lightgbm as lgb

from orchestration.assets.table_metadata import existing_tables

VERSIONS = "models.risk_model_versions"
BACKTEST = "models.risk_backtest"
SCORES = "models.risk_scores"


@dataclass
class Version:
    name: str
    folder: Path
    trained_through: date
    months: list[date] = field(default_factory=list)
    weights: dict[str, float] = field(default_factory=dict)  # rules weight by booster file
    _cache: dict = field(default_factory=dict, repr=False)

    def _file(self, month: date) -> str | None:
        if month > self.trained_through:
            return "final.txt"
        return f"months/{month:%Y-%m}.txt" if month in self.months else None

    def model_for(self, month: date) -> lgb.Booster | None:
        """The booster that scores `month` without having seen it: the walk-forward one of that month,
        the final one after `trained_through`, none before the first walk-forward month."""
        name = self._file(month)
        if name is None:
            return None
        if name not in self._cache:
            self._cache[name] = lgb.Booster(model_file=str(self.folder / name))
        return self._cache[name]

    def rules_weight_for(self, month: date) -> float | None:
        """The weight of the rules in risk_score for the items of `month` (learned with the booster)."""
        name = self._file(month)
        return self.weights[name] if name else None


def ensure_tables(con) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS models")
    con.execute(f"""CREATE TABLE IF NOT EXISTS {VERSIONS} (
        model_version VARCHAR PRIMARY KEY, trained_at TIMESTAMP, status VARCHAR, training_from DATE,
        trained_through DATE, first_scored_month DATE, evaluated_month DATE, training_items BIGINT,
        training_seconds DOUBLE, features VARCHAR, parameters VARCHAR, challenger_metrics VARCHAR,
        champion_metrics VARCHAR, replaced_version VARCHAR, decision VARCHAR, folder VARCHAR)""")


def next_name(con) -> str:
    (count,) = con.execute(f"SELECT count(*) FROM {VERSIONS}").fetchone()
    return f"risk-v{count + 1}"


def champion(con, root: Path) -> Version | None:
    """The version in service, if any."""
    tables = existing_tables(con)
    if VERSIONS not in tables:
        return None
    row = con.execute(f"SELECT model_version, trained_through FROM {VERSIONS} WHERE status = 'champion'").fetchone()
    if row is None:
        return None
    folder = root / row[0]
    card = json.loads((folder / "card.json").read_text())
    months = [date.fromisoformat(m) for m in card["walk_forward_months"]]
    return Version(row[0], folder, row[1], months, card["rules_weights"])


def save(root: Path, name: str, months: dict[date, lgb.Booster], final: lgb.Booster, card: dict) -> Path:
    """Write a version's boosters and card; the folder appears complete or not at all."""
    folder, partial = root / name, root / f".{name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    (partial / "months").mkdir(parents=True)
    for month, booster in months.items():
        booster.save_model(str(partial / "months" / f"{month:%Y-%m}.txt"))
    final.save_model(str(partial / "final.txt"))
    (partial / "card.json").write_text(json.dumps(card, indent=2, default=str) + "\n")
    shutil.rmtree(folder, ignore_errors=True)  # a folder left by a training killed before its rows were written
    partial.rename(folder)
    return folder
