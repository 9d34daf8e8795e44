"""The demo's files, in the layouts of the landing area: declarations by lodgement day (CSV and Parquet),
partner records as API bodies (and one reporter as CSV), the reference tables and the ground truth."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from orchestration import reference
from orchestration.demo.intelligence import REGISTER_COLUMNS

DECLARATION_COLUMNS = [
    "declaration_id",
    "item_no",
    "flow",
    "lodged_at",
    "released_at",
    "office_code",
    "procedure_code",
    "declarant_id",
    "trader_id",
    "seller_id",
    "hs_code",
    "goods_description",
    "origin_country",
    "partner_country",
    "transport_mode",
    "net_mass_kg",
    "supplementary_qty",
    "supplementary_unit",
    "invoice_amount",
    "invoice_currency",
    "incoterm",
    "customs_value_omr",
    "duty_omr",
    "vat_omr",
    "preference_code",
    "risk_channel",
    "inspection_outcome",
    "finding_type",
    "trader_address_hash",
    "trader_phone_hash",
]


def write_declarations(folder: Path, items: dict, days: np.ndarray) -> int:
    """One file per lodgement day; every third day arrives as Parquet, the rest as CSV."""
    n = len(items["item_no"])
    ts = pa.timestamp("s")
    table = pa.table(
        {
            "declaration_id": pa.array(items["declaration_id"], pa.string()),
            "item_no": pa.array(items["item_no"], pa.int32()),
            "flow": pa.array(np.where(items["flow_x"], "X", "M"), pa.string()),
            "lodged_at": pa.array(items["lodged_at"], ts),
            "released_at": pa.array(items["released_at"], ts, from_pandas=True),
            "office_code": pa.array(items["office_code"], pa.string()),
            "procedure_code": pa.array(items["procedure_code"], pa.string()),
            "declarant_id": pa.array(items["declarant_id"], pa.string()),
            "trader_id": pa.array(items["trader_id"], pa.string()),
            "seller_id": pa.array(items["seller_id"], pa.string()),
            "hs_code": pa.array(items["hs_code"], pa.string()),
            "goods_description": pa.array(items["goods_description"], pa.string()),
            "origin_country": pa.array(items["origin"], pa.string()),
            "partner_country": pa.array(items["partner"], pa.string()),
            "transport_mode": pa.array(items["transport_mode"], pa.string()),
            "net_mass_kg": pa.array(items["net_mass_kg"], pa.float64()),
            "supplementary_qty": pa.array(items["supplementary_qty"], pa.float64(), from_pandas=True),
            "supplementary_unit": pa.array(items["supplementary_unit"], pa.string()),
            "invoice_amount": pa.array(items["invoice_amount"], pa.float64()),
            "invoice_currency": pa.array(items["invoice_currency"], pa.string()),
            "incoterm": pa.array(items["incoterm"], pa.string()),
            "customs_value_omr": pa.array(items["customs_value_omr"], pa.float64()),
            "duty_omr": pa.array(items["duty_omr"], pa.float64(), from_pandas=True),
            "vat_omr": pa.array(items["vat_omr"], pa.float64(), from_pandas=True),
            "preference_code": pa.array(items["preference_code"], pa.string()),
            "risk_channel": pa.array(items["risk_channel"], pa.string()),
            "inspection_outcome": pa.array(items["inspection_outcome"], pa.string()),
            "finding_type": pa.array(items["finding_type"], pa.string()),
            "trader_address_hash": pa.array(items["trader_address_hash"], pa.string()),
            "trader_phone_hash": pa.array(items["trader_phone_hash"], pa.string()),
        }
    )
    assert table.num_rows == n and table.column_names == DECLARATION_COLUMNS
    bounds = np.searchsorted(items["day"], np.arange(len(days) + 1))
    written = 0
    for d, day in enumerate(days):
        lo, hi = bounds[d], bounds[d + 1]
        if lo == hi:
            continue
        part = table.slice(lo, hi - lo)
        out = folder / f"{day:%Y}" / f"{day:%m}"
        out.mkdir(parents=True, exist_ok=True)
        if day.toordinal() % 3 == 0:
            pq.write_table(part, out / f"items_{day:%Y-%m-%d}.parquet", compression="zstd")
        else:
            pacsv.write_csv(part, out / f"items_{day:%Y-%m-%d}.csv")
        written += 1
    return written


def write_partner_records(folder: Path, records: list[dict]) -> int:
    """One API-shaped JSON body per reporter and year; Japan's arrive as CSV, as a bulk download would."""
    folder.mkdir(parents=True, exist_ok=True)
    groups: dict[tuple, list[dict]] = {}
    for r in records:
        groups.setdefault((r["reporterISO"], r["refYear"]), []).append(r)
    for (iso3, year), rows in sorted(groups.items()):
        if iso3 == "JPN":
            pacsv.write_csv(pa.Table.from_pylist(rows), folder / f"comtrade_{iso3}_{year}.csv")
        else:
            body = {"elapsedTime": "0.42 secs", "count": len(rows), "data": rows, "error": ""}
            (folder / f"comtrade_{iso3}_{year}.json").write_text(json.dumps(body))
    return len(groups)


def write_reference_tables(folder: Path, rates: pa.Table | None = None, ipr: list[dict] | None = None) -> int:
    """The built-in reference tables (`orchestration.reference`); `rates`, the demo's daily series,
    replace the default exchange rates (the pegged currencies only); `ipr`, the demo's IPR register
    (`intelligence.REGISTER_COLUMNS`), replaces the default (empty) one."""
    written = reference.write_defaults(folder)
    if rates is not None:
        pacsv.write_csv(rates, folder / "exchange_rates.csv")
    if ipr is not None:
        path = folder / "ipr_recordations.csv"
        written += not path.exists()
        columns = {c: pa.array([r[c] for r in ipr], pa.string()) for c in REGISTER_COLUMNS}
        pacsv.write_csv(pa.table(columns), path)
    return written


def write_truth_items(path: Path, items: dict) -> None:
    sel = np.flatnonzero(items["anomaly"] != "")
    true_value = np.round(items["customs_value_omr"][sel] / items["declared_factor"][sel], 3)
    pacsv.write_csv(
        pa.table(
            {
                "declaration_id": pa.array(items["declaration_id"][sel], pa.string()),
                "item_no": pa.array(items["item_no"][sel], pa.int32()),
                "anomaly": pa.array(items["anomaly"][sel], pa.string()),
                "trader_id": pa.array(items["trader_id"][sel], pa.string()),
                "seller_id": pa.array(items["seller_id"][sel], pa.string()),
                "declared_hs6": pa.array(items["hs6"][sel], pa.string()),
                "true_hs6": pa.array(items["hs6_true"][sel], pa.string()),
                "declared_origin": pa.array(items["origin"][sel], pa.string()),
                "true_origin": pa.array(items["origin_true"][sel], pa.string()),
                "declared_value_omr": pa.array(items["customs_value_omr"][sel], pa.float64()),
                "true_value_omr": pa.array(true_value, pa.float64()),
            }
        ),
        path,
    )
