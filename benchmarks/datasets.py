"""Scale datasets for the benchmark, written outside the repository.

A scale dataset is the built-in demo (orchestration/demo) at the scale's number of declaration items
over 36 months, plus a Comtrade bulk CSV of partners' trade with the rest of the world, so that the
partner side holds about a million records as a real bulk download does: the warehouse loads,
validates and stages all of them, and the mirror analysis keeps the few thousand that are about Oman.
The generator holds a dataset in memory (9.4 GB at 10M items), so XL is L's declarations delivered
five times over under distinct declaration ids, file by file, with L's partner and reference files.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb

from orchestration.demo.generator import DemoConfig, generate

SCALES = {"S": 100_000, "M": 1_000_000, "L": 10_000_000, "XL": 50_000_000}
MONTHS = 36
PARTNER_RECORDS = 1_000_000


def ensure(root: Path, scale: str, partner_records: int = PARTNER_RECORDS) -> Path:
    """The landing area of `scale` under `root`, generated once and reused while its recipe is unchanged."""
    landing = root / scale / "landing"
    recipe = {"items": SCALES[scale], "months": MONTHS, "partner_records": partner_records, "version": 1}
    stamp = landing / "_benchmark.json"
    if stamp.exists() and json.loads(stamp.read_text()) == recipe:
        return landing
    shutil.rmtree(landing, ignore_errors=True)
    if scale == "XL":
        _replicate(ensure(root, "L", partner_records), landing, SCALES["XL"] // SCALES["L"])
    else:
        generate(landing, DemoConfig(items=recipe["items"], months=MONTHS))
        write_world_trade(landing / "partner_trade" / "bulk" / "comtrade_bulk_world.csv", partner_records)
    stamp.write_text(json.dumps(recipe))
    return landing


def _replicate(source: Path, landing: Path, copies: int) -> None:
    """Every declaration file of `source` written with `copies` copies of each item (ids suffixed
    -1..-n), in the file's own format; partner, reference and ground-truth files copied as they are."""
    shutil.copytree(source, landing, ignore=shutil.ignore_patterns("declarations", "_benchmark.json"))
    con = duckdb.connect()
    for path in sorted((source / "declarations").rglob("items_*")):
        target = landing / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        reader, options = (
            (f"read_parquet('{path}')", "FORMAT parquet")
            if path.suffix == ".parquet"
            else (f"read_csv('{path}', all_varchar = true)", "HEADER, DELIMITER ','")
        )
        con.execute(f"""
            COPY (
                SELECT d.* REPLACE (d.declaration_id || '-' || CAST(c.copy AS VARCHAR) AS declaration_id)
                FROM {reader} AS d,
                     range(1, {copies + 1}) AS c(copy)
                ORDER BY c.copy, d.declaration_id
            ) TO '{target}' ({options})
        """)
    con.close()


def write_world_trade(path: Path, records: int, years: tuple[int, ...] = (2021, 2022, 2023)) -> None:
    """Comtrade bulk records between partners other than Oman (codes 1-299 stand for them), unique on
    Comtrade's record key, with deterministic pseudo-random values."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute(f"""
        COPY (
            WITH ids AS (SELECT range AS n FROM range({records}))
            SELECT 'C' AS typeCode, 'A' AS freqCode,
                   CAST({years[0]} + n % {len(years)} AS VARCHAR) AS period,
                   1 + (n // {len(years)}) % 299 AS reporterCode,
                   chr(CAST(65 + ((n // 3) % 299) % 26 AS INTEGER))
                       || chr(CAST(65 + ((n // 3) % 299) // 26 AS INTEGER)) || 'X' AS reporterISO,
                   CASE (n // (3 * 299)) % 2 WHEN 0 THEN 'X' ELSE 'M' END AS flowCode,
                   300 + (n // (3 * 299 * 2)) % 150 AS partnerCode,
                   'WLD' AS partnerISO, 0 AS partner2Code, 'H6' AS classificationCode,
                   lpad(CAST(10000 + (n // (3 * 299 * 2 * 150)) * 37 % 970000 AS VARCHAR), 6, '0') AS cmdCode,
                   'C00' AS customsCode, 0 AS motCode, 8 AS qtyUnitCode,
                   round(1000 + hash(n, 'kg') % 1000000, 3) AS netWgt,
                   NULL AS cifvalue,
                   round(5000 + hash(n, 'usd') % 5000000, 2) AS fobvalue,
                   round(5000 + hash(n, 'usd') % 5000000, 2) AS primaryValue,
                   true AS isReported, false AS isAggregate
            FROM ids
        ) TO '{path}' (HEADER, DELIMITER ',')
    """)
    con.close()
