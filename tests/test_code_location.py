"""The code location loads without side effects, builds its dbt arguments purely, and records quality
results only after every GX check of the nightly run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from dagster._core.execution.api import create_execution_plan

from orchestration.assets.dbt import REFRESH_FROM_ENV, SPARK_SOURCES_ENV, dbt_build_args, dbt_environment
from orchestration.assets.quality import UPSTREAM, last_checked
from orchestration.checks import gx_checks
from orchestration.definitions import defs
from orchestration.quality.parameters import AS_OF_TAG, as_of_date
from orchestration.resources import MEMORY_VAR, PATH_VAR, SPARK_EXCHANGE_VAR, SPARK_WAREHOUSE_VAR, WarehouseResource
from orchestration.settings import DBT_PROJECT_DIR, REPO_ROOT

# Imports the libraries first (dagster's vendored croniter runs `file`, numpy sets and unsets an
# OpenBLAS variable), then records every subprocess and environment write the location's own modules
# make. It runs in a copy of the code location whose manifest looks stale: loading must then warn, not
# parse. (A copy: the repository's manifest is read by every other process of the suite meanwhile.)
AUDITED_IMPORT = """
import json, os, sys
import dagster, dagster_dbt, numpy
seen = []
sys.addaudithook(lambda event, args: seen.append([event, str(args[0])]) if event in
                 ("subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.putenv", "os.unsetenv") else None)
before = dict(os.environ)
import orchestration.definitions
print(json.dumps({"events": seen, "environ_changed": dict(os.environ) != before,
                  "location": orchestration.definitions.__file__}))
"""


def _code_location_copy(root: Path) -> Path:
    """The code location, its dbt project and GX suites, and the parsed manifest under `root`."""
    ignore = shutil.ignore_patterns("__pycache__", "target", "logs")
    for name in ("orchestration", "dbt_project", "expectations"):
        shutil.copytree(REPO_ROOT / name, root / name, ignore=ignore)
    (root / "dbt_project" / "target").mkdir()
    shutil.copy2(DBT_PROJECT_DIR / "target" / "manifest.json", root / "dbt_project" / "target" / "manifest.json")
    return root


def test_importing_the_code_location_runs_nothing_and_leaves_the_environment_alone(tmp_path):
    location = _code_location_copy(tmp_path / "repo")
    os.utime(location / "dbt_project" / "target" / "manifest.json", (0, 0))  # older than every dbt file
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_IS_DEV_CLI"}  # `dagster dev` parses on load
    done = subprocess.run(
        [sys.executable, "-c", AUDITED_IMPORT], cwd=location, env=env, capture_output=True, text=True, check=True
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {
        "events": [],
        "environ_changed": False,
        "location": str(location / "orchestration" / "definitions.py"),  # the copy, not the installed one
    }
    assert "run `make setup` to parse it again" in done.stderr


# A dbt invocation through the location's resource, in a process of its own (no test has loaded dbt there),
# counting the processes it starts
INVOKE_DBT = """
import json, sys
from pathlib import Path
from orchestration.assets.dbt import dbt_resource
started = []
sys.addaudithook(lambda event, args: started.append(str(args[1])) if event == "subprocess.Popen" else None)
invocation = dbt_resource.cli(["--version"], target_path=Path(sys.argv[1])).wait()
print(json.dumps({"ok": invocation.is_successful(), "processes": len(started), "adapter": repr(invocation.adapter),
                  "macros_loaded": "dbt.parser.manifest" in sys.modules}))
