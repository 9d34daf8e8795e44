"""Shared fixtures: small demo datasets in temporary landing areas, and the public data in ../shared."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest

from orchestration.demo.generator import DemoConfig, generate
from orchestration.settings import REPO_ROOT


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (a server started next may take it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SMALL = DemoConfig(items=8_000, months=6)
TINY = DemoConfig(items=2_000, months=2)  # for tests that run the command line end to end


# `make test` runs the suite on pytest-xdist workers with `--dist loadgroup`: each xdist group runs whole on
# one worker, so a session or module fixture is built once. Groups are handed out in the order of the
# collection, each worker taking the next when it is nearly done, so the costliest go first (longest-first:
# both workers then finish at about the same time). Minutes as measured in a `make test` here on 2 workers
# (2026-12-03, 29.9 min in all; a group's setup and its slowest tests):
BUILT_WAREHOUSE_GROUP = "built_warehouse"  # every test on the one built warehouse, Spark's included
LONGEST_FIRST = (
    BUILT_WAREHOUSE_GROUP,  # 21 (Spark's nightly and retraining 19 of them)
    "test_kcs_end_to_end",  # 7, a warehouse of its own (skipped without ../shared)
    "test_browser",  # 4.4
    "test_risk_model",  # 4.3
    "test_incremental",  # 4.3
    "test_governance",  # 3.8
    "test_crash_recovery",  # 3.3
    "test_cli",  # 1.6
    "test_pipeline",
    "test_bad_input",
    "test_dagster_postgres",
    "test_dbt_unit",
    "test_comtrade",
)  # then the other groups (under 15 s each), in the order collected


def xdist_group(item: pytest.Item) -> str:
    """The group `item` runs in: its own `xdist_group` mark's, else the built warehouse's if it uses that
    session fixture (directly or through another fixture), else its module's."""
    mark = item.get_closest_marker("xdist_group")
    if mark:
        return str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
    if "built_warehouse" in item.fixturenames:  # the closure: spark_nightly's tests too
        return BUILT_WAREHOUSE_GROUP
    return item.path.stem


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the marks into the test ids
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The one place where tests are put in xdist groups and the groups in order (also when serial)."""
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    groups = {}
    for item in items:
        groups[item] = xdist_group(item)
        if not item.get_closest_marker("xdist_group"):
            item.add_marker(pytest.mark.xdist_group(groups[item]))
    first_seen = {}
    for item in items:
        first_seen.setdefault(groups[item], len(first_seen))
    order = {item: i for i, item in enumerate(items)}
    items.sort(key=lambda i: (rank.get(groups[i], len(rank)), first_seen[groups[i]], order[i]))


def pytest_collection_finish(session: pytest.Session) -> None:
    """On an xdist worker with `--dist loadgroup`: xdist carries each test's group in its id (`...@group`).
    Where it did not (pytest 9.2 with xdist 3.8), the groups would be split across the workers silently,
    each building the built warehouse and Spark's run again: refuse to run instead."""
    if getattr(session.config.option, "loadgroup", False) and any("@" not in item.nodeid for item in session.items):
        raise pytest.UsageError(
            "pytest-xdist's --dist loadgroup put no group into the tests' ids (pytest-dev/pytest-xdist#1386): "
            "run serially (TEST_WORKERS=0) or with a pytest that xdist supports"
        )


@pytest.fixture(scope="session", autouse=True)
def private_defaults(tmp_path_factory) -> Path:
    """The default var folder and Dagster home, for every test that sets no paths of its own, are this
    session's (this worker's) own, never the repository's var/: that is the developer's warehouse, key and
    Dagster history (`make` points there), and another worker would share it (a pseudonymisation key made
    twice at once, a Dagster home's SQLite schema created twice at once)."""
    var = tmp_path_factory.mktemp("default") / "var"
    home = var / "dagster_home"
    home.mkdir(parents=True)
    shutil.copy(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")  # as `make` does
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CUSTOMS_VAR_DIR", str(var))
        mp.setenv("DAGSTER_HOME", str(home))
        yield var


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


def run_dbt(
    *args: str,
    target: Path,
    warehouse: Path | None = None,
    timeout: float | None = None,
    env: dict[str, str] | None = None,
):
    """This environment's dbt on the project, its artifacts in `target` (so that a test never touches
    the project's own target folder), against `warehouse` (else `args` name the warehouse in their own
    `--vars`), with `env` added to the environment; the finished process."""
    import json
    import os
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
            *(["--vars", json.dumps({"customs_duckdb_path": str(warehouse)})] if warehouse else []),
        ],
        capture_output=True,
        text=True,
        cwd=DBT_PROJECT_DIR,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
