"""Where the warehouse lives: every path comes from one environment variable with a repo-local default.

Dagster, dbt (through `profiles.yml`) and the command-line helpers all read these same variables, so
pointing the warehouse at another landing area or database file is one `export` away.
"""

from __future__ import annotations

import os
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
EXPECTATIONS_DIR = REPO_ROOT / "expectations"

DUCKDB_PATH_ENV = "CUSTOMS_DUCKDB_PATH"
LANDING_DIR_ENV = "CUSTOMS_LANDING_DIR"
MEMORY_LIMIT_ENV = "CUSTOMS_DUCKDB_MEMORY_LIMIT"  # read by dbt_project/profiles.yml too
TIMEZONE = "Asia/Muscat"
ENGINE_ENV = "CUSTOMS_ENGINE"
ENGINES = ("duckdb", "spark")
SPARK_WAREHOUSE_ENV = "CUSTOMS_SPARK_WAREHOUSE"  # read by dbt_project/profiles.yml too
SPARK_EXCHANGE_ENV = "CUSTOMS_SPARK_EXCHANGE"
SPARK_THRIFT_ENV = "CUSTOMS_SPARK_THRIFT"


def var_dir() -> Path:
    return Path(os.environ.get("CUSTOMS_VAR_DIR", REPO_ROOT / "var"))


def duckdb_path() -> Path:
    return Path(os.environ.get(DUCKDB_PATH_ENV, var_dir() / "warehouse.duckdb"))


def engine() -> str:
    """Where the models are built: `duckdb` (the default, embedded) or `spark` (dbt-spark; see
    docs/scale-out.md). Anything else is refused rather than read as the default."""
    value = os.environ.get(ENGINE_ENV, "duckdb").strip().lower() or "duckdb"
    if value not in ENGINES:
        raise ValueError(f"{ENGINE_ENV}={value!r}: expected one of {', '.join(ENGINES)}")
    return value


def spark_warehouse_dir() -> Path:
    """The Spark engine's tables (Parquet) and, beside them, its embedded Hive metastore."""
    return Path(os.environ.get(SPARK_WAREHOUSE_ENV, var_dir() / "spark" / "warehouse"))


def spark_exchange_dir() -> Path:
    """What the Spark engine reads but no model builds (the loaded raw tables, the Python assets'
    tables), handed over as Parquet (orchestration/engines/spark.py)."""
    return Path(os.environ.get(SPARK_EXCHANGE_ENV, var_dir() / "spark" / "exchange"))


def spark_thrift() -> str:
    """`host:port` of the Spark Thrift server that builds the models (orchestration/engines/spark_server.py);
    empty: each dbt step starts a Spark of its own (dbt-spark's session method)."""
    return os.environ.get(SPARK_THRIFT_ENV, "").strip()


def duckdb_memory_limit() -> str:
    """DuckDB's memory per writing process; the loader and dbt never run at once (one writer pool)."""
    return os.environ.get(MEMORY_LIMIT_ENV, "2GB")


def restricted_path(warehouse: Path | None = None) -> Path:
    """The restricted store: clear party identifiers, quarantined rows as delivered, the key map.
    A separate DuckDB file in an owner-only folder, never published and never opened by BI tools:
    $CUSTOMS_RESTRICTED_PATH, else `restricted/restricted.duckdb` beside the warehouse file."""
    default = Path(warehouse or duckdb_path()).parent / "restricted" / "restricted.duckdb"
    return Path(os.environ.get("CUSTOMS_RESTRICTED_PATH", default))


def model_dir(warehouse: Path | None = None) -> Path:
    """Every version of the learned risk model (booster files and model cards): $CUSTOMS_MODEL_DIR,
    else `models/risk/` beside the warehouse file, so that each warehouse keeps the models it scored with."""
    if value := os.environ.get("CUSTOMS_MODEL_DIR"):
        return Path(value)
    return (warehouse or duckdb_path()).parent / "models" / "risk"


def plausible_dates() -> tuple[date, date]:
    """The window a declared event date must lie in: from $CUSTOMS_EARLIEST_DATE (default 1990-01-01)
    to the loading day in Muscat plus $CUSTOMS_FUTURE_TOLERANCE_DAYS (default 1): an `epoch` or
    `infinity` date, or one in the future, parses but is not data."""
    earliest = date.fromisoformat(os.environ.get("CUSTOMS_EARLIEST_DATE", "1990-01-01"))
    tolerance = int(os.environ.get("CUSTOMS_FUTURE_TOLERANCE_DAYS", "1"))
    return earliest, datetime.now(ZoneInfo(TIMEZONE)).date() + timedelta(days=tolerance)


def landing_dir() -> Path:
    return Path(os.environ.get(LANDING_DIR_ENV, var_dir() / "landing"))


def partition_start() -> str:
    """First lodgement day the daily partitions cover ($CUSTOMS_PARTITION_START)."""
    return os.environ.get("CUSTOMS_PARTITION_START", "2020-01-01")
