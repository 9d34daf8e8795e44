"""The benchmark's fairness: both baselines compute the marts' figures from the same landing files,
and the comparison that says so does catch a difference."""

from __future__ import annotations

import csv
import shutil
import sys
from pathlib import Path

import duckdb
import pytest

from orchestration.rules import rule as project_rule

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH))

from baselines import run_sql  # noqa: E402
from compare import compare, differences  # noqa: E402


@pytest.fixture(scope="module")
def baseline_outputs(built_warehouse, tmp_path_factory):
    from baseline_pandas import run as run_pandas

    out = tmp_path_factory.mktemp("baselines")
    run_sql(built_warehouse["landing"], out / "sql")
    run_pandas(built_warehouse["landing"], BENCH.parent / "dbt_project" / "seeds", out / "pandas")
    return out


@pytest.mark.parametrize("kind", ["sql", "pandas"])
def test_each_baseline_equals_the_marts_row_by_row(built_warehouse, baseline_outputs, kind):
    found = compare(built_warehouse["db"], baseline_outputs / kind)
    assert differences(found) == {"mirror_gaps": {}, "declaration_risk": {}}
    assert found["declaration_risk"]["rows"] == built_warehouse["summary"]["items"]
    assert found["mirror_gaps"]["rows"] > 100
    # the race is about real findings: money at risk and flagged gaps are in the compared figures
    con = duckdb.connect(str(built_warehouse["db"]), read_only=True)
    assert con.execute("SELECT count(*) FROM marts.declaration_risk WHERE total_at_risk_omr > 0").fetchone()[0] > 10
    assert con.execute("SELECT count(*) FROM marts.mirror_gaps WHERE is_flagged").fetchone()[0] > 0
    con.close()


def test_the_comparison_catches_a_changed_figure_and_a_missing_row(built_warehouse, baseline_outputs, tmp_path):
    damaged = tmp_path / "damaged"
    # one gap off by 1% and a dollar: beyond the comparison's rounding tolerance whatever its size
    shutil.copytree(baseline_outputs / "sql", damaged)
    con = duckdb.connect()
    con.execute(f"""
        COPY (SELECT * REPLACE (CASE WHEN row_number() OVER () = 1 THEN gap_usd * 1.01 + 1 ELSE gap_usd END AS gap_usd)
              FROM '{damaged}/mirror_gaps.parquet') TO '{tmp_path}/g.parquet' (FORMAT parquet)
    """)
    con.execute(f"""
        COPY (SELECT * FROM '{damaged}/declaration_risk.parquet' LIMIT 1 OFFSET 1)
        TO '{tmp_path}/r.parquet' (FORMAT parquet)
    """)
    con.close()
    shutil.move(tmp_path / "g.parquet", damaged / "mirror_gaps.parquet")
    shutil.move(tmp_path / "r.parquet", damaged / "declaration_risk.parquet")
    found = differences(compare(built_warehouse["db"], damaged))
    assert found["mirror_gaps"] == {"gap_usd": 1}
    assert found["declaration_risk"]["missing_in_baseline"] == built_warehouse["summary"]["items"] - 1


def test_both_baselines_price_a_declared_duty_short_of_the_tariff(small_demo, tmp_path):
    """The demo declares its tax right, so the assessment rule is compared here: duty declared as zero on a
    day's dutiable imports is priced as the shortfall, equally by the two independent baselines."""
    from baseline_pandas import run as run_pandas

    landing, _ = small_demo
    day = sorted((landing / "declarations").rglob("items_*.csv"))[0]
    with day.open(newline="") as f:
        header, *rows = list(csv.reader(f))
    duty = header.index("duty_omr")
    shorted = {}
    for row in rows:
        if row[header.index("flow")] == "M" and float(row[duty] or 0) > 1:
            shorted[(row[0], int(row[1]))] = float(row[duty])
            row[duty] = "0"
    assert len(shorted) >= 3
    with day.open("w", newline="") as f:
        csv.writer(f).writerows([header, *rows])

    run_sql(landing, tmp_path / "sql")
    run_pandas(landing, BENCH.parent / "dbt_project" / "seeds", tmp_path / "pandas")
    con = duckdb.connect(str(tmp_path / "as_marts.duckdb"))  # the SQL baseline's results, laid out as marts
    con.execute("CREATE SCHEMA marts")
    for mart in ("mirror_gaps", "declaration_risk"):
        con.execute(f"CREATE TABLE marts.{mart} AS FROM '{tmp_path / 'sql' / mart}.parquet'")
    found = con.execute("SELECT declaration_id, item_no, assessment_duty_omr, signal_assessment, rules_score "
                        "FROM marts.declaration_risk WHERE signal_assessment").fetchall()  # fmt: skip
    con.close()
    # the shortfall is the duty the tariff gives, which the demo had declared to the baisa
    assert {(d, i) for d, i, *_ in found} == set(shorted)
    for d, i, short, _, score in found:
        assert abs(float(short) - shorted[(d, i)]) <= 0.0015
        assert score >= project_rule("risk.score.assessment_points")
    assert differences(compare(tmp_path / "as_marts.duckdb", tmp_path / "pandas")) == {
        "mirror_gaps": {},
        "declaration_risk": {},
    }


