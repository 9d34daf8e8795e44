"""The built-in reference tables (`orchestration.reference`) load through their contracts and agree with
the real public files in ../shared/data, and the real files load through the reference contracts."""

from __future__ import annotations

import csv
import shutil

import duckdb

from orchestration import reference
from orchestration.demo import catalog
from orchestration.ingest import contracts
from orchestration.ingest.loader import load_files
from orchestration.ingest.readers import scan, table_stem
from orchestration.rules import omr_per_usd, rule
from tests.conftest import materialize_nightly, run_dbt


def _defaults(folder):
    reference.write_defaults(folder)
    return folder


def test_the_built_in_reference_tables_load_through_the_contracts_with_nothing_quarantined(tmp_path):
    _defaults(tmp_path / "landing" / "reference")
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    for contract in contracts.REFERENCE_CONTRACTS:  # in the order the raw assets load them
        files = [f for f in scan(tmp_path / "landing", "reference") if table_stem(f.path) == contract.table]
        report = load_files(con, contract, files)
        assert report.reconciles and not report.rejected and not report.unchecked_references, contract.table
        empty = contract is contracts.IPR_RECORDATIONS  # no rights are recorded by default
        assert (report.loaded == 0) == empty and report.quarantined == 0, (contract.table, report.quarantined)
    countries, gcc = con.execute("SELECT count(*), count(*) FILTER (WHERE is_gcc) FROM raw.countries").fetchall()[0]
    assert (countries, gcc) == (29, 6)
    default = con.execute(
        "SELECT CAST(margin AS DOUBLE) FROM raw.cif_fob_margins WHERE coalesce(partner_iso3, '') = '' AND coalesce(hs_chapter, '') = ''"
    ).fetchall()
    assert default == [(rule("mirror.default_cif_fob_margin"),)]
    usd = con.execute("SELECT CAST(units_per_omr AS DOUBLE) FROM raw.exchange_rates WHERE currency = 'USD'").fetchall()
    assert usd == [(round(1 / omr_per_usd(), 4),)]


def test_the_default_margin_and_the_pegged_rates_are_written_from_the_rules(tmp_path, monkeypatch):
    monkeypatch.setattr(reference, "rule", {"mirror.default_cif_fob_margin": 1.1}.__getitem__)
    monkeypatch.setattr(reference, "omr_per_usd", lambda: 0.4)
    reference.cif_fob_margins.cache_clear()
    reference.pegged_rates.cache_clear()
    try:
        _defaults(tmp_path)
    finally:
        reference.cif_fob_margins.cache_clear()
        reference.pegged_rates.cache_clear()
    with open(tmp_path / "cif_fob_margins.csv", newline="") as fh:
        margins = list(csv.DictReader(fh))
    with open(tmp_path / "exchange_rates.csv", newline="") as fh:
        rates = {r["currency"]: r["units_per_omr"] for r in csv.DictReader(fh)}
    assert margins[0] == {"partner_iso3": "", "hs_chapter": "", "margin": "1.1", "note": "Default CIF/FOB ratio"}
    assert [m["margin"] for m in margins].count("1.1") == 1
    assert rates["USD"] == "2.5" and rates["SAR"] == "9.375"


def test_every_built_in_hs_code_exists_in_hs_2022_at_its_level(shared_data):
    with open(shared_data / "hs-nomenclature" / "harmonized-system.csv", newline="") as fh:
        real = {row["hscode"]: row for row in csv.DictReader(fh)}
    for code in reference.hs_nomenclature():
        assert code.hscode in real and int(real[code.hscode]["level"]) == code.level, code.hscode
        assert real[code.hscode]["section"] == code.section and real[code.hscode]["parent"] == code.parent
    built_in = {c.hscode for c in reference.hs_nomenclature() if c.level == 6}
    assert {p.hs6 for p in catalog.PRODUCTS} <= built_in


def test_demo_concordance_pairs_are_real_hs2022_to_2017_pairs(shared_data):
    with open(shared_data / "hs-concordance" / "HS_consolidated_comtrade_concordances.csv", newline="") as fh:
        real = {(r["code.after"], r["code.before"]) for r in csv.DictReader(fh) if r["adjustment"] == "2022 to 2017"}
    demo = {(a.lstrip("0"), b.lstrip("0")) for a, b in reference.hs_concordance()}
    assert demo <= real
    # and nothing is missing: every real HS 2017 source of a demo code is in the demo concordance
    demo_after = {a for a, _ in demo}
    assert {p for p in real if p[0] in demo_after} == demo


def test_demo_countries_match_iso_and_m49(shared_data):
    with open(shared_data / "country-codes" / "country-codes.csv", newline="") as fh:
        real = {r["ISO3166-1-Alpha-2"]: r for r in csv.DictReader(fh)}
    for c in reference.countries():
        assert real[c.iso2]["ISO3166-1-Alpha-3"] == c.iso3
        assert int(real[c.iso2]["M49"]) == c.m49


def test_real_nomenclature_and_concordance_load_through_the_contracts(shared_data, tmp_path):
    ref_dir = tmp_path / "landing" / "reference"
    _defaults(ref_dir)
    shutil.copy(shared_data / "hs-nomenclature" / "harmonized-system.csv", ref_dir / "hs_nomenclature.csv")
    shutil.copy(
        shared_data / "hs-concordance" / "HS_consolidated_comtrade_concordances.csv", ref_dir / "hs_concordance.csv"
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
    ref_dir = tmp_path / "landing" / "reference"
    _defaults(ref_dir)
    shutil.copy(
        shared_data / "hs-concordance" / "HS_consolidated_comtrade_concordances.csv", ref_dir / "hs_concordance.csv"
    )
    db = tmp_path / "w.duckdb"
    con = duckdb.connect(str(db))
    files = [f for f in scan(tmp_path / "landing", "reference") if f.path.stem == "hs_concordance"]
    assert load_files(con, contracts.HS_CONCORDANCE, files).reconciles
    con.close()
    run = run_dbt(
        "build",
        "--select",
        "stg_hs_concordance",
        "int_hs6_concordance_edges",
        "int_hs6_concordance_groups",
        warehouse=db,
        target=tmp_path / "target",
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
    ref_dir = landing / "reference"
    shutil.copy(shared_data / "hs-nomenclature" / "harmonized-system.csv", ref_dir / "hs_nomenclature.csv")
    shutil.copy(
        shared_data / "hs-concordance" / "HS_consolidated_comtrade_concordances.csv", ref_dir / "hs_concordance.csv"
    )
    shutil.copy(shared_data / "country-codes" / "country-codes.csv", ref_dir / "countries.csv")  # its own layout
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
