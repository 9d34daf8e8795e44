"""`CUSTOMS_ENGINE=spark`: the nightly job and the retraining, the same Dagster assets and checks, with
every model built by Apache Spark (dbt-spark through one local Spark Thrift server, as on a cluster; the
incremental rebuild with the session method, a Spark in the dbt process; Java 17) and every check
of a model's table run through GX's Spark execution engine. On the small demo, everything it produces
equals what the DuckDB engine produces: every model row by row (money to the baisa, other numbers to
1e-9 relative), the quarantine and the load log, every rule's outcome, the published copy, and the
metastore's published tables; and after an incremental rebuild of the day-windowed models on Spark,
still every model."""

from __future__ import annotations

import importlib.util
import json
import math
import shutil
from collections import Counter
from contextlib import closing
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from orchestration import settings
from orchestration.assets.dbt import dbt_build_args, dbt_environment
from orchestration.assets.publish import current_version_dir
from orchestration.engines import spark as spark_engine
from orchestration.engines import spark_server
from orchestration.resources import WarehouseResource
from orchestration.settings import DBT_PROJECT_DIR
from tests.conftest import SMALL, free_port, materialize_nightly, run_dbt

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("pyspark") is None or shutil.which("java") is None,
    reason="the Spark engine needs `uv sync --extra spark` and a Java runtime",
)
MONEY = 0.001
RELATIVE = 1e-9
RUN_STAMPS = {"loaded_at", "run_id", "validated_at"}  # when and in which run, not what: they differ by design


@pytest.fixture(scope="module")
def spark_nightly(built_warehouse, tmp_path_factory):
    """The small demo's landing area through the nightly job and the retraining on Spark, as
    built_warehouse ran them on DuckDB: both through one local Spark Thrift server (one Spark for every
    dbt step, as on a cluster), which a BI tool then reads the published tables from; after it stops,
    an incremental rebuild with a Spark of dbt's own (the session method) on the same metastore."""
    var = tmp_path_factory.mktemp("spark") / "var"
    # the same pseudonymisation key (the demo's local one), so that both engines key the parties alike
    shutil.copytree(built_warehouse["db"].parent / "secrets", var / "secrets")
    landing, as_of = built_warehouse["landing"], SMALL.end.isoformat()
    with spark_server.running(var / "spark" / "warehouse", free_port()) as thrift:
        spark = {"CUSTOMS_ENGINE": "spark", settings.SPARK_THRIFT_ENV: thrift}
        nightly = materialize_nightly(landing, var, as_of=as_of, env=spark, raise_on_error=False)
        retrain = materialize_nightly(landing, var, as_of=as_of, env=spark, retrain=True, raise_on_error=False)
        published = _published_tables(thrift) if retrain.success else None
        try:  # a step would refuse a server on another Spark warehouse than the engine reads
            spark_server.check(thrift, var / "spark" / "another_warehouse")
            refused = None
        except RuntimeError as error:
            refused = str(error)
    rebuilt = _rebuild_days_on_spark(var, SMALL.end - timedelta(days=45)) if nightly.success else None
    return {
        "runs": (nightly, retrain),
        "var": var,
        "duckdb_var": built_warehouse["db"].parent,
        "rebuilt": rebuilt,
        "published": published,
        "refused": refused,
    }


def _published_tables(thrift: str) -> dict[str, int]:
    """What a BI tool on the Thrift server finds in the metastore's `published` database: each table's rows."""
    from pyhive import hive

    host, port = spark_server.address(thrift)
    with closing(hive.connect(host, port)) as connection:
        cursor = connection.cursor()
        cursor.execute("SHOW TABLES IN published")
        tables = sorted(row[1] for row in cursor.fetchall())
        counts = {}
        for table in tables:
            cursor.execute(f"SELECT count(*) FROM published.`{table}`")
            counts[table] = cursor.fetchall()[0][0]
    return counts


DAY_MODELS = ["stg_declaration_items", "int_declaration_items", "int_item_tax_rates", "int_ipr_item_rights"]