def test_an_interrupted_benchmark_goes_on_from_its_first_step_not_measured(tmp_path):
    from datetime import UTC, datetime

    from bench import _Progress

    held, aside = tmp_path / "items_2023-12-31.csv", tmp_path / "_items_2023-12-31.csv"
    aside.write_text("held back when the benchmark was killed")
    done, killed = [sys.executable, "-c", "pass"], [sys.executable, "-c", "raise SystemExit(3)"]
    log, options = tmp_path / "run.log", {"repeats": 1}

    progress = _Progress(tmp_path / "progress.json", held, aside)
    assert held.exists() and not aside.exists()  # the delivery is back
    progress.begin(options, datetime.now(UTC), resume=True)
    progress.repeat(0)
    assert progress.step(0, "full_refresh", done, {}, log, fresh=tmp_path / "var", hold_back=True) is not None
    with pytest.raises(SystemExit):
        progress.step(0, "incremental_day", killed, {}, log)
    assert held.exists()

    again = _Progress(tmp_path / "progress.json", held, aside)
    again.begin(options, datetime.now(UTC), resume=True)
    run = again.repeat(0)
    assert again.step(0, "full_refresh", killed, {}, log) is None  # measured already: not run
    assert again.step(0, "incremental_day", done, {}, log) is not None
    assert run["incremental_day"]["after_an_interrupted_attempt"] is True
    assert "other_cpu_s" in run["incremental_day"] and "longest_sample_gap_s" in run["incremental_day"]
    again.finish()

    finished = _Progress(tmp_path / "progress.json", held, aside)
    finished.begin(options, datetime.now(UTC), resume=True)  # a complete run is never resumed
    assert finished.state["runs"] == [] and "resumed" not in finished.state


def test_a_measured_command_lines_runs_are_read_step_by_step_from_its_log(tmp_path):
    from steps import CHECKS, run_steps, section

    log = tmp_path / "run1.log"
    log.write_text(
        "==== full_refresh: python -m orchestration.cli run\n"
        "> dbt_staging\n    + staging/stg_countries   29 rows\n  dbt_staging done in 44.3 s\n"
        "  staging__stg_countries_gx_stg_countries done in 0.6 s\n  raw__x_gx_raw_x done in 1.2 s\n"
        "\nRefresh succeeded in 50.0 s (run 7bf8); 3 of 3 checks passed.\n"
        "  models__risk_model done in 288.7 s\n\nRetraining succeeded in 300.5 s (run 6b38); 1 of 1 checks passed.\n"
        "==== incremental_day: python -m orchestration.cli run --from D --to D\n"
        "  dbt_staging done in 1.0 s\n\nRefresh succeeded in 2.0 s (run aaaa); 0 of 0 checks passed.\n"
    )
    assert run_steps(section(log, "full_refresh")) == [
        {"run": "refresh", "seconds": 50.0, "steps": {"dbt_staging": 44.3, CHECKS: 1.8}},
        {"run": "retraining", "seconds": 300.5, "steps": {"models__risk_model": 288.7}},
    ]
    assert run_steps(section(log, "incremental_day")) == [
        {"run": "refresh", "seconds": 2.0, "steps": {"dbt_staging": 1.0}}
    ]


def test_a_child_exited_but_not_reaped_does_not_blind_the_memory_sampler():
    """A zombie in the process tree has no arguments to read: the sampler once lost every sample while
    one existed (most likely why the L nightly on Spark reported 1.0 GB where another sampler saw 10.4 GB)."""
    from measure import measure

    hold = 300 * 2**20
    script = (
        "import subprocess, time\n"
        "subprocess.Popen(['true'])\n"  # never waited for: a zombie until this process ends
        "time.sleep(0.5)\n"
        f"x = bytearray({hold})\n"
        "for i in range(0, len(x), 4096): x[i] = 1\n"
        "time.sleep(1.5)\n"
    )
    result = measure([sys.executable, "-c", script])
    assert result["returncode"] == 0
    assert result["peak_rss_mb"] * 2**20 >= hold
    assert any(name == "true" for name, _ in result["peak_processes_mb"])  # the zombie, named, holding nothing
