"""dbt's hand-computed unit tests, on their own: against an empty warehouse of the right shape (raw
tables as the loader creates them, every model built empty), so they need no demo and no build."""

from __future__ import annotations

import json

import duckdb
import pytest

from orchestration.ingest import contracts
from orchestration.ingest.loader import ensure_tables

from .conftest import run_dbt

pytestmark = pytest.mark.fast


def test_every_dbt_unit_test_passes(tmp_path):
    db = tmp_path / "unit_tests.duckdb"
    with duckdb.connect(str(db)) as con:
        for contract in contracts.ALL_CONTRACTS:
            ensure_tables(con, contract)
    # every model built empty (its shape is what the unit tests' fixtures are typed by), seeds loaded, and
    # with them the unit tests run, before each model as dbt build orders them
    build = run_dbt("build", "--empty", warehouse=db, target=tmp_path / "target")
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    results = json.loads((tmp_path / "target" / "run_results.json").read_text())["results"]
    units = [r for r in results if r["unique_id"].startswith("unit_test.")]
    assert len(units) >= 14 and all(r["status"] == "pass" for r in units), [r["unique_id"] for r in units]