def _rebuild_days_on_spark(var, since: date) -> dict:
    """An incremental rebuild on Spark of the models windowed by day, from a day in the middle of a
    month (`insert_overwrite` of month partitions: the window must start on the first of that month,
    or the month's earlier days would be lost), with the nightly's own `dbt build` arguments; then the
    DuckDB file's views over the new files. Every equality test below reads the result. Returns the
    partition folders' files before and after."""
    warehouse = WarehouseResource(
        path=str(var / "warehouse.duckdb"),
        engine="spark",
        spark_warehouse=str(var / "spark" / "warehouse"),
        spark_exchange=str(var / "spark" / "exchange"),
        spark_thrift="",
    )
    folder = Path(warehouse.spark_warehouse) / "staging.db" / "stg_declaration_items"
    before = _partition_files(folder)
    args = dbt_build_args(False, warehouse.dbt_vars(), warehouse.dbt_target)
    window = dbt_environment(since.isoformat())
    done = run_dbt(*args, "--select", *DAY_MODELS, target=var / "dbt_rebuild", timeout=900, env=window)
    assert done.returncode == 0, done.stdout[-3000:]
    with warehouse.connect() as con:
        spark_engine.link_tables(con, Path(warehouse.spark_warehouse))
    return {"since": since, "before": before, "after": _partition_files(folder)}


def _partition_files(table: Path) -> dict[str, list[str]]:
    """The Parquet files in each partition folder of a Spark table."""
    return {d.name: sorted(f.name for f in d.glob("*.parquet")) for d in table.iterdir() if d.is_dir()}


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


def _rows(con, sql: str) -> list[tuple]:
    """Rows in Python's value types, in one order on both sides: floats sorted on their first seven digits."""
    values = [tuple(_value(v) for v in r) for r in con.execute(sql).fetchall()]
    return sorted(values, key=lambda r: tuple(f"{v:.6e}" if isinstance(v, float) else repr(v) for v in r))


def _step_failures(result) -> list[str]:
    return [
        f"{e.step_key}: {e.event_specific_data.error.message[:2000]}" for e in result.all_events if e.is_step_failure
    ]


def test_the_nightly_and_the_retraining_run_on_spark(spark_nightly):
    for result in spark_nightly["runs"]:
        assert result.success, _step_failures(result)
        skipped = [e.step_key for e in result.all_events if e.event_type_value == "STEP_SKIPPED"]
        assert skipped == [], skipped
    checks = spark_nightly["runs"][0].get_asset_check_evaluations()
    assert len(checks) > 100 and all(c.passed or c.severity.value == "WARN" for c in checks)
    engines = {c.check_name: c.metadata["engine"].value for c in checks if c.check_name.startswith("gx_")}
    assert engines["gx_stg_declaration_items"] == engines["gx_declaration_risk"] == "spark"  # GX on Spark
    assert engines["gx_raw_declaration_items"] == "duckdb"  # the loader's tables, where they live
    assert sum(e == "spark" for e in engines.values()) > 15


def test_a_thrift_server_on_another_spark_warehouse_is_refused(spark_nightly):
    assert "spark.sql.warehouse.dir" in (spark_nightly["refused"] or ""), spark_nightly["refused"]
    assert "timeZone" not in spark_nightly["refused"]  # its sessions are the profile's otherwise


def test_an_incremental_rebuild_overwrites_the_months_of_its_window_only(spark_nightly):
    rebuilt = spark_nightly["rebuilt"]
    window = f"lodged_month={rebuilt['since'].replace(day=1).isoformat()}"
    assert sorted(rebuilt["before"]) == sorted(rebuilt["after"]) and len(rebuilt["after"]) == SMALL.months
    for month, files in rebuilt["after"].items():
        if month >= window:  # rewritten: new files (each write names its files anew)
            assert files and not set(files) & set(rebuilt["before"][month]), month
        else:
            assert files == rebuilt["before"][month], month


