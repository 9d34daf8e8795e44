"""The same dbt project on Apache Spark (dbt-spark, session method, local Spark on Java 17): the small
demo's sources, as the DuckDB pipeline built them, handed to Spark as Parquet; every model built there
equals the DuckDB build row by row (money to the baisa, other numbers to 1e-9 relative), and the
hand-computed dbt unit tests and the singular tests pass on Spark too."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from orchestration.assets.dbt import DBT_EXECUTABLE
from orchestration.engines.spark import EXCHANGE_ENV, WAREHOUSE_ENV, export_sources, handed_over
from orchestration.settings import DBT_PROJECT_DIR

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("pyspark") is None or shutil.which("java") is None,
    reason="the Spark engine needs `uv sync --extra spark` and a Java runtime",
)
MONEY = 0.001
RELATIVE = 1e-9


@pytest.fixture(scope="module")
def spark_build(built_warehouse, tmp_path_factory):
    root = tmp_path_factory.mktemp("spark")
    with duckdb.connect(str(built_warehouse["db"]), read_only=True) as con:
        written = export_sources(con, root / "exchange", handed_over(DBT_PROJECT_DIR / "target" / "manifest.json"))
    env = {**os.environ, EXCHANGE_ENV: str(root / "exchange"), WAREHOUSE_ENV: str(root / "warehouse")}
    dbt_vars = {"refresh_from": "1900-01-01", "spark_sources": written}
    build = subprocess.run(
        [
            DBT_EXECUTABLE,
            "--no-use-colors",
            # models, their unit tests and the singular test that Spark's trailing quantiles agree with the
            # portable ones; the generic data tests would only repeat what the comparison proves
            "build",
            "--exclude",
            "test_type:generic",
            "--target",
            "spark",
            "--target-path",
            str(root / "target"),
            "--vars",
            json.dumps(dbt_vars),
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
        ],
        capture_output=True,
        text=True,
        cwd=DBT_PROJECT_DIR,
        env={**env, "DBT_LOG_PATH": str(root / "logs")},
    )
    return {"build": build, "root": root, "duckdb": built_warehouse["db"], "written": written}


def _value(v):
    if isinstance(v, Decimal):
        return float(v)
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return v


def _close(a, b, money: bool) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is b
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        # money to the baisa: a value exactly half a baisa rounds down on one engine and up on the other
        return abs(a - b) <= (MONEY + 1e-6 if money else RELATIVE * max(1.0, abs(a)))
    return a == b


def _in_order(rows) -> list[tuple]:
    """Rows in DuckDB's value types, in one order on both sides: floats are sorted on their first seven
    digits."""
    values = [tuple(_value(v) for v in r) for r in rows]
    return sorted(values, key=lambda r: tuple(f"{v:.6e}" if isinstance(v, float) else repr(v) for v in r))


def _rows(con, sql: str) -> list[tuple]:
    return _in_order(con.execute(sql).fetchall())


def _spark_views(manifest: dict, warehouse: Path) -> dict[tuple[str, str], list[tuple]]:
    """The rows of the models Spark builds as views (no files to read), through a Spark session on the
    build's metastore, in DuckDB's value types."""
    from pyspark.sql import SparkSession

    names = [
        (n["config"]["schema"], n["alias"] or n["name"])
        for n in manifest["nodes"].values()
        if n["resource_type"] == "model" and n["config"]["materialized"] == "view"
    ]
    if not names:
        return {}
    spark = (
        SparkSession.builder.config("spark.sql.warehouse.dir", str(warehouse))
        .config("spark.hadoop.javax.jdo.option.ConnectionURL", f"jdbc:derby:;databaseName={warehouse}_metastore")
        .config("spark.sql.session.timeZone", "Asia/Muscat")
        .config("spark.ui.enabled", "false")
        .enableHiveSupport()
        .getOrCreate()
    )
    try:
        rows = {}
        for schema, table in names:
            rows[(schema, table)] = _in_order(spark.table(f"{schema}.{table}").collect())
        return rows
    finally:
        spark.stop()


def test_every_model_builds_on_spark(spark_build):
    build = spark_build["build"]
    assert build.returncode == 0, build.stdout[-4000:]
    assert "declaration_items" in " ".join(spark_build["written"])


def test_every_model_equals_the_duckdb_build_row_by_row(spark_build):
    if spark_build["build"].returncode:
        pytest.fail("the Spark build failed (see test_every_model_builds_on_spark)")
    manifest = json.loads((spark_build["root"] / "target" / "manifest.json").read_text())
    models = sorted(
        (n["config"]["schema"], n["alias"] or n["name"])
        for n in manifest["nodes"].values()
        if n["resource_type"] == "model" and n["config"]["materialized"] != "ephemeral"
    )
    spark_tables = spark_build["root"] / "warehouse"
    views = _spark_views(manifest, spark_tables)
    con = duckdb.connect(str(spark_build["duckdb"]), read_only=True)
    differences = {}
    for schema, table in models:
        types = dict(
            con.execute(
                "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = ? AND table_name = ?",
                [schema, table],
            ).fetchall()
        )
        columns = list(types)
        select = ", ".join(f'"{c}"' for c in columns)
        ours = _rows(con, f"SELECT {select} FROM {schema}.{table}")
        files = f"{spark_tables}/{schema}.db/{table}/**/*.parquet"
        cast = ", ".join(f'CAST("{c}" AS {t}) AS "{c}"' for c, t in types.items())
        if (schema, table) in views:
            theirs = views[(schema, table)]
        else:
            built = list(Path(spark_tables, f"{schema}.db", table).rglob("*.parquet"))  # none for an empty table
            parquet = f"read_parquet('{files}', hive_partitioning = true, union_by_name = true)"
            theirs = _rows(con, f"SELECT {cast} FROM {parquet}") if built else []
        money = [t.startswith("DECIMAL") for t in types.values()]
        bad = [
            (c, a[i], b[i])
            for a, b in zip(ours, theirs, strict=False)
            for i, c in enumerate(columns)
            if not _close(a[i], b[i], money[i])
        ]
        if len(ours) != len(theirs) or bad:
            differences[f"{schema}.{table}"] = (len(ours), len(theirs), bad[:3])
    con.close()
    assert differences == {}, differences
