"""Dagster resources: the DuckDB warehouse file and the landing area.

DuckDB allows one writing process per file, and a reader in another process conflicts with it too.
Every step that opens the warehouse therefore runs in the `WAREHOUSE_POOL` concurrency pool (limit 1,
see `dagster.yaml`), so a run launched from the UI waits for the nightly run instead of failing on
the lock; BI tools read a published copy, never this file.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
from dagster import ConfigurableResource
from pydantic import Field

from orchestration import settings

WAREHOUSE_POOL = "duckdb_warehouse"


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
