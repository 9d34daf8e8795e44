"""Dagster resources: the warehouse (its DuckDB file and the engine that builds the models) and the
landing area.

DuckDB allows one writing process per file, and a reader in another process conflicts with it too.
Every step that opens the warehouse therefore runs in the `WAREHOUSE_POOL` concurrency pool (limit 1,
see `dagster.yaml`), so a run launched from the UI waits for the nightly run instead of failing on
the lock; BI tools read a published copy, never this file. With `engine = spark` the models are built by
Spark (dbt-spark), the loader checks each load's rows on Spark, and the DuckDB file keeps what the
loader and the Python assets write, and views over Spark's tables (orchestration/engines/spark.py):
the assets, checks and jobs are the same.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
from dagster import ConfigurableResource
from pydantic import Field

from orchestration import settings
from orchestration.engines import spark, spark_server
from orchestration.ingest.loader import Validate, validate_in_duckdb

WAREHOUSE_POOL = "duckdb_warehouse"
# dbt_project/profiles.yml reads these vars first (then the environment), so each dbt invocation names
# the warehouse this run is configured with and the process environment is left alone
PATH_VAR, MEMORY_VAR = "customs_duckdb_path", "customs_duckdb_memory_limit"
SPARK_WAREHOUSE_VAR, SPARK_EXCHANGE_VAR = spark_server.WAREHOUSE_VAR, "customs_spark_exchange"
THRIFT_HOST_VAR, THRIFT_PORT_VAR = "customs_spark_thrift_host", "customs_spark_thrift_port"
DBT_TARGETS = {"duckdb": "local", "spark": spark_server.SESSION_OUTPUT}  # the outputs of profiles.yml
SPARK_THRIFT_TARGET = "spark_thrift"  # the Spark engine through a Thrift server (spark_thrift set)


class WarehouseResource(ConfigurableResource):
    """The DuckDB file that holds every layer of the warehouse."""

    path: str = Field(
        default_factory=lambda: str(settings.duckdb_path()),
        description=f"DuckDB file; defaults to ${settings.DUCKDB_PATH_ENV}.",
    )
    memory_limit: str = Field(
        default_factory=settings.duckdb_memory_limit,
        description=f"DuckDB memory limit (it spills beyond it); defaults to ${settings.MEMORY_LIMIT_ENV}.",
    )
    restricted: str = Field(
        default="",
        description="The restricted store (clear party identifiers, quarantined rows as delivered): a separate "
        "owner-only DuckDB file; defaults to $CUSTOMS_RESTRICTED_PATH, else restricted/ beside the warehouse.",
    )

    engine: str = Field(
        default_factory=settings.engine,
        description=f"What builds the models: duckdb or spark; defaults to ${settings.ENGINE_ENV} (duckdb).",
    )
    spark_warehouse: str = Field(
        default_factory=lambda: str(settings.spark_warehouse_dir()),
        description=f"The Spark engine's tables and metastore; defaults to ${settings.SPARK_WAREHOUSE_ENV}.",
    )
    spark_exchange: str = Field(
        default_factory=lambda: str(settings.spark_exchange_dir()),
        description=f"Where the Spark engine's sources are handed over; defaults to ${settings.SPARK_EXCHANGE_ENV}.",
    )

    spark_thrift: str = Field(
        default_factory=settings.spark_thrift,
        description="host:port of a Spark Thrift server that builds the models (empty: each dbt step starts "
        f"Spark in its own process); defaults to ${settings.SPARK_THRIFT_ENV}.",
    )

    @property
    def dbt_target(self) -> str:
        if self.engine not in DBT_TARGETS:
            raise ValueError(f"engine {self.engine!r}: expected one of {', '.join(DBT_TARGETS)}")
        if self.engine == "spark" and self.spark_thrift:
            return SPARK_THRIFT_TARGET
        return DBT_TARGETS[self.engine]

    def dbt_vars(self) -> dict[str, str]:
        """The vars naming this warehouse to dbt (profiles.yml)."""
        names = {PATH_VAR: self.path, MEMORY_VAR: self.memory_limit}
        if self.engine == "spark":
            names |= {SPARK_WAREHOUSE_VAR: self.spark_warehouse, SPARK_EXCHANGE_VAR: self.spark_exchange}
        if self.dbt_target == SPARK_THRIFT_TARGET:
            host, port = spark_server.address(self.spark_thrift)
            names |= {THRIFT_HOST_VAR: host, THRIFT_PORT_VAR: str(port)}
        return names

    def dbt_parse_state(self, target: str) -> Path:
        """dbt's last parse of the project for this warehouse file and dbt target (its
        `partial_parse.msgpack`), kept beside the file so that the next night's dbt starts from it."""
        db = Path(self.path)
        return db.parent / "dbt_parse" / f"{db.stem}.{target}.msgpack"

    @property
    def validate(self) -> Validate:
        """What types and checks the rows of a load: the engine that builds the models."""
        if self.engine == "spark":
            spark.require_spark()
            return spark.validator(Path(self.spark_warehouse))
        return validate_in_duckdb

    @property
    def restricted_path(self) -> Path:
        return Path(self.restricted) if self.restricted else settings.restricted_path(Path(self.path))

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        db = Path(self.path)
        if not read_only:
            db.parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(db), read_only=read_only, config={"memory_limit": self.memory_limit})
        try:
            con.execute(f"SET TimeZone = '{settings.TIMEZONE}'")
            yield con
        finally:
            con.close()


class LandingAreaResource(ConfigurableResource):
    """The folder the clearance system, partner feeds and reference owners deliver files into."""

    path: str = Field(
        default_factory=lambda: str(settings.landing_dir()),
        description=f"Landing folder; defaults to ${settings.LANDING_DIR_ENV}.",
    )

    @property
    def root(self) -> Path:
        return Path(self.path)


class ComtradeResource(ConfigurableResource):
    """The UN Comtrade API. The subscription key is read from the environment variable named here at
    request time, so it is never part of the run configuration the UI shows."""

    base_url: str = Field(default="https://comtradeapi.un.org", description="Service root (a mirror or a test server).")
    key_env: str = Field(default="COMTRADE_API_KEY", description="Environment variable holding the subscription key.")
    timeout_seconds: float = 60.0
    max_retries: int = 5
    backoff_seconds: float = 2.0
    daily_call_budget: int = Field(default=500, description="Calls allowed per UTC day, counted across runs.")
    max_retry_after_seconds: float = Field(
        default=300.0, description="Longest Retry-After honoured; a 429 asking for more fails at once."
    )
    deadline_seconds: float = Field(
        default=600.0, description="Longest a whole request (redirects and body) may take before it is retried."
    )

    def client(self):
        from orchestration.ingest.comtrade import ComtradeClient

        return ComtradeClient(
            base_url=self.base_url,
            key_env=self.key_env,
            timeout=self.timeout_seconds,
            max_retries=self.max_retries,
            backoff_seconds=self.backoff_seconds,
            daily_call_budget=self.daily_call_budget,
            max_retry_after_seconds=self.max_retry_after_seconds,
            deadline_seconds=self.deadline_seconds,
            state_file=settings.var_dir() / "state" / "comtrade_calls.json",
        )
