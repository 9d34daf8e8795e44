"""The benchmark's fairness: both baselines compute the marts' figures from the same landing files,
and the comparison that says so does catch a difference."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import duckdb
import pytest

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
