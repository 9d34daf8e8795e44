"""Check a baseline's results equal the warehouse's marts, row by row, to rounding.

    python benchmarks/compare.py WAREHOUSE.duckdb BASELINE_DIR

The comparison runs in DuckDB (10M rows stay out of Python): a full outer join on each mart's key,
then, per figure, the rows where the two sides differ by more than 1e-6 relative or one unit of the
last rounding (a baisa of money, 0.01 of a score). Exit status 1 and the counts when anything differs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import duckdb

FIGURES = {
    "mirror_gaps": (
        ("year", "flow", "partner_iso3", "hs6"),
        {
            "national_value_usd": "number",
            "mirror_value_usd": "number",
            "mirror_value_adjusted_usd": "number",
            "gap_usd": "number",
            "national_items": "number",
            "is_flagged": "flag",
        },
    ),
    "declaration_risk": (
        ("declaration_id", "item_no"),
        {
            "reference_unit_value_omr_kg": "number",
            "valuation_ratio": "number",
            "suggested_hs6": "text",
            "valuation_duty_at_risk_omr": "money",
            "valuation_vat_at_risk_omr": "money",
            "misclassification_duty_at_risk_omr": "money",
            "misclassification_vat_at_risk_omr": "money",
            "origin_duty_at_risk_omr": "money",
            "origin_vat_at_risk_omr": "money",
            "assessment_duty_omr": "money",
            "assessment_vat_omr": "money",
            "total_at_risk_omr": "money",
            # the rules' score: risk_score also holds the learned model's probability, which no baseline computes
            "rules_score": "score",
            "signal_valuation": "flag",
            "signal_misclassification": "flag",
            "signal_origin": "flag",
            "signal_origin_mirror": "flag",
            "signal_assessment": "flag",
            "signal_trader_history": "flag",
            "signal_declarant_history": "flag",
        },
    ),
}


def _differs(column: str, kind: str) -> str:
    a, b = f"w.{column}", f"b.{column}"
    if kind == "flag":
        return f"coalesce({a}, false) <> coalesce({b}, false)"
    if kind == "text":
        return f"{a} IS DISTINCT FROM {b}"
    # marts round money to the baisa, scores to 0.01 and ratios to 6 decimals: one unit may differ
    floor = {"money": 0.0015, "score": 0.015, "number": 1e-6}[kind]
    return (
        f"({a} IS NULL) <> ({b} IS NULL) OR abs(CAST({a} AS DOUBLE) - CAST({b} AS DOUBLE)) "
        f"> greatest({floor}, 1e-6 * abs(CAST({a} AS DOUBLE)))"
    )


def compare(warehouse: Path, baseline: Path) -> dict:
    """{mart: {"rows": n, "missing": n, "extra": n, column: differing rows}} for every mart."""
    con = duckdb.connect()
    con.execute(f"ATTACH '{warehouse}' AS wh (READ_ONLY)")
    report = {}
    for mart, (key, figures) in FIGURES.items():
        on = " AND ".join(f"w.{k} = b.{k}" for k in key)
        checks = ", ".join(
            f"count(*) FILTER (WHERE w.{key[0]} IS NOT NULL AND b.{key[0]} IS NOT NULL AND ({_differs(c, kind)})) "
            f'AS "{c}"'
            for c, kind in figures.items()
        )
        row = con.execute(f"""
            SELECT count(*) FILTER (WHERE w.{key[0]} IS NOT NULL) AS rows,
                   count(*) FILTER (WHERE b.{key[0]} IS NULL) AS missing_in_baseline,
                   count(*) FILTER (WHERE w.{key[0]} IS NULL) AS extra_in_baseline,
                   {checks}
            FROM wh.marts.{mart} AS w
            FULL OUTER JOIN read_parquet('{baseline / mart}.parquet') AS b ON {on}
        """)
        names = [d[0] for d in row.description]
        report[mart] = dict(zip(names, row.fetchone(), strict=True))
    con.close()
    return report


def differences(report: dict) -> dict:
    return {mart: {k: v for k, v in counts.items() if k != "rows" and v} for mart, counts in report.items()}


if __name__ == "__main__":
    found = compare(Path(sys.argv[1]), Path(sys.argv[2]))
    print(json.dumps(found, indent=1))
    sys.exit(1 if any(differences(found).values()) else 0)
