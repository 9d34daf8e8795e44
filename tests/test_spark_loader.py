"""The loader on the Spark engine: the same delivery of good and bad rows, typed and checked by the
contracts' query in DuckDB and in Spark (transpiled, orchestration/ingest/dialect.py), gives the same
raw rows, the same quarantined rows with the same reasons and the same reconciled counts."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import duckdb
import pytest

from orchestration import reference
from orchestration.engines import spark
from orchestration.ingest import contracts
from orchestration.ingest.dialect import to_spark
from orchestration.ingest.loader import load_files, validate_in_duckdb
from orchestration.ingest.readers import scan, table_stem
from tests.test_bad_input import NOT_DATA
from tests.test_ipr_register import IPR_COLUMNS, recordation
from tests.test_loader import RECORD, _comtrade_body, item, write_csv

needs_spark = pytest.mark.skipif(
    importlib.util.find_spec("pyspark") is None or shutil.which("java") is None,
    reason="the Spark engine needs `uv sync --extra spark` and a Java runtime",
)
STAMPS = {"_load_id", "_loaded_at", "load_id", "quarantined_at", "logged_at"}  # when and which load, not what


def _landing(root: Path) -> Path:
    """Every rule's fault once (each NOT_DATA value in a row of its own), duplicates, a line with a
    field too many, a register with bad list elements, a partner record with a NaN, beside good rows."""
    reference.write_defaults(root / "reference")
    rows = [item(declaration_id=f"G{i}", lodged_at=f"2022-05-01 0{i}:00:00") for i in range(1, 4)]
    rows += [item(**{"declaration_id": f"B{n}", column: value}) for n, (column, value, _) in enumerate(NOT_DATA)]
    rows += [
        item(declaration_id="G2"),  # the key of a good row again
        item(declaration_id="T1", lodged_at="2022-05-01T06:00:00Z", released_at="2022-05-01 12:00:00+04:00"),
        item(declaration_id="T2", item_no="7.0", net_mass_kg="1e3", customs_value_omr=".5"),
        item(declaration_id="T3", flow=" x ", origin_country="cn", hs_code="8517.13.00"),
    ]
    path = write_csv(root / "declarations" / "2022-05-01.csv", rows)
    lines = path.read_text().splitlines(keepends=True)
    lines[1] = lines[1].replace(",sea,", ",", 1)  # the first data row lost a field
    path.write_text("".join(lines))
    register = [
        recordation(),
        recordation(recordation_id="R2", hs_scope="6403;;6404", authorised_origins="IT; QQ"),
        recordation(recordation_id="R3", valid_to="2020-01-01", authorised_importers="OM1\u200b"),
    ]
    write_csv(root / "ipr" / "reference" / "ipr_recordations.csv", register, IPR_COLUMNS)
    folder = root / "partner_trade"
    folder.mkdir(parents=True)
    body = _comtrade_body([RECORD, {**RECORD, "cmdCode": "851714", "primaryValue": float("nan")}])
    (folder / "2022.json").write_text(body)
    return root


def _load(db: Path, landing: Path, validate) -> duckdb.DuckDBPyConnection:
    db.parent.mkdir(parents=True)
    con = duckdb.connect(str(db))
    con.execute("SET TimeZone = 'Asia/Muscat'")
    for contract in contracts.REFERENCE_CONTRACTS:
        files = [f for f in scan(landing, "reference") if table_stem(f.path) == contract.table]
        files += [f for f in scan(landing / "ipr", "reference") if table_stem(f.path) == contract.table]
        assert load_files(con, contract, files, validate=validate).reconciles, contract.table
    for contract, sub in ((contracts.DECLARATION_ITEMS, "declarations"), (contracts.PARTNER_TRADE, "partner_trade")):
        assert load_files(con, contract, scan(landing, sub), validate=validate).reconciles, contract.table
    return con


def _contents(con) -> dict[str, list[tuple]]:
    tables = [
        t
        for (t,) in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'raw'"
        ).fetchall()
    ]
    out = {}
    for table in sorted(tables):
        columns = [c for (c,) in con.execute(f"SELECT name FROM pragma_table_info('raw.{table}')").fetchall()]
        kept = ", ".join(f'"{c}"' for c in columns if c not in STAMPS)
        out[table] = con.execute(f"SELECT {kept} FROM raw.{table} ORDER BY ALL").fetchall()
    return out


def test_the_validating_query_in_sparks_sql_anchors_full_matches_and_reads_the_reference_views():
    sql = to_spark("SELECT regexp_full_match(v, '[A-Z]{2}') FROM raw.countries AS c")
    assert sql == "SELECT v RLIKE '^(?:[A-Z]{2})\\\\z' FROM _raw__countries AS c"


@needs_spark
def test_a_load_checked_on_spark_equals_the_one_checked_in_duckdb(tmp_path, monkeypatch):
    monkeypatch.setenv("CUSTOMS_PSEUDONYMISATION_KEY", "spark-loader-test-key")
    landing = _landing(tmp_path / "landing")
    with _load(tmp_path / "duckdb" / "w.duckdb", landing, validate_in_duckdb) as con:
        expected = _contents(con)
    with _load(tmp_path / "spark" / "w.duckdb", landing, spark.validator(tmp_path / "spark" / "warehouse")) as con:
        found = _contents(con)
    assert found.keys() == expected.keys()
    for table in expected:
        assert found[table] == expected[table], table
    # the comparison is of every fault: each NOT_DATA reason is in the quarantine, as are the others
    reasons = " | ".join(r[4] for r in expected["quarantine"])
    for _, _, reason in NOT_DATA:
        assert reason in reasons
    for reason in (
        "line 2: Expected Number of Columns",
        "duplicate key: first seen in",
        "hs_scope: an empty list element",
        "not in the countries",
        "valid_to is before valid_from",
        "primaryValue: not a finite number",
        "contains an invisible",
    ):
        assert reason in reasons, reason
    assert len(expected["declaration_items"]) == 5  # G2, G3 (G1 lost a field), T1-3