"""


def test_a_dbt_step_starts_only_dbt_and_loads_no_dbt_adapter_into_the_dagster_process(tmp_path):
    """dagster-dbt would first run `dbt --version`, and load an adapter and dbt's macros for metadata the
    steps read from the warehouse instead: seconds per step."""
    done = subprocess.run(
        [sys.executable, "-c", INVOKE_DBT, str(tmp_path / "target")],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found == {"ok": True, "processes": 1, "adapter": "None", "macros_loaded": False}


def test_dbt_build_args_name_the_warehouse_as_vars_and_the_window_goes_in_the_environment():
    warehouse = WarehouseResource(path="/data/w.duckdb", memory_limit="3GB", engine="duckdb")
    args = dbt_build_args(False, warehouse.dbt_vars(), warehouse.dbt_target)
    assert args[:4] == ["build", "--target", "local", "--vars"] and len(args) == 7
    assert args[5:] == ["--exclude-resource-type", "unit_test"], "unit tests run in CI, not every night"
    # the same vars every night for a warehouse: dbt's partial parsing holds
    assert json.loads(args[4]) == {PATH_VAR: "/data/w.duckdb", MEMORY_VAR: "3GB"}
    assert dbt_environment("2022-03-01", ["raw.a", "raw.b"]) == {
        "CUSTOMS_REFRESH_FROM": "2022-03-01",
        "CUSTOMS_SPARK_SOURCES": "raw.a,raw.b",
    }
    assert dbt_environment(None) == {"CUSTOMS_REFRESH_FROM": "", "CUSTOMS_SPARK_SOURCES": ""}
    macros = DBT_PROJECT_DIR / "macros"
    assert f"env_var('{REFRESH_FROM_ENV}'" in (macros / "refresh_window.sql").read_text()
    assert f"env_var('{SPARK_SOURCES_ENV}'" in (macros / "spark_engine.sql").read_text()


def test_the_warehouse_keeps_dbts_parse_per_file_and_target():
    a, b = WarehouseResource(path="/v/a.duckdb"), WarehouseResource(path="/v/b.duckdb")
    assert a.dbt_parse_state("local") == Path("/v/dbt_parse/a.local.msgpack")
    assert len({a.dbt_parse_state("local"), a.dbt_parse_state("spark"), b.dbt_parse_state("local")}) == 3


def test_the_spark_engine_builds_the_spark_target_with_its_folders_as_vars():
    warehouse = WarehouseResource(
        path="w.duckdb", memory_limit="2GB", engine="spark", spark_warehouse="/s/wh", spark_exchange="/s/ex"
    )
    args = dbt_build_args(False, warehouse.dbt_vars(), warehouse.dbt_target)
    assert args[1:3] == ["--target", "spark"]
    assert json.loads(args[4])[SPARK_WAREHOUSE_VAR] == "/s/wh" and json.loads(args[4])[SPARK_EXCHANGE_VAR] == "/s/ex"


def test_an_unknown_engine_is_refused_not_read_as_the_default(monkeypatch):
    monkeypatch.setenv("CUSTOMS_ENGINE", "snowflake")
    with pytest.raises(ValueError, match="CUSTOMS_ENGINE='snowflake': expected one of duckdb, spark"):
        WarehouseResource()


def test_dbt_build_args_full_refresh():
    assert dbt_build_args(True, {}, "local")[-1] == "--full-refresh"


def test_dbt_build_args_leave_the_selection_to_the_step():
    """dagster-dbt selects the step's models; a --select here would override a subset run."""
    for full in (False, True):
        assert not {"--select", "-s", "--exclude", "--selector"} & set(dbt_build_args(full, {}, "spark"))


def test_the_run_tag_sets_the_as_of_date_before_the_environment(monkeypatch):
    monkeypatch.setenv("CUSTOMS_AS_OF_DATE", "2020-01-01")
    assert as_of_date({AS_OF_TAG: "2022-12-31"}) == date(2022, 12, 31)
    assert as_of_date({}) == date(2020, 1, 1)


def _ancestors(plan, step_key: str) -> set[str]:
    found, todo = set(), [step_key]
    while todo:
        for dep in plan.get_step_by_key(todo.pop()).get_execution_dependency_keys():
            if dep not in found:
                found.add(dep)
                todo.append(dep)
    return found


def test_rule_results_runs_after_every_gx_check_of_the_nightly_run_without_depending_on_every_asset():
    plan = create_execution_plan(defs.resolve_job_def("nightly_refresh"))
    gx_steps = {s.key for s in plan.steps if "gx_" in s.key}
    assert len(gx_steps) == len(gx_checks)
    assert gx_steps <= _ancestors(plan, "quality__rule_results")
    deps = last_checked(UPSTREAM, gx_checks)
    assert len(deps) < len(gx_checks) / 2
    # roll-ups built by the same step as their mart: nothing waits for their checks; mirror_gaps itself is
    # read by revenue_at_risk in the scored step, which waits for its checks
    last = {k.to_user_string() for k in deps}
    assert {"marts/mirror_gaps_by_hs2", "marts/mirror_gaps_by_hs4"} <= last and "marts/mirror_gaps" not in last
