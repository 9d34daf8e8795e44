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
    memory_limit: str = Field(default="4GB", description="DuckDB memory limit for loads (spills beyond it).")

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
