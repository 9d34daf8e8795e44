"""The public KCS synthetic declarations, brought onto the contract by a YAML mapping, run through the
whole pipeline; precision of the top of declaration_risk is measured against the Fraud label."""

from __future__ import annotations

import shutil

import duckdb
import pytest

from orchestration.demo.generator import write_reference_tables
from orchestration.ingest.mapping import Mapping
from tests.conftest import materialize_nightly


@pytest.fixture(scope="module")
def kcs_warehouse(shared_data, tmp_path_factory):
    root = tmp_path_factory.mktemp("kcs")
    landing = root / "landing"
    Mapping.load("kcs_synthetic_declarations").apply(shared_data / "kcs-synthetic-declarations", landing)
    write_reference_tables(landing / "reference")
    Mapping.load("country_codes").apply(shared_data / "country-codes", landing)
    shutil.copy(
        shared_data / "hs-nomenclature" / "harmonized-system.csv", landing / "reference" / "hs_nomenclature.csv"
    )
    shutil.copy(
        shared_data / "hs-concordance" / "HS_consolidated_comtrade_concordances.csv",
        landing / "reference" / "hs_concordance.csv",
    )
    (landing / "reference" / "exchange_rates.csv").write_text(
        "rate_date,currency,units_per_omr\n2019-01-01,KRW,2990\n2019-01-01,USD,2.6008\n"
    )
    result = materialize_nightly(landing, root / "var")
    db = root / "var" / "warehouse.duckdb"
    return result, db, shared_data


def test_the_mapping_covers_every_declaration_and_the_pipeline_runs(kcs_warehouse):
    result, db, _ = kcs_warehouse
    assert result.success
    con = duckdb.connect(str(db), read_only=True)
    loaded, quarantined, risk = con.execute("""
        SELECT (SELECT count(*) FROM raw.declaration_items),
               (SELECT count(*) FROM raw.quarantine WHERE table_name = 'declaration_items'),
               (SELECT count(*) FROM marts.declaration_risk)""").fetchall()[0]
    con.close()
    assert loaded + quarantined == 45_519 and risk == loaded and quarantined < 100


def test_precision_of_the_top_percent_is_measured_against_the_fraud_label(kcs_warehouse):
    _, db, shared_data = kcs_warehouse
    files = [str(p) for p in sorted((shared_data / "kcs-synthetic-declarations").glob("df_syn_*_eng.csv"))]
    con = duckdb.connect(str(db), read_only=True)
    con.execute(f"""CREATE TEMP TABLE labels AS
        SELECT 'KCS' || "Declaration ID" AS declaration_id, "Fraud" AS fraud FROM read_csv({files})""")
    base, top, precision = con.execute("""
        WITH ranked AS (
            SELECT l.fraud, row_number() OVER (ORDER BY r.risk_score DESC, r.total_at_risk_omr DESC, r.declaration_id) AS position,
                   count(*) OVER () AS n
            FROM marts.declaration_risk r JOIN labels l USING (declaration_id))
        SELECT avg(fraud), count(*) FILTER (WHERE position <= n / 100), avg(fraud) FILTER (WHERE position <= n / 100)
        FROM ranked""").fetchall()[0]
    con.close()
    print(f"KCS: base rate {base:.3f}, precision of the top 1% ({top} items) {precision:.3f}")
    # the rules rank better than chance, if barely (0.220 against 0.216 here): the learned model of the
    # selectivity issue is what lifts this; a ranking that put frauds last would fail
    assert 0.2 < base < 0.23 and top >= 400 and precision >= base