def test_every_model_equals_the_duckdb_engines_row_by_row(spark_nightly):
    """What Spark built, read through the views the Spark engine keeps in its DuckDB file (cast to the
    types Spark recorded), against the DuckDB engine's tables."""
    ours = duckdb.connect(str(spark_nightly["duckdb_var"] / "warehouse.duckdb"), read_only=True)
    theirs = duckdb.connect(str(spark_nightly["var"] / "warehouse.duckdb"), read_only=True)
    manifest = json.loads((DBT_PROJECT_DIR / "target" / "manifest.json").read_text())
    models = sorted(
        (n["config"]["schema"], n["alias"] or n["name"])
        for n in manifest["nodes"].values()
        if n["resource_type"] in ("model", "seed") and n["config"]["materialized"] != "ephemeral"
    )
    views = {
        (s, t)
        for s, t in theirs.execute(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = 'VIEW'"
        ).fetchall()
    }
    differences = {}
    for schema, table in models:
        assert (schema, table) in views, f"{schema}.{table} is not a view over Spark's table"
        types = ours.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = ? AND table_name = ? "
            "ORDER BY ordinal_position",
            [schema, table],
        ).fetchall()
        types = [(c, t) for c, t in types if c not in RUN_STAMPS]
        select = ", ".join(f'CAST("{c}" AS {t}) AS "{c}"' for c, t in types)
        mine, spark = (_rows(con, f"SELECT {select} FROM {schema}.{table}") for con in (ours, theirs))
        money = [t.startswith("DECIMAL") for _, t in types]
        bad = [
            (c, a[i], b[i])
            for a, b in zip(mine, spark, strict=False)
            for i, (c, _) in enumerate(types)
            if not _close(a[i], b[i], money[i])
        ]
        if len(mine) != len(spark) or bad:
            differences[f"{schema}.{table}"] = (len(mine), len(spark), bad[:3])
    assert differences == {}, differences
    assert len(models) >= 40  # 39 models and a seed


def test_the_same_quarantine_load_log_and_rule_outcomes(spark_nightly):
    counts = {
        "quarantine": "SELECT table_name, reasons, count(*) FROM raw.quarantine GROUP BY ALL",
        "load_log": "SELECT table_name, status, sum(rows_received), sum(rows_loaded), sum(rows_quarantined), "
        "sum(rows_rejected) FROM raw.load_log GROUP BY ALL",
        # every rule of both runs, on DuckDB or on Spark, with what it found
        "rules": "SELECT table_name, suite, rule, severity, passed, unexpected_count, checked_count, run_status "
        "FROM marts.data_quality_results",
    }
    found = {}
    for engine, var in (("duckdb", spark_nightly["duckdb_var"]), ("spark", spark_nightly["var"])):
        with duckdb.connect(str(var / "warehouse.duckdb"), read_only=True) as con:
            found[engine] = {name: Counter(con.execute(sql).fetchall()) for name, sql in counts.items()}
    assert found["spark"]["quarantine"] == found["duckdb"]["quarantine"]
    assert found["spark"]["load_log"] == found["duckdb"]["load_log"]
    rules = found["spark"]["rules"]
    assert sum(rules.values()) > 100 and not [r for r in rules if r[4] is False and r[3] == "blocking"]
    assert rules == found["duckdb"]["rules"], set(rules) ^ set(found["duckdb"]["rules"])


def test_the_published_marts_and_the_metastores_published_tables(spark_nightly):
    """The published copy holds the same marts with the same rows, and a BI tool on the Spark Thrift
    server reads the metastore's `published` tables with those rows."""
    versions = {
        engine: current_version_dir(var / "published")
        for engine, var in (("duckdb", spark_nightly["duckdb_var"]), ("spark", spark_nightly["var"]))
    }
    tables = {e: json.loads((v / "manifest.json").read_text())["tables"] for e, v in versions.items()}
    assert tables["spark"] == tables["duckdb"] and len(tables["spark"]) > 10
    assert spark_nightly["published"] == tables["spark"]
