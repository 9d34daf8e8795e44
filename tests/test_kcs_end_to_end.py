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
    trained = materialize_nightly(landing, root / "var", retrain=True)
    assert trained.success
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


def test_the_warehouse_ranking_learns_from_outcomes_out_of_time(kcs_warehouse):
    """The pipeline's own walk-forward evaluation (marts.risk_model_performance, months pooled): the
    combined risk_score puts more than 90% frauds in its top 1%, beats the LightGBM of the paper that
    published the data at 5% and 10% (0.762, 0.641), and at least matches a plain notebook-style
    LightGBM on the same split (benchmarks/kcs_baseline.py). Items whose (HS6, net mass) pair no
    earlier month had are reported beside them: most of the synthetic data's signal is memorisation."""
    from benchmarks.kcs_baseline import evaluate

    _, db, shared_data = kcs_warehouse
    con = duckdb.connect(str(db), read_only=True)
    rows = con.execute("""
        SELECT item_group, selection, inspection_rate, precision, auc, items_inspected
        FROM marts.risk_model_performance
        WHERE scope = 'all_months' AND model_version = (
            SELECT model_version FROM models.risk_model_versions WHERE status = 'champion')""").fetchall()
    con.close()
    figures = {(g, s, r): (p, auc, n) for g, s, r, p, auc, n in rows}
    for (group, selection, rate), (p, auc, n) in sorted(figures.items()):
        print(f"KCS {group:<18} {selection:<9} top {rate:.0%}: precision {p:.3f}, AUC {auc:.3f} ({n} items)")
    baseline = evaluate(shared_data / "kcs-synthetic-declarations")["lightgbm"]
    print("plain LightGBM baseline:", {k: round(v, 3) for k, v in baseline.items() if "precision" in k})
    combined = {r: figures[("all", "combined", r)][0] for r in (0.01, 0.05, 0.1)}
    assert combined[0.01] >= 0.90 and combined[0.05] > 0.762 and combined[0.1] > 0.641, combined
    assert combined[0.01] >= baseline["precision_at_0.01"] - 0.005, (combined, baseline)  # one item in 351
    assert figures[("all", "model", 0.05)][0] > figures[("all", "rules", 0.05)][0] > 0
    assert figures[("all", "random", 0.01)][0] == pytest.approx(0.216, abs=0.01)
    assert figures[("new_hs6_mass_pair", "combined", 0.01)][2] < figures[("all", "combined", 0.01)][2]


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


def test_the_party_network_is_built_on_sellers_and_declarants(kcs_warehouse):
    """Every importer, declarant and seller of the KCS extract is placed in a community; the note reports
    the largest communities and the share of frauds inside them against the rest."""
    _, db, _ = kcs_warehouse
    con = duckdb.connect(str(db), read_only=True)
    placed = dict(
        con.execute(
            "SELECT party_type, count(*) FROM marts.party_networks WHERE community_id IS NOT NULL GROUP BY 1"
        ).fetchall()
    )
    expected = con.execute("""SELECT count(DISTINCT trader_key), count(DISTINCT declarant_key),
        count(DISTINCT seller_key) FROM raw.declaration_items""").fetchone()
    largest = con.execute("""
        SELECT community_id, any_value(community_size), any_value(community_items), any_value(community_irregular_share)
        FROM marts.party_networks GROUP BY community_id ORDER BY 2 DESC, 1 LIMIT 5""").fetchall()
    inside, outside = con.execute("""
        WITH top AS (SELECT community_id FROM marts.party_networks GROUP BY 1 ORDER BY any_value(community_size) DESC,
                     1 LIMIT 5),
             items AS (
                SELECT i.inspection_outcome = 'discrepancy' AS fraud, p.community_id IN (SELECT * FROM top) AS in_top
                FROM intermediate.int_declaration_items AS i
                JOIN marts.party_networks AS p ON p.party_type = 'trader' AND p.party_key = i.trader_key)
        SELECT avg(fraud::INT) FILTER (WHERE in_top), avg(fraud::INT) FILTER (WHERE NOT in_top) FROM items""").fetchone()
    alerts = con.execute("SELECT alert_type, count(*) FROM marts.network_alerts GROUP BY 1 ORDER BY 1").fetchall()
    communities, components = con.execute(
        "SELECT count(DISTINCT community_id), count(DISTINCT component_id) FROM marts.party_networks"
    ).fetchone()
    con.close()
    print(
        f"KCS network: {communities} communities in {components} components; largest (nodes, items, fraud share):",
        [(size, items, round(share, 3)) for _, size, items, share in largest],
    )
    print(
        f"KCS fraud share of items: {inside:.3f} inside the 5 largest communities, {outside:.3f} outside; alerts {alerts}"
    )
    assert (placed["trader"], placed["declarant"], placed["seller"]) == expected
    assert largest[0][1] > largest[-1][1] > 2 and 0 < inside < 1 and 0 < outside < 1
