"""A refresh of a few new or re-delivered days gives exactly the marts a full rebuild gives, while the
incremental models rebuild only from the earliest changed day."""

from __future__ import annotations

import csv
import shutil
from datetime import date, timedelta

import duckdb
import pytest
from dagster import DagsterInstance, materialize

from orchestration.assets.dbt import dbt_resource
from orchestration.definitions import NIGHTLY_ASSETS
from orchestration.jobs import landing_days, range_tags
from orchestration.resources import LandingAreaResource, WarehouseResource

from .conftest import SMALL

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


def _refresh(landing, var, first: date, last: date):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CUSTOMS_VAR_DIR", str(var))
        mp.setenv("CUSTOMS_DUCKDB_PATH", str(var / "warehouse.duckdb"))
        mp.setenv("CUSTOMS_AS_OF_DATE", SMALL.end.isoformat())
        mp.setenv("CUSTOMS_PSEUDONYMISATION_KEY", "the-same-key-for-both-builds")
        instance = DagsterInstance.ephemeral()
        result = materialize(
            NIGHTLY_ASSETS,
            instance=instance,
            tags=range_tags(first, last),
            resources={
                "warehouse": WarehouseResource(path=str(var / "warehouse.duckdb")),
                "landing": LandingAreaResource(path=str(landing)),
                "dbt": dbt_resource,
            },
        )
    assert result.success
    return "\n".join(e.user_message for e in instance.all_logs(result.run_id))


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
    _refresh(inc_landing, inc_var, first, last - timedelta(days=2))
    for p in held_back:  # the nightly run of the last two days
        shutil.move(stash / p.name, p)
    nightly = _refresh(inc_landing, inc_var, last - timedelta(days=1), last)
    with open(early, "w", newline="") as fh:  # then the clearance system re-delivers the early day
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(corrected)
    redelivery = _refresh(
        inc_landing, inc_var, date.fromisoformat(early.stem[-10:]), date.fromisoformat(early.stem[-10:])
    )

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
    assert f"incremental models rebuild from {builds['last'] - timedelta(days=1)}" in builds["nightly"]
    assert f"incremental models rebuild from {builds['early']}" in builds["redelivery"]
