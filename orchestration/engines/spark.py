"""Apache Spark as the engine of the transformations (`CUSTOMS_ENGINE=spark`, dbt-spark).

The loader (input contracts, quarantine, keys) writes the raw layer into the DuckDB file, having typed
and checked the rows of each load on Spark (`validator`: the contracts' query in Spark's SQL), and the
Python assets write the learned model's scores, the party graph's communities and the quality history
there too. Before each dbt step, every table dbt reads that no model builds is handed to Spark as
Parquet under the exchange folder (`<exchange>/<schema>/<table>/`), where the Spark target registers it
in its metastore (`macros/spark_engine.sql`). After the step, each table Spark built becomes a view in
the DuckDB file over its Parquet files, typed as Spark recorded it (`main.dbt_relation_columns`), so
that the Python assets and the publication read Spark's results where they read DuckDB's. The quality
checks of those tables run on Spark itself, through GX's Spark execution engine, in a session of the
Dagster process (`quality_session`). The models, their tests and contracts are the same SQL on both
engines.
"""

import importlib.util
import json
import os
import re
import shutil
from itertools import groupby
from pathlib import Path

import duckdb

from orchestration import settings
from orchestration.ingest.dialect import raw_tables, reference_view, to_spark
from orchestration.ingest.loader import CHECKED
from orchestration.ingest.readers import STAGE
from orchestration.quality.results import RULE_RESULTS_TABLE, VALIDATION_RUNS_TABLE

COLUMNS_TABLE = ("main", "dbt_relation_columns")  # written by the on-run-end hook record_relation_columns
_SCALARS = {
    "string": "VARCHAR",
    "boolean": "BOOLEAN",
    "tinyint": "TINYINT",
    "smallint": "SMALLINT",
    "int": "INTEGER",
    "integer": "INTEGER",
    "bigint": "BIGINT",
    "float": "FLOAT",
    "double": "DOUBLE",
    "date": "DATE",
    "timestamp_ntz": "TIMESTAMP",
    "timestamp": "TIMESTAMPTZ",  # an instant, written as UTC microseconds (profiles.yml)
}


def require_spark() -> None:
    """Fail with what to do, not with an import error deep in dbt, when the Spark engine cannot run."""
    missing = [
        what
        for what, present in (
            ("the Python packages (`uv sync --extra spark`)", importlib.util.find_spec("pyspark") is not None),
            ("a Java runtime (17) on the PATH", shutil.which("java") is not None),
        )
        if not present
    ]
    if missing:
        raise RuntimeError("CUSTOMS_ENGINE=spark needs " + " and ".join(missing))


def handed_over(manifest_path: Path) -> list[tuple[str, str]]:
    """(schema, table) of every table the models read that is not a model: the dbt sources (from the
    parsed manifest) and the quality history, which the quality assets write after the view over it
    is built (models/marts/data_quality_results.sql)."""
    manifest = json.loads(Path(manifest_path).read_text())
    sources = {(s["schema"], s["name"]) for s in manifest["sources"].values()}
    history = {tuple(name.split(".")) for name in (RULE_RESULTS_TABLE, VALIDATION_RUNS_TABLE)}
    return sorted(sources | history)


