"""End to end: every asset materialized with real DuckDB, real dbt and real GX on a small demo, and the
blocking quality gate stopping what is downstream of bad staged data."""

from __future__ import annotations

import csv
import subprocess
import sys

import duckdb
from dagster import AssetKey

from orchestration.assets.raw import raw_assets
from orchestration.cli import _record_stopped_validations
from orchestration.definitions import defs
from orchestration.quality.results import read_suite_result
from orchestration.settings import REPO_ROOT

from .conftest import materialize_nightly

STAGED = AssetKey(["staging", "stg_declaration_items"])
# built with the staged tables, before the gate: its derived countries are checked by the gate too
DERIVED = AssetKey(["intermediate", "int_declaration_items"])


def test_every_asset_and_check_materializes_on_the_demo(built_warehouse):
    result, summary = built_warehouse["result"], built_warehouse["summary"]
    assert result.success
    materialized = {e.asset_key for e in result.get_asset_materialization_events()}
    # per reference year by its own job; the risk model trained by its own (monthly) job
    fetched_separately = {AssetKey(["landing", "comtrade_api"]), AssetKey(["models", "risk_model"])}
    graph = defs.resolve_asset_graph()  # the landing folders are external: delivered, not materialized
    assert materialized == set(graph.materializable_asset_keys) - fetched_separately
    checks = result.get_asset_check_evaluations()
    assert checks and all(c.passed for c in checks), [c.check_name for c in checks if not c.passed]
    assert {c.check_name for c in checks} >= {"gx_stg_declaration_items", "load_reconciles", "files_readable"}

    con = duckdb.connect(str(built_warehouse["db"]), read_only=True)
    raw, staged = con.execute("""SELECT (SELECT count(*) FROM raw.declaration_items),
                                        (SELECT count(*) FROM staging.stg_declaration_items)""").fetchall()[0]
    assert raw == staged == summary["items"]
    partner = con.execute("SELECT count(*) FROM staging.stg_partner_trade").fetchall()[0][0]
    assert partner == summary["partner_records"]
    unresolved = con.execute("""
        SELECT count(*) FROM intermediate.int_declaration_items
        WHERE origin_iso3 IS NULL OR partner_iso3 IS NULL OR invoice_amount_omr IS NULL""").fetchall()[0][0]
    assert unresolved == 0
    con.close()


def test_a_blocking_quality_rule_stops_the_layers_built_on_it(var_dir, small_demo):
    landing, _ = small_demo
    # items of a country the reference knew when they were loaded; then the reference is re-delivered
    # without it: the loaded rows no longer resolve, which only the staged data can show
    countries = landing / "reference" / "countries.csv"
    delivered = countries.read_text()
    countries.write_text(delivered + "ZZ,ZZZ,999,999,Atlantis,Nowhere,false,USD\n")
    day = sorted((landing / "declarations").rglob("*.csv"))[0]
    rows = list(csv.DictReader(day.open()))
    with open(day.with_name("late_delivery.csv"), "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        for i, row in enumerate(rows[:40]):
            writer.writerow({**row, "declaration_id": f"LATE{i}", "origin_country": "ZZ"})
    unknown = len(rows[:40])
    assert materialize_nightly(landing, var_dir, assets=raw_assets).success
    countries.write_text(delivered)

    result = materialize_nightly(landing, var_dir, raise_on_error=False)
    gate = [c for c in result.get_asset_check_evaluations() if c.check_name == "gx_int_declaration_items"][0]
    assert not gate.passed and gate.severity.value == "ERROR"
    assert "origin_country_known" in gate.description
    materialized = {e.asset_key for e in result.get_asset_materialization_events()}
    assert {STAGED, DERIVED} <= materialized
    assert not any(key.path[0] in ("intermediate", "marts") for key in materialized - {DERIVED})
    con = duckdb.connect(str(var_dir / "warehouse.duckdb"), read_only=True)
    marts = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'marts'").fetchall()[0][0]
    con.close()
    assert marts == 0
    # the stopped run's failure waits in its result file; the command line records it as stopped at once
    stopped = read_suite_result(var_dir / "quality" / "results" / result.run_id / "int_declaration_items.json")
    assert [(r.passed, r.unexpected_count) for r in stopped.rules if r.rule == "origin_country_known"] == [
        (False, unknown)
    ]
    _record_stopped_validations(result.run_id)
    con = duckdb.connect(str(var_dir / "warehouse.duckdb"), read_only=True)
    recorded = con.execute("""SELECT r.passed, r.unexpected_count, v.status FROM quality.rule_results r
                              JOIN quality.validation_runs v USING (run_id)
                              WHERE r.rule = 'origin_country_known'""").fetchall()
    con.close()
    assert recorded == [(False, unknown, "stopped")]
    assert not (var_dir / "published" / "current").exists()  # nothing reaches BI


def test_nightly_schedule_runs_the_nightly_job_at_two_muscat_time():
    schedule = defs.resolve_schedule_def("nightly_refresh_0200_muscat")
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.execution_timezone == "Asia/Muscat"
    assert schedule.job_name == "nightly_refresh"


def test_dagster_definitions_validate(var_dir):
    result = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate", "-m", "orchestration.definitions"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "All code locations passed validation" in result.stdout + result.stderr
