"""The Spark engine's tables as views in the DuckDB file (orchestration/engines/spark.py), on a Spark
warehouse folder laid out as Spark writes it: no Spark needed."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import duckdb
import pytest

from orchestration.engines.spark import data_files, duckdb_type, link_tables

pytestmark = pytest.mark.fast


def _record(warehouse, rows) -> None:
    folder = warehouse / "main.db" / "dbt_relation_columns"
    folder.mkdir(parents=True)
    values = ", ".join(f"('{s}', '{t}', {p}, '{c}', '{d}')" for s, t, p, c, d in rows)
    duckdb.sql(
        "COPY (SELECT * FROM (VALUES " + values + ") AS r(schema_name, table_name, position, column_name, data_type)) "
        f"TO '{folder / 'part-00000.snappy.parquet'}' (FORMAT parquet)"
    )


def _write(path, sql: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    duckdb.sql(f"COPY ({sql}) TO '{path}' (FORMAT parquet)")


def test_spark_types_map_to_duckdb_or_are_refused():
    assert duckdb_type("decimal(18,3)") == "DECIMAL(18,3)"
    assert duckdb_type("timestamp_ntz") == "TIMESTAMP" and duckdb_type("timestamp") == "TIMESTAMPTZ"
    assert duckdb_type("array<string>") == "VARCHAR[]" and duckdb_type("int") == "INTEGER"
    with pytest.raises(ValueError, match="map<string,int>"):
        duckdb_type("map<string,int>")


def test_a_partitioned_table_is_a_view_with_its_partition_column_typed_as_recorded(tmp_path):
    warehouse = tmp_path / "warehouse"
    _record(
        warehouse,
        [
            ("staging", "items", 1, "item_no", "int"),
            ("staging", "items", 2, "value_omr", "decimal(18,3)"),
            ("staging", "items", 3, "lodged_date", "date"),
        ],
    )
    table = warehouse / "staging.db" / "items"
    _write(
        table / "lodged_date=2024-01-01" / "part-0.parquet", "SELECT 1 AS item_no, 2.500::DECIMAL(18,3) AS value_omr"
    )
    _write(
        table / "lodged_date=2024-01-02" / "part-0.parquet", "SELECT 2 AS item_no, 3.125::DECIMAL(18,3) AS value_omr"
    )
    con = duckdb.connect()
    con.execute("CREATE SCHEMA staging; CREATE TABLE staging.items AS SELECT 0 AS stale")  # DuckDB's, before the switch
    assert link_tables(con, warehouse) == ["staging.items"]
    assert con.execute("SELECT * FROM staging.items ORDER BY item_no").fetchall() == [
        (1, Decimal("2.500"), date(2024, 1, 1)),
        (2, Decimal("3.125"), date(2024, 1, 2)),
    ]
    kinds = con.execute("SELECT table_type FROM information_schema.tables WHERE table_name = 'items'").fetchall()
    assert kinds == [("VIEW",)]


def test_a_spark_tables_files_leave_out_what_a_killed_write_left(tmp_path):
    table = tmp_path / "t"
    _write(table / "part-0.parquet", "SELECT 1 AS x")
    _write(table / "_temporary" / "0" / "part-9.parquet", "SELECT 99 AS x")
    _write(table / ".spark-staging-1" / "d=1" / "part-8.parquet", "SELECT 98 AS x")
    assert data_files(table) == [table / "part-0.parquet"]


def test_an_empty_spark_table_is_an_empty_view_of_its_recorded_columns(tmp_path):
    warehouse = tmp_path / "warehouse"
    _record(warehouse, [("marts", "ipr_risk", 1, "score", "double"), ("marts", "ipr_risk", 2, "lodged_date", "date")])
    (warehouse / "marts.db" / "ipr_risk").mkdir(parents=True)  # partitioned and empty: no file at all
    con = duckdb.connect()
    link_tables(con, warehouse)
    assert con.execute("SELECT count(*) FROM marts.ipr_risk").fetchone() == (0,)
    types = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'ipr_risk' ORDER BY ordinal_position"
    ).fetchall()
    assert types == [("score", "DOUBLE"), ("lodged_date", "DATE")]


def test_a_rebuilt_table_is_linked_to_its_new_files(tmp_path):
    """Spark rewrites a Parquet table's files on every rebuild: the view names the files of the latest one."""
    warehouse = tmp_path / "warehouse"
    _record(warehouse, [("marts", "gaps", 1, "gap", "int")])
    table = warehouse / "marts.db" / "gaps"
    _write(table / "part-0-a.parquet", "SELECT 1 AS gap")
    con = duckdb.connect()
    link_tables(con, warehouse)
    (table / "part-0-a.parquet").unlink()
    _write(table / "part-0-b.parquet", "SELECT 2 AS gap UNION ALL SELECT 3")
    link_tables(con, warehouse)
    assert con.execute("SELECT gap FROM marts.gaps ORDER BY gap").fetchall() == [(2,), (3,)]