def export_sources(con: duckdb.DuckDBPyConnection, exchange: Path, sources: list[tuple[str, str]]) -> list[str]:
    """Write each source table that exists in the DuckDB warehouse as Parquet under `exchange`, replacing
    the previous copy whole (written beside it, then renamed); returns the `schema.table` names written,
    which the Spark target registers ($CUSTOMS_SPARK_SOURCES). A view over Spark's own tables is not a
    source to hand back."""
    existing = {
        f"{s}.{t}"
        for s, t in con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'"
        ).fetchall()
    }
    written = []
    for schema, table in sources:
        name = f"{schema}.{table}"
        if name not in existing:  # no copy of last week's table, then: Spark fails on it rather than reads it
            shutil.rmtree(Path(exchange) / schema / table, ignore_errors=True)
            continue
        target = Path(exchange) / schema / table
        partial = target.with_name(f".{table}.partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        con.execute(f"COPY {name} TO '{partial / 'data.parquet'}' (FORMAT parquet)")
        shutil.rmtree(target, ignore_errors=True)
        partial.rename(target)
        written.append(name)
    return written


def duckdb_type(spark_type: str) -> str:
    """DuckDB's name for a Spark column type; a type with no exact counterpart is an error, not a guess."""
    t = spark_type.strip().lower()
    if t in _SCALARS:
        return _SCALARS[t]
    if match := re.fullmatch(r"decimal\((\d+),\s*(\d+)\)", t):
        return f"DECIMAL({match[1]},{match[2]})"
    if match := re.fullmatch(r"(?:varchar|char)\(\d+\)", t):
        return "VARCHAR"
    if match := re.fullmatch(r"array<(.+)>", t):
        return f"{duckdb_type(match[1])}[]"
    raise ValueError(f"Spark type {spark_type!r} has no DuckDB counterpart here")


def data_files(folder: Path) -> list[Path]:
    """The Parquet files of a Spark table: not those under a folder Spark hides (`_temporary`,
    `.spark-staging-*`), which a killed write leaves behind and Spark itself never reads."""
    return sorted(
        f for f in folder.rglob("*.parquet") if not any(p.startswith(("_", ".")) for p in f.relative_to(folder).parts)
    )


def recorded_columns(spark_warehouse: Path) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """(column, Spark type) of each table Spark built, in the table's order, as the last dbt run on
    Spark recorded them; empty before the first."""
    schema, table = COLUMNS_TABLE
    recorded = data_files(Path(spark_warehouse) / f"{schema}.db" / table)
    if not recorded:
        return {}
    files = ", ".join(f"'{f}'" for f in recorded)
    with duckdb.connect() as con:
        rows = con.execute(
            f"SELECT schema_name, table_name, column_name, data_type FROM read_parquet([{files}]) "
            "ORDER BY schema_name, table_name, position"
        ).fetchall()
    return {key: [(c, t) for _, _, c, t in group] for key, group in groupby(rows, key=lambda r: (r[0], r[1]))}


def link_tables(con: duckdb.DuckDBPyConnection, spark_warehouse: Path) -> list[str]:
    """Make every table Spark built a view of the same name in the DuckDB file, over its Parquet files
    (partition columns from the folder names) and cast to the types Spark recorded, replacing what was
    there; returns the names linked."""
    kinds = {
        (s, t): k
        for s, t, k in con.execute(
            "SELECT table_schema, table_name, table_type FROM information_schema.tables"
        ).fetchall()
    }
    linked = []
    for (schema, table), columns in recorded_columns(spark_warehouse).items():
        typed = [(c, duckdb_type(t)) for c, t in columns]
        found = data_files(Path(spark_warehouse) / f"{schema}.db" / table)
        if found:
            paths = ", ".join(f"'{f}'" for f in found)
            select = ", ".join(f'CAST("{c}" AS {t}) AS "{c}"' for c, t in typed)
            body = f"SELECT {select} FROM read_parquet([{paths}], hive_partitioning = true, union_by_name = true)"
        else:  # an empty table (a partitioned one has no file at all)
            body = "SELECT " + ", ".join(f'CAST(NULL AS {t}) AS "{c}"' for c, t in typed) + " WHERE false"
        con.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        if kinds.get((schema, table)) == "BASE TABLE":  # built by DuckDB before the engine was switched
            con.execute(f'DROP TABLE "{schema}"."{table}"')
        con.execute(f'CREATE OR REPLACE VIEW "{schema}"."{table}" AS {body}')
        linked.append(f"{schema}.{table}")
    return linked


def session(spark_warehouse: Path):
    """This process's Spark session, for the loader's validation and the quality checks. Its catalog is
    in memory: the embedded metastore of the dbt steps admits one process at a time."""
    from pyspark.sql import SparkSession

    return (
        SparkSession.builder.master(f"local[{os.cpu_count() or 1}]")
        .appName("customs-warehouse")
        .config("spark.sql.catalogImplementation", "in-memory")
        .config("spark.sql.warehouse.dir", str(Path(spark_warehouse).parent / "quality_session"))
        .config("spark.sql.session.timeZone", settings.TIMEZONE)
        .config("spark.driver.memory", os.environ.get("CUSTOMS_SPARK_DRIVER_MEMORY", "2g"))
        .config("spark.sql.shuffle.partitions", os.environ.get("CUSTOMS_SPARK_SHUFFLE_PARTITIONS", "4"))
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )


def validator(spark_warehouse: Path):
    """The loader's `validate` on Spark: the staged rows and the reference tables the query reads go
    to this process's session as Arrow, in memory (the stage holds clear party identifiers, which no
    file outside the restricted store may), the query runs there in Spark's SQL, and the typed rows
    with their reasons come back as the loader's `CHECKED`. Keys, the load log and the writes stay
    beside the raw tables (orchestration.ingest.loader)."""

    def validate(con: duckdb.DuckDBPyConnection, sql: str) -> None:
        spark = session(spark_warehouse)
        views = {STAGE: f"SELECT * FROM {STAGE}"}
        views |= {reference_view(t): f"SELECT * FROM raw.{t}" for t in raw_tables(sql)}
        try:
            for view, query in views.items():
                spark.createDataFrame(con.sql(query).to_arrow_table()).createOrReplaceTempView(view)
            checked = spark.sql(to_spark(sql)).toArrow()
        finally:
            for view in views:
                spark.catalog.dropTempView(view)
        con.register("_checked_arrow", checked)
        try:
            con.execute(f"CREATE OR REPLACE TEMP TABLE {CHECKED} AS SELECT * FROM _checked_arrow")
        finally:
            con.unregister("_checked_arrow")

    return validate


def quality_session(spark_warehouse: Path, exchange: Path):
    """This process's Spark session (`session`) for the quality checks. Its catalog holds, under their
    own names, every table Spark built and every table handed over, so that a rule's query may name
    any of them; they are registered again whenever a dbt step has built or handed over since."""
    spark = session(spark_warehouse)
    tables = {
        key: (Path(spark_warehouse) / f"{key[0]}.db" / key[1], columns)
        for key, columns in recorded_columns(spark_warehouse).items()
    }
    for folder in sorted(Path(exchange).glob("*/*")):
        if folder.is_dir() and not folder.name.startswith("."):
            tables[(folder.parent.name, folder.name)] = (folder, None)
    # every file (name, size, time) and the recorded columns: any rebuild, added or dropped partition changes it
    stamp = tuple(
        sorted(
            (
                key,
                str(loc),
                tuple(columns or ()),
                tuple((str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in data_files(loc)),
            )
            for key, (loc, columns) in tables.items()
        )
    )
    if _REGISTERED.get("stamp") != stamp or _REGISTERED.get("session") is not spark:
        for schema, table in set(_REGISTERED.get("tables", ())) - set(tables):  # gone since
            spark.sql(f"DROP TABLE IF EXISTS `{schema}`.`{table}`")
        for (schema, table), (location, columns) in tables.items():
            spark.sql(f"CREATE DATABASE IF NOT EXISTS `{schema}`")
            spark.sql(f"DROP TABLE IF EXISTS `{schema}`.`{table}`")
            if data_files(location):
                spark.sql(f"CREATE TABLE `{schema}`.`{table}` USING parquet LOCATION '{location}'")
                if any(c.isPartition for c in spark.catalog.listColumns(f"{schema}.{table}")):
                    spark.sql(f"MSCK REPAIR TABLE `{schema}`.`{table}`")  # the catalog lists the partitions
            else:  # nothing to infer the columns from
                typed = ", ".join(f"`{c}` {t}" for c, t in columns or [])
                spark.sql(f"CREATE TABLE `{schema}`.`{table}` ({typed}) USING parquet LOCATION '{location}'")
        _REGISTERED.update(stamp=stamp, session=spark, tables=list(tables))
    return spark


_REGISTERED: dict = {}  # what the session's catalog holds: the stamp it was registered at, the session, tables
