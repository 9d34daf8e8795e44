"""The command line as an operator uses it: a backfill of a range of lodgement days runs as one run
over those days' partitions, recorded in the Dagster instance the UI reads."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date

import duckdb
from dagster import AssetKey, DagsterEventType, DagsterInstance, EventRecordsFilter

from orchestration.settings import REPO_ROOT

from .conftest import TINY


def test_the_command_line_backfills_a_range_in_one_run(home):
    cli = [sys.executable, "-m", "orchestration.cli"]
    env = {**os.environ}
    subprocess.run(
        [*cli, "demo", "--items", str(TINY.items), "--months", str(TINY.months)],
        cwd=REPO_ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    first, last = date(2021, 1, 10), date(2021, 1, 20)
    done = subprocess.run(
        [*cli, "run", "--from", first.isoformat(), "--to", last.isoformat()],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert f"Refreshing lodgement days {first} to {last} in one run." in done.stdout
    instance = DagsterInstance.get()
    (run,) = instance.get_runs()
    records = instance.get_event_records(
        EventRecordsFilter(DagsterEventType.ASSET_MATERIALIZATION, asset_key=AssetKey(["raw", "declaration_items"]))
    )
    partitions = sorted(r.event_log_entry.dagster_event.partition for r in records if r.run_id == run.run_id)
    assert partitions == [f"2021-01-{d:02d}" for d in range(10, 21)]  # the range, one partition per day
    # every file of the landing area is loaded whatever the range (all are new), and the marts are built
    with duckdb.connect(str(home.parent / "warehouse.duckdb"), read_only=True) as con:
        items, risk = con.execute(
            "SELECT (SELECT count(*) FROM raw.declaration_items), (SELECT count(*) FROM marts.declaration_risk)"
        ).fetchall()[0]
    assert items == risk == TINY.items
