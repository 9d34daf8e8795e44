"""The demo's hand-written reference facts agree with the real public files in ../shared/data, and the
real files load through the reference contracts."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess

import duckdb

from orchestration.assets.dbt import DBT_EXECUTABLE
from orchestration.demo import catalog
from orchestration.demo.generator import _concordance_rows, write_reference_tables
from orchestration.ingest import contracts
from orchestration.ingest.loader import load_files
from orchestration.ingest.readers import scan
from orchestration.settings import DBT_PROJECT_DIR
from tests.conftest import materialize_nightly


def test_every_demo_subheading_exists_in_hs_2022(shared_data):
    with open(shared_data / "hs-nomenclature" / "harmonized-system.csv", newline="") as fh:
        real = {row["hscode"]: row for row in csv.DictReader(fh)}
    for product in catalog.PRODUCTS:
        assert product.hs6 in real and real[product.hs6]["level"] == "6", product.hs6
    assert set(catalog.HS_HEADINGS) <= set(real) and set(catalog.HS_CHAPTERS) <= set(real)


def test_demo_concordance_pairs_are_real_hs2022_to_2017_pairs(shared_data):
    with open(shared_data / "hs-concordance" / "HS_consolidated_comtrade_concordances.csv", newline="") as fh:
        real = {(r["code.after"], r["code.before"]) for r in csv.DictReader(fh) if r["adjustment"] == "2022 to 2017"}
    demo = {(r["code.after"], r["code.before"]) for r in _concordance_rows()}
    assert demo <= real
    # and nothing is missing: every real HS 2017 source of a demo code is in the demo concordance
    demo_after = {a for a, _ in demo}
    assert {p for p in real if p[0] in demo_after} == demo


def test_demo_countries_match_iso_and_m49(shared_data):
    with open(shared_data / "country-codes" / "country-codes.csv", newline="") as fh:
        real = {r["ISO3166-1-Alpha-2"]: r for r in csv.DictReader(fh)}
    for c in catalog.COUNTRIES:
        assert real[c.iso2]["ISO3166-1-Alpha-3"] == c.iso3
        assert int(real[c.iso2]["M49"]) == c.m49


def test_real_nomenclature_and_concordance_load_through_the_contracts(shared_data, tmp_path):
    reference = tmp_path / "landing" / "reference"
    write_reference_tables(reference)
    shutil.copy(shared_data / "hs-nomenclature" / "harmonized-system.csv", reference / "hs_nomenclature.csv")
    shutil.copy(
        shared_data / "hs-concordance" / "HS_consolidated_comtrade_concordances.csv", reference / "hs_concordance.csv"
    )
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    for contract in (contracts.HS_NOMENCLATURE, contracts.HS_CONCORDANCE):
        files = [f for f in scan(tmp_path / "landing", "reference") if f.path.stem == contract.table]
        report = load_files(con, contract, files)
        assert report.reconciles and not report.rejected
        assert report.loaded > 5_000 and report.quarantined < report.loaded * 0.01, (contract.table, report.quarantined)


def test_concordance_groups_on_the_real_hs2022_concordance_stay_small_and_converge(shared_data, tmp_path):
    """Collector codes such as 8549 (e-waste, fed by over 1,000 HS 2017 codes) must not glue chapters
    84, 85 and 90 into one giant group; the SQL model runs on the real file."""
    reference = tmp_path / "landing" / "reference"
    write_reference_tables(reference)
    shutil.copy(
        shared_data / "hs-concordance" / "HS_consolidated_comtrade_concordances.csv", reference / "hs_concordance.csv"
    )
    db = tmp_path / "w.duckdb"
    con = duckdb.connect(str(db))
    files = [f for f in scan(tmp_path / "landing", "reference") if f.path.stem == "hs_concordance"]
    assert load_files(con, contracts.HS_CONCORDANCE, files).reconciles
    con.close()
    env = {**os.environ, "CUSTOMS_DUCKDB_PATH": str(db)}
    run = subprocess.run(
        [
            DBT_EXECUTABLE,
            "build",
            "--select",
            "stg_hs_concordance",
            "int_hs6_concordance_groups",
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(tmp_path / "target"),
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout[-3000:]
    con = duckdb.connect(str(db), read_only=True)
    largest, groups, not_converged = con.execute("""
        SELECT max(group_size), count(DISTINCT group_hs6) FILTER (WHERE group_size > 1), count(*) FILTER (WHERE NOT converged)
        FROM intermediate.int_hs6_concordance_groups WHERE hs_vintage = 'H5' AND side = 'national'""").fetchall()[0]
    phones = con.execute("""SELECT group_members FROM intermediate.int_hs6_concordance_groups
                            WHERE hs_vintage = 'H5' AND side = 'partner' AND hs6 = '851712'""").fetchall()
    con.close()
    assert not_converged == 0 and largest <= 25 and groups > 50
    assert phones and "851713" in phones[0][0] and "851714" in phones[0][0]


def test_the_real_reference_files_dropped_in_replace_the_defaults_and_every_join_holds(
    shared_data, small_demo_master, tmp_path
):
    landing = tmp_path / "landing"
    shutil.copytree(small_demo_master[0], landing)
    reference = landing / "reference"
    shutil.copy(shared_data / "hs-nomenclature" / "harmonized-system.csv", reference / "hs_nomenclature.csv")
    shutil.copy(
        shared_data / "hs-concordance" / "HS_consolidated_comtrade_concordances.csv", reference / "hs_concordance.csv"
    )
    shutil.copy(shared_data / "country-codes" / "country-codes.csv", reference / "countries.csv")  # its own layout
    db = tmp_path / "var" / "warehouse.duckdb"
    result = materialize_nightly(landing, tmp_path / "var", as_of="2021-07-01")
    assert result.success
    failed = [c.check_name for c in result.get_asset_check_evaluations() if not c.passed]
    assert failed == [], failed
    con = duckdb.connect(str(db), read_only=True)
    countries, lineage = con.execute("SELECT count(*), any_value(_source_file) FROM raw.countries").fetchall()[0]
    unresolved = con.execute("""
        SELECT count(*) FROM intermediate.int_declaration_items d
        LEFT JOIN staging.stg_hs_nomenclature n ON n.hs_code = d.hs6
        WHERE d.origin_iso3 IS NULL OR d.partner_iso3 IS NULL OR n.hs_code IS NULL""").fetchall()[0][0]
    oman = con.execute("SELECT is_gcc, comtrade_code FROM raw.countries WHERE iso3 = 'OMN'").fetchall()
    usa = con.execute("SELECT comtrade_code FROM raw.countries WHERE iso3 = 'USA'").fetchall()
    con.close()
    assert countries > 240 and lineage == "reference/countries.csv (mapped: country_codes)"
    assert unresolved == 0 and oman == [(True, 512)] and usa == [(842,)]
