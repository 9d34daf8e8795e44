"""Shared fixtures: small demo datasets in temporary landing areas, and the public data in ../shared."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from orchestration.demo.generator import DemoConfig, generate

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SMALL = DemoConfig(items=8_000, months=6)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.exists():
        pytest.skip(f"public reference data not found at {SHARED_DATA} (the ../shared folder beside the repo)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def small_demo_master(tmp_path_factory) -> tuple[Path, dict]:
    landing = tmp_path_factory.mktemp("demo") / "landing"
    return landing, generate(landing, SMALL)


@pytest.fixture
def small_demo(small_demo_master, tmp_path) -> tuple[Path, dict]:
    """A private copy of the small demo landing area (tests may add or damage files)."""
    master, summary = small_demo_master
    landing = tmp_path / "landing"
    shutil.copytree(master, landing)
    return landing, summary


def materialize_nightly(landing: Path, var: Path, as_of: str | None = None):
    """Every nightly asset and check over `landing`, into `var/warehouse.duckdb` (real DuckDB, dbt and
    GX), with the warehouse's paths (and the timeliness date `as_of`) set for the run only."""
    from dagster import DagsterInstance, materialize

    from orchestration.assets.dbt import dbt_resource
    from orchestration.definitions import CHECKS, NIGHTLY_ASSETS
    from orchestration.jobs import landing_days, range_tags
    from orchestration.resources import LandingAreaResource, WarehouseResource

    db = var / "warehouse.duckdb"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CUSTOMS_VAR_DIR", str(var))
        mp.setenv("CUSTOMS_DUCKDB_PATH", str(db))
        if as_of:
            mp.setenv("CUSTOMS_AS_OF_DATE", as_of)
        return materialize(
            [*NIGHTLY_ASSETS, *CHECKS],
            tags=range_tags(*landing_days(landing)),
            resources={
                "warehouse": WarehouseResource(path=str(db)),
                "landing": LandingAreaResource(path=str(landing)),
                "dbt": dbt_resource,
            },
            instance=DagsterInstance.ephemeral(),
        )


@pytest.fixture(scope="session")
def built_warehouse(tmp_path_factory, small_demo_master):
    """The small demo, materialized once with every asset and check."""
    landing, summary = small_demo_master
    var = tmp_path_factory.mktemp("built") / "var"
    result = materialize_nightly(landing, var, as_of=SMALL.end.isoformat())
    return {"db": var / "warehouse.duckdb", "landing": landing, "summary": summary, "result": result}


@pytest.fixture
def var_dir(tmp_path, monkeypatch) -> Path:
    """Point every default path of the warehouse at a temporary folder."""
    var = tmp_path / "var"
    monkeypatch.setenv("CUSTOMS_VAR_DIR", str(var))
    monkeypatch.setenv("CUSTOMS_DUCKDB_PATH", str(var / "warehouse.duckdb"))
    monkeypatch.setenv("CUSTOMS_LANDING_DIR", str(tmp_path / "landing"))
    monkeypatch.setenv("CUSTOMS_AS_OF_DATE", SMALL.end.isoformat())
    return var
