"""A refresh of a few new or re-delivered days gives exactly the marts a full rebuild gives, while the
incremental models rebuild only from the earliest changed day."""

from __future__ import annotations

import csv
import shutil
from datetime import date, timedelta

import duckdb
import pytest
from dagster import DagsterInstance

from orchestration.assets.dbt import WHOLE_PARSE_LOGGED
from orchestration.definitions import NIGHTLY_ASSETS
from orchestration.jobs import landing_days

from .conftest import SMALL, materialize_nightly

STAMP = "1999-12-31 23:59:59"

INCREMENTAL = [
    "staging.stg_declaration_items",
    "intermediate.int_declaration_items",
    "intermediate.int_item_tax_rates",
    "intermediate.int_unit_value_references",
    "intermediate.int_declaration_signals",
    "intermediate.int_national_trade_monthly",
    "marts.declaration_risk",
    "marts.clearance_times",
]


def _refresh(landing, var, first: date, last: date) -> list[str]:
    """The nightly assets for the days `first` to `last`; the run's log messages."""
    instance = DagsterInstance.ephemeral()
    result = materialize_nightly(
        landing,
        var,
        SMALL.end.isoformat(),
        days=(first, last),
        assets=NIGHTLY_ASSETS,
        env={"CUSTOMS_PSEUDONYMISATION_KEY": "the-same-key-for-both-builds"},
        instance=instance,
    )
    assert result.success
    return [entry.user_message for entry in instance.all_logs(result.run_id)]


def _stamp_staged_rows(db, stamp: str) -> None:
    """Mark every staged item (its `loaded_at`, which no comparison reads) so that a later run shows
    which rows it rebuilt: a rebuilt row carries its load time again, an untouched one keeps the mark."""
    with duckdb.connect(str(db)) as con:
        con.execute(f"UPDATE staging.stg_declaration_items SET loaded_at = TIMESTAMP '{stamp}'")


def _stamped_days(db, stamp: str) -> tuple[date, date]:
    """(last day still marked, first day rebuilt) of the staged items."""
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(f"""
            SELECT max(lodged_date) FILTER (WHERE loaded_at = TIMESTAMP '{stamp}'),
                   min(lodged_date) FILTER (WHERE loaded_at <> TIMESTAMP '{stamp}')
            FROM staging.stg_declaration_items""").fetchall()[0]


def _tables(db) -> list[str]:
    con = duckdb.connect(str(db), read_only=True)
    names = [
        f"{s}.{t}"
        for s, t in con.execute("""
        SELECT table_schema, table_name FROM information_schema.tables
        WHERE table_schema IN ('staging', 'intermediate', 'marts') AND table_name <> 'data_quality_results'""").fetchall()
    ]
    con.close()
    return sorted(names)


@pytest.fixture(scope="module")
def builds(small_demo_master, tmp_path_factory):
    source = small_demo_master[0]
    first, last = landing_days(source)
    root = tmp_path_factory.mktemp("incremental")
    full_landing, inc_landing = root / "full" / "landing", root / "inc" / "landing"
    shutil.copytree(source, full_landing)
    shutil.copytree(source, inc_landing)
    held_back = [p for p in inc_landing.rglob("items_*") if date.fromisoformat(p.stem[-10:]) > last - timedelta(days=2)]
    stash = root / "held_back"
    stash.mkdir()
    for p in held_back:
        shutil.move(p, stash / p.name)
    # a re-delivery of an early day: one item's value corrected, one item withdrawn
    early = sorted(inc_landing.rglob("items_2021-03-1*.csv"))[0]
    rows = list(csv.DictReader(early.open()))
    rows[0]["customs_value_omr"] = str(round(float(rows[0]["customs_value_omr"]) * 0.4, 3))
    corrected = [rows[0], *rows[2:]]

    inc_var = root / "inc" / "var"
    first_night = _refresh(inc_landing, inc_var, first, last - timedelta(days=2))
    for p in held_back:  # the nightly run of the last two days
        shutil.move(stash / p.name, p)
    _stamp_staged_rows(inc_var / "warehouse.duckdb", STAMP)
    next_night = _refresh(inc_landing, inc_var, last - timedelta(days=1), last)
    nightly = _stamped_days(inc_var / "warehouse.duckdb", STAMP)
    with open(early, "w", newline="") as fh:  # then the clearance system re-delivers the early day
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(corrected)
    _stamp_staged_rows(inc_var / "warehouse.duckdb", STAMP)
    _refresh(inc_landing, inc_var, date.fromisoformat(early.stem[-10:]), date.fromisoformat(early.stem[-10:]))
    redelivery = _stamped_days(inc_var / "warehouse.duckdb", STAMP)

    shutil.copy(early, full_landing / early.relative_to(inc_landing))
    full_var = root / "full" / "var"
    _refresh(full_landing, full_var, first, last)
    return {
        "full": full_var / "warehouse.duckdb",
        "inc": inc_var / "warehouse.duckdb",
        "nightly": nightly,
        "redelivery": redelivery,
        "early": early.stem[-10:],
        "last": last,
        "whole_parses": [[m for m in night if m.startswith(WHOLE_PARSE_LOGGED)] for night in (first_night, next_night)],
    }


def test_incremental_refreshes_give_the_marts_of_a_full_rebuild(builds):
    tables = _tables(builds["full"])
    assert tables == _tables(builds["inc"]) and "marts.declaration_risk" in tables
    con = duckdb.connect()
    con.execute(f"ATTACH '{builds['full']}' AS full_build (READ_ONLY)")
    con.execute(f"ATTACH '{builds['inc']}' AS incremental (READ_ONLY)")
    different = {}
    for table in tables:
        schema, name = table.split(".")
        columns = [
            c
            for (c,) in con.execute(
                """SELECT column_name FROM information_schema.columns WHERE table_catalog = 'full_build'
                                                AND table_schema = ? AND table_name = ? ORDER BY ordinal_position""",
                [schema, name],
            ).fetchall()
        ]
        kept = ", ".join(
            f'"{c}"' for c in columns if c != "loaded_at"
        )  # when a row was loaded differs, nothing else may
        a, b = f"(SELECT {kept} FROM full_build.{table})", f"(SELECT {kept} FROM incremental.{table})"
        n = con.execute(
            f"SELECT (SELECT count(*) FROM (SELECT * FROM {a} EXCEPT ALL SELECT * FROM {b})) + "
            f"(SELECT count(*) FROM (SELECT * FROM {b} EXCEPT ALL SELECT * FROM {a}))"
        ).fetchall()[0][0]
        if n:
            different[table] = n
    rows = con.execute("SELECT count(*) FROM incremental.marts.declaration_risk").fetchall()[0][0]
    assert different == {} and rows == SMALL.items - 1  # one item withdrawn


def test_incremental_models_rebuild_only_from_the_earliest_changed_day(builds):
    # the nightly run of the last two days rebuilt from the first of them, no earlier row
    still_marked, first_rebuilt = builds["nightly"]
    assert still_marked < first_rebuilt == builds["last"] - timedelta(days=1)
    # the re-delivery of an early day rebuilt from that day on, and nothing before it
    still_marked, first_rebuilt = builds["redelivery"]
    assert still_marked < first_rebuilt == date.fromisoformat(builds["early"])


def test_dbt_parses_the_whole_project_once_per_warehouse_not_every_night(builds):
    """Each invocation starts from the parse the warehouse's last one left, and what changes from night
    to night (the window) is no var: only the first dbt step of a new warehouse parses everything."""
    first_night, next_night = builds["whole_parses"]
    assert len(first_night) == 1, first_night
    assert next_night == []
