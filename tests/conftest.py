"""Shared fixtures: small demo datasets in temporary landing areas, and the public data in ../shared."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from orchestration.demo.generator import DemoConfig, generate
from orchestration.settings import REPO_ROOT

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SMALL = DemoConfig(items=8_000, months=6)
TINY = DemoConfig(items=2_000, months=2)  # for tests that run the command line end to end


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


def materialize_nightly(
    landing: Path,
    var: Path,
    as_of: str | None = None,
    days: tuple | None = None,
    assets: list | None = None,
    env: dict[str, str] | None = None,
    instance=None,
    raise_on_error: bool = True,
    retrain: bool = False,
):
    """The nightly assets and checks (or `assets`) over `landing` for the lodgement days `days` (default:
    all of the landing area's), into `var/warehouse.duckdb` (real DuckDB, dbt and GX), with the
    warehouse's paths, the timeliness date `as_of` and `env` set for the run only. The one helper
    every test that runs the nightly graph goes through. `retrain`: what the risk model's retraining job
    runs instead (train a challenger, score again, rebuild the scored marts), for no lodgement day."""
    from dagster import DagsterInstance, materialize

    from orchestration.assets.dbt import dbt_resource
    from orchestration.assets.selectivity import risk_model
    from orchestration.definitions import CHECKS, NIGHTLY_ASSETS
    from orchestration.jobs import landing_days, range_tags, risk_model_retrain
    from orchestration.resources import LandingAreaResource, WarehouseResource

    db = var / "warehouse.duckdb"
    with pytest.MonkeyPatch.context() as mp:
        for name, value in {"CUSTOMS_VAR_DIR": str(var), "CUSTOMS_DUCKDB_PATH": str(db), **(env or {})}.items():
            mp.setenv(name, value)
        if as_of:
            mp.setenv("CUSTOMS_AS_OF_DATE", as_of)
        if retrain:
            assets, selection, tags = (
                [risk_model, *NIGHTLY_ASSETS, *CHECKS],
                risk_model_retrain.selection,
                {},
            )
        else:
            selection, tags = None, range_tags(*(days or landing_days(landing)))
        return materialize(
            assets if assets is not None else [*NIGHTLY_ASSETS, *CHECKS],
            selection=selection,
            tags=tags,
            resources={
                "warehouse": WarehouseResource(path=str(db)),
                "landing": LandingAreaResource(path=str(landing)),
                "dbt": dbt_resource,
            },
            instance=instance or DagsterInstance.ephemeral(),
            raise_on_error=raise_on_error,
        )


@pytest.fixture(scope="session")
def built_warehouse(tmp_path_factory, small_demo_master):
    """The small demo, materialized once with every asset and check, then its risk model trained."""
    landing, summary = small_demo_master
    var = tmp_path_factory.mktemp("built") / "var"
    result = materialize_nightly(landing, var, as_of=SMALL.end.isoformat())
    trained = materialize_nightly(landing, var, as_of=SMALL.end.isoformat(), retrain=True)  # as `make run` does
    return {
        "db": var / "warehouse.duckdb",
        "landing": landing,
        "summary": summary,
        "result": result,
        "trained": trained,
    }


@pytest.fixture
def var_dir(tmp_path, monkeypatch) -> Path:
    """Point every default path of the warehouse at a temporary folder."""
    var = tmp_path / "var"
    monkeypatch.setenv("CUSTOMS_VAR_DIR", str(var))
    monkeypatch.setenv("CUSTOMS_DUCKDB_PATH", str(var / "warehouse.duckdb"))
    monkeypatch.setenv("CUSTOMS_LANDING_DIR", str(tmp_path / "landing"))
    monkeypatch.setenv("CUSTOMS_AS_OF_DATE", SMALL.end.isoformat())
    return var


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """A fresh Dagster home with the repository's dagster.yaml (as `make` copies it), every path of the
    warehouse under a temporary var folder, timeliness judged at the end of the tiny demo."""
    var = tmp_path / "var"
    home = var / "dagster_home"
    home.mkdir(parents=True)
    shutil.copy(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")
    for name, value in {
        "CUSTOMS_VAR_DIR": var,
        "DAGSTER_HOME": home,
        "CUSTOMS_DUCKDB_PATH": var / "warehouse.duckdb",
        "CUSTOMS_LANDING_DIR": var / "landing",
        "CUSTOMS_AS_OF_DATE": TINY.end.isoformat(),
    }.items():
        monkeypatch.setenv(name, str(value))
    return home


def run_dbt(*args: str, warehouse: Path, target: Path):
    """This environment's dbt on the project, against `warehouse`, its artifacts in `target` (so that
    a test never touches the project's own target folder); the finished process."""
    import json
    import subprocess

    from orchestration.assets.dbt import DBT_EXECUTABLE
    from orchestration.settings import DBT_PROJECT_DIR

    project = ["--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
    return subprocess.run(
        [
            DBT_EXECUTABLE,
            "--no-use-colors",
            *args,
            *project,
            "--target-path",
            str(target),
            "--vars",
            json.dumps({"customs_duckdb_path": str(warehouse)}),
        ],
        capture_output=True,
        text=True,
        cwd=DBT_PROJECT_DIR,
    )
