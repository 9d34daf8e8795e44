"""The quality history: checks validate without the warehouse's write lock, one step records their
results after every check of the run, and a run that never got there is marked incomplete."""

from __future__ import annotations

import os
import subprocess
import sys

import duckdb
import pytest
from dagster import AssetKey, AssetSelection, AssetSpec, DagsterInstance, asset, materialize

from orchestration.assets.dbt import DBT_EXECUTABLE
from orchestration.assets.quality import record_run
from orchestration.checks import gx_checks, results_dir
from orchestration.quality.gx_runner import load_suite, validate_table
from orchestration.quality.results import write_suite_result
from orchestration.resources import WarehouseResource
from orchestration.settings import DBT_PROJECT_DIR

COUNTRIES = AssetKey(["raw", "countries"])
CHECK = next(c for c in gx_checks if next(iter(c.check_keys)).asset_key == COUNTRIES)
RULES = 5  # in expectations/raw_countries.json


@asset(key=["quality", "rule_results"], deps=[COUNTRIES])
def rule_results(context, warehouse: WarehouseResource):
    """quality/rule_results over this small graph: after the check of raw/countries, as the real asset
    comes after every check of the nightly graph (tests/test_code_location.py checks that plan)."""
    return record_run(context, warehouse)


HOLD_READ_ONLY = """
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
print("open", flush=True)
sys.stdin.read()
"""


@pytest.fixture
def warehouse(var_dir):
    db = var_dir / "warehouse.duckdb"
    db.parent.mkdir(parents=True)
    con = duckdb.connect(str(db))
    con.execute("CREATE SCHEMA raw")
    con.execute("""CREATE TABLE raw.countries AS SELECT * FROM (VALUES
        ('OM', 'OMN', true), ('AE', 'ARE', true), ('SA', 'SAU', true), ('QA', 'QAT', true),
        ('KW', 'KWT', true), ('BH', 'BHR', true), ('CN', 'CHN', false)) t(iso2, iso3, is_gcc)""")
    con.close()
    return db


def _run(db, *steps):
    """The given checks and assets over raw/countries, which stands for the warehouse's tables."""
    selection = AssetSelection.checks(*(s for s in steps if s is CHECK)) | AssetSelection.assets(
        *(s for s in steps if s is not CHECK)
    )
    return materialize(
        [AssetSpec(COUNTRIES), *steps],
        selection=selection,
        resources={"warehouse": WarehouseResource(path=str(db))},
        instance=DagsterInstance.ephemeral(),
        raise_on_error=False,
    )


def _history(db):
    con = duckdb.connect(str(db), read_only=True)
    try:
        runs = dict(con.execute("SELECT run_id, status FROM quality.validation_runs").fetchall())
        rows = dict(con.execute("SELECT run_id, count(*) FROM quality.rule_results GROUP BY run_id").fetchall())
        return runs, rows
    finally:
        con.close()


def test_a_reader_holding_the_warehouse_fails_no_check_and_the_unrecorded_run_is_marked_incomplete(warehouse):
    reader = subprocess.Popen(
        [sys.executable, "-c", HOLD_READ_ONLY, str(warehouse)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert reader.stdout.readline().strip() == "open"  # a BI tool holds the file read-only
        held = _run(warehouse, CHECK, rule_results)
    finally:
        reader.communicate("")
    [evaluation] = held.get_asset_check_evaluations()
    assert evaluation.passed  # validated read-only, its outcome in a file of the run
    assert (results_dir() / held.run_id / "raw_countries.json").exists()
    failed = [e.step_key for e in held.all_events if e.is_step_failure]
    assert failed == ["quality__rule_results"]  # only the one writer met the lock; the run never recorded

    after = _run(warehouse, CHECK, rule_results)
    assert after.success
    runs, rows = _history(warehouse)
    assert runs == {held.run_id: "incomplete", after.run_id: "complete"}
    assert rows == {held.run_id: RULES, after.run_id: RULES}  # one row per rule per validation run
    assert not any(results_dir().iterdir())  # every file recorded once

    again = _run(warehouse, rule_results)  # nothing new to record: nothing counts twice
    assert again.success and _history(warehouse) == (runs, rows)


def test_a_check_re_executed_in_a_run_replaces_its_result(warehouse):
    first = _run(warehouse, CHECK)
    con = duckdb.connect(str(warehouse))
    con.execute("INSERT INTO raw.countries VALUES ('CN', 'CHN', false)")  # now a duplicate
    con.close()
    # the same run's check once more, as a retried step would: its file is replaced, not added to
    again = validate_table(warehouse, "raw", "countries", load_suite("raw_countries"), gx_root=warehouse.parent / "gx")
    path = write_suite_result(results_dir(), first.run_id, again)
    assert sorted(p.name for p in path.parent.iterdir()) == ["raw_countries.json"]
    assert _run(warehouse, rule_results).success
    runs, rows = _history(warehouse)
    assert runs == {first.run_id: "incomplete"} and rows == {first.run_id: RULES}
    con = duckdb.connect(str(warehouse), read_only=True)
    failed = {rule for (rule,) in con.execute("SELECT rule FROM quality.rule_results WHERE NOT passed").fetchall()}
    con.close()
    assert failed == {"iso2_unique", "iso3_unique"}


def test_the_mart_shows_each_runs_status(warehouse, tmp_path):
    killed = _run(warehouse, CHECK)  # stopped before recording
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    build = [DBT_EXECUTABLE, "run", "--select", "data_quality_results", "--project-dir", str(DBT_PROJECT_DIR)]
    build += ["--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(tmp_path / "target")]
    # a fresh warehouse: dbt builds the view before anything was recorded, so it creates the history
    built = subprocess.run(build, env=env, cwd=DBT_PROJECT_DIR, capture_output=True, text=True)
    assert built.returncode == 0, built.stdout[-3000:]
    recorded = _run(warehouse, CHECK, rule_results)
    assert recorded.success
    con = duckdb.connect(str(warehouse), read_only=True)
    status = con.execute("""SELECT run_id, run_status, count(*) FROM marts.data_quality_results
                            GROUP BY ALL ORDER BY run_status""").fetchall()
    con.close()
    assert status == [(recorded.run_id, "complete", RULES), (killed.run_id, "incomplete", RULES)]
