"""The learned model's inputs: which columns of `intermediate.int_risk_features` it reads, and how each
is put in words for an officer. The out-of-time logic (profiles from earlier months only) lives in that
dbt model; this module only names and reads its columns."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

FEATURE_TABLE = "intermediate.int_risk_features"

# profile name -> how an officer calls it
PROFILES = {
    "trader": "importer",
    "declarant": "declarant",
    "seller": "seller",
    "hs6": "HS6",
    "hs6_origin": "HS6 from this origin",
    "origin": "origin",
    "partner": "consignment country",
    "office": "office",
    "transport": "transport mode",
    "route": "route",
}

# numeric column -> (words, format of its value)
NUMERIC = {
    "customs_value_omr": ("customs value", "{:,.0f} OMR"),
    "net_mass_kg": ("net mass", "{:,.1f} kg"),
    "unit_value_omr_kg": ("unit value", "{:,.3f} OMR/kg"),
    "supplementary_qty": ("supplementary quantity", "{:,.0f}"),
    "declared_duty_share": ("declared duty", "{:.1%} of the value"),
    "valuation_ratio": ("unit value against the reference", "{:.2f}x"),
    "duty_rate": ("duty rate", "{:.1%}"),
    "reference_items": ("comparable items in the reference", "{:,.0f}"),
    "is_export": ("export", "{:.0f}"),
}

# rule signal column -> the rule in words
RULES = {
    "signal_valuation": "rule: unit value below the reference range",
    "signal_misclassification": "rule: price fits a higher-duty subheading",
    "signal_origin": "rule: GCC origin on goods consigned from outside the GCC",
    "signal_origin_mirror": "rule: GCC-origin imports above what the partner reports exporting",
    "signal_assessment": "rule: declared duty or VAT below the tariff's",
}

FEATURES: list[str] = [
    *NUMERIC,
    *RULES,
    *(f"{p}_{m}" for p in PROFILES for m in ("irregular_share", "prior_inspections", "prior_items")),
]

ID_COLUMNS = ["declaration_id", "item_no", "period_month", "is_inspected", "is_irregular"]


def read_features(con, where: str = "true", params: list | None = None) -> pd.DataFrame:
    """Feature rows (ids, month, label and every feature as float) matching `where`."""
    numeric = [c for c in FEATURES if c != "is_export"]
    frame = con.execute(
        f"""SELECT {", ".join(ID_COLUMNS)}, CAST(flow = 'X' AS DOUBLE) AS is_export,
                   {", ".join(f"CAST({c} AS DOUBLE) AS {c}" for c in numeric)}
            FROM {FEATURE_TABLE} WHERE {where} ORDER BY period_month, declaration_id, item_no""",
        params or [],
    ).df()
    frame["period_month"] = pd.to_datetime(frame["period_month"]).dt.date
    return frame


def describe(feature: str, row: Mapping[str, Any]) -> str:
    """One feature of one item in words, e.g. `importer: 62% irregular in 13 earlier inspections`."""
    if feature in RULES:
        return RULES[feature]
    if feature in NUMERIC:
        words, fmt = NUMERIC[feature]
        value = row[feature]
        return f"{words} {'unknown' if pd.isna(value) else fmt.format(value)}"
    profile = max((p for p in PROFILES if feature.startswith(p + "_")), key=len)  # hs6_origin, not hs6
    measure = feature[len(profile) + 1 :]
    who, inspections = PROFILES[profile], int(row[f"{profile}_prior_inspections"])
    if measure == "prior_items" and row[feature] == 0:
        return f"{who}: not seen before"
    if inspections == 0:
        return f"{who}: never inspected before ({int(row[f'{profile}_prior_items'])} earlier items)"
    return f"{who}: {row[f'{profile}_irregular_share']:.0%} irregular in {inspections} earlier inspections"
