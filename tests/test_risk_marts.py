"""Revenue at risk and risk targeting on the demo: every planted scheme is found near the top of its
mart, the money adds up between marts, and the slow office stands out."""

from __future__ import annotations

import json

import duckdb
import pytest


@pytest.fixture(scope="module")
def con(built_warehouse):
    connection = duckdb.connect(str(built_warehouse["db"]), read_only=True)
    truth = built_warehouse["landing"] / "_demo_truth" / "truth_items.csv"
    connection.execute(f"CREATE TEMP TABLE truth AS SELECT * FROM read_csv('{truth}', all_varchar = true)")
    store = built_warehouse["db"].parent / "restricted" / "restricted.duckdb"
    connection.execute(f"ATTACH '{store}' AS restricted (READ_ONLY)")
    # the intelligence plants (a ring, a phoenix, counterfeits seized ...) are risky traders of their own:
    # the schemes here are ranked among the other traders and items
    plants = json.loads((built_warehouse["landing"] / "_demo_truth" / "intelligence.json").read_text())
    traders = {*plants["ring"]["trader_ids"], *plants["split_consignments"]["trader_ids"]}
    traders |= {plants["phoenix"]["predecessor_trader_id"], plants["phoenix"]["successor_trader_id"]}
    connection.execute(
        """CREATE TEMP TABLE other_plants AS SELECT party_key AS trader_key FROM restricted.main.party_keys
           WHERE party_type = 'trader' AND list_contains(?, party_id)""",
        [sorted(traders)],
    )
    connection.execute(
        "CREATE TEMP TABLE counterfeits AS SELECT * FROM (VALUES "
        + ", ".join(f"('{c['declaration_id']}', {c['item_no']})" for c in plants["counterfeit"])
        + ") AS c (declaration_id, item_no)"
    )
    yield connection
    connection.close()


def test_every_planted_trader_ranks_at_the_top_of_the_trader_targets(con):
    ranks = con.execute("""
        WITH others AS (
            SELECT target_key, row_number() OVER (ORDER BY rank) AS rank, count(*) OVER () AS traders
            FROM marts.risk_targets WHERE target_type = 'trader' AND target_key NOT IN (SELECT * FROM other_plants))
        SELECT t.anomaly, t.true_hs6, min(rt.rank) AS rank, any_value(rt.traders) AS traders
        FROM truth t
        JOIN restricted.main.party_keys k ON k.party_type = 'trader' AND k.party_id = t.trader_id
        JOIN others rt ON rt.target_key = k.party_key
        GROUP BY 1, 2""").fetchall()
    assert len(ranks) == 11  # 6 under-valuation, 2 misclassification, 3 false-origin schemes
    traders = ranks[0][3]
    for anomaly, hs6, rank, _ in ranks:
        assert rank <= max(15, traders // 50), (anomaly, hs6, rank, traders)  # top 2%


def test_planted_items_carry_the_signal_of_their_scheme(con):
    found = dict(
        con.execute("""
        SELECT t.anomaly, avg(CASE WHEN
            CASE t.anomaly WHEN 'undervaluation' THEN r.signal_valuation
                           WHEN 'misclassification' THEN r.signal_misclassification
                           ELSE r.signal_origin END THEN 1 ELSE 0 END)
        FROM truth t JOIN marts.declaration_risk r ON r.declaration_id = t.declaration_id AND r.item_no = CAST(t.item_no AS INTEGER)
        WHERE r.reference_level <> 'none' OR t.anomaly = 'false_origin'
        GROUP BY 1""").fetchall()
    )
    assert found["false_origin"] == 1.0
    assert found["undervaluation"] >= 0.75 and found["misclassification"] >= 0.5, found

    def schemes_in_top(score: str, share: float) -> int:
        return con.execute(f"""
            SELECT count(DISTINCT t.trader_id || t.true_hs6) FROM truth t
            JOIN marts.declaration_risk r ON r.declaration_id = t.declaration_id AND r.item_no = CAST(t.item_no AS INTEGER)
            WHERE r.{score} >= (
                SELECT quantile_disc({score}, {1 - share}) FROM marts.declaration_risk AS d
                WHERE d.trader_key NOT IN (SELECT * FROM other_plants)
                    AND (d.declaration_id, d.item_no) NOT IN (SELECT (declaration_id, item_no) FROM counterfeits))
            """).fetchall()[0][0]

    # every scheme has items in the top 3% of the rules' score, and in the top 4% of the combined risk_score
    # (the model ranks the weakest, a misclassification of 711319, at 3.3% on this demo)
    assert schemes_in_top("rules_score", 0.03) == 11
    assert schemes_in_top("risk_score", 0.04) == 11


def test_item_money_adds_up(con):
    bad = con.execute("""
        SELECT count(*) FROM marts.declaration_risk
        WHERE total_at_risk_omr <> duty_at_risk_omr + vat_at_risk_omr
           OR valuation_vat_at_risk_omr <> round((undervaluation_omr + valuation_duty_at_risk_omr) * vat_rate, 3)
           OR ((signal_valuation OR signal_misclassification OR signal_origin OR signal_origin_mirror
                OR signal_assessment) AND rules_score < 30)
           OR rules_score > 100 OR rules_score < 0 OR risk_score > 100 OR risk_score < 0
           OR (fraud_probability IS NULL AND risk_score <> rules_score)
           OR (fraud_probability IS NOT NULL AND risk_score < 100 * fraud_probability - 0.005)
           OR (flow = 'X' AND total_at_risk_omr > 0)""").fetchall()[0][0]
    assert bad == 0


def test_revenue_at_risk_reconciles_with_declaration_risk_and_mirror_gaps(con):
    by_method = dict(
        con.execute("SELECT method, sum(total_at_risk_omr) FROM marts.revenue_at_risk GROUP BY 1").fetchall()
    )
    # the demo declares its duty and VAT as the tariff gives them: the assessment finds nothing (no false
    # positives from rounding); its method is proven by the dbt unit tests
    assert set(by_method) - {"assessment"} == {"valuation", "mirror", "misclassification", "origin"}
    valuation, misclassification, origin = con.execute("""
        SELECT sum(valuation_duty_at_risk_omr + valuation_vat_at_risk_omr) FILTER (WHERE flow = 'M'),
               sum(misclassification_duty_at_risk_omr + misclassification_vat_at_risk_omr) FILTER (WHERE flow = 'M'),
               sum(origin_duty_at_risk_omr + origin_vat_at_risk_omr) FILTER (WHERE flow = 'M')
        FROM marts.declaration_risk""").fetchall()[0]
    assert by_method["valuation"] == valuation and by_method["misclassification"] == misclassification
    assert by_method["origin"] == origin
    assessment = con.execute(
        "SELECT sum(assessment_duty_omr + assessment_vat_omr) FROM marts.declaration_risk WHERE flow = 'M'"
    ).fetchall()[0][0]
    assert by_method.get("assessment", 0) == (assessment or 0) == 0
    gap_omr, spread_omr = con.execute("""
        SELECT (SELECT -sum(gap_usd) * 0.3845 FROM marts.mirror_gaps WHERE flow = 'M' AND is_flagged AND gap_usd < 0),
               (SELECT sum(value_gap_omr) FROM marts.revenue_at_risk WHERE method = 'mirror')""").fetchall()[0]
    assert float(spread_omr) == pytest.approx(float(gap_omr), abs=0.001 * 120)  # a baisa per month-row of rounding


def test_every_false_origin_item_is_signalled_and_its_duty_counted_under_origin(con):
    items, signalled, duty, counted = con.execute("""
        SELECT count(*), count(*) FILTER (WHERE r.signal_origin), sum(r.origin_duty_at_risk_omr),
               (SELECT sum(duty_at_risk_omr) FROM marts.revenue_at_risk WHERE method = 'origin')
        FROM truth t JOIN marts.declaration_risk r ON r.declaration_id = t.declaration_id AND r.item_no = CAST(t.item_no AS INTEGER)
        WHERE t.anomaly = 'false_origin'""").fetchall()[0]
    assert items > 0 and signalled == items
    assert duty > 0 and counted >= duty  # every planted item's relieved duty is in the origin method


def test_history_alone_never_outranks_a_signalled_item(con):
    unsignalled_max, signalled_min, history_only = con.execute("""
        WITH r AS (SELECT *, signal_valuation OR signal_misclassification OR signal_origin OR signal_origin_mirror
                             OR signal_assessment AS has_signal FROM marts.declaration_risk)
        SELECT max(rules_score) FILTER (WHERE NOT has_signal), min(rules_score) FILTER (WHERE has_signal),
               count(*) FILTER (WHERE NOT has_signal AND (signal_trader_history OR signal_declarant_history))
        FROM r""").fetchall()[0]
    assert unsignalled_max < signalled_min, (unsignalled_max, signalled_min, history_only)


def test_the_slow_office_is_the_slowest_in_every_channel(con):
    slowest = con.execute("""
        SELECT risk_channel, arg_max(office_code, typical) FROM (
            SELECT risk_channel, office_code, median(median_hours) AS typical
            FROM marts.clearance_times WHERE released > 0 GROUP BY 1, 2)
        GROUP BY 1""").fetchall()
    assert slowest and all(office == "KHM-ROAD" for _, office in slowest), slowest
    unreleased, declarations = con.execute(
        "SELECT sum(not_released), sum(declarations) FROM marts.clearance_times"
    ).fetchall()[0]
    assert 0 < unreleased < declarations * 0.05


def test_every_false_origin_item_ranks_near_the_top_of_risk_score(con):
    """With the learned model in risk_score, the items of the planted false-origin schemes stay in the
    top quarter of all items, most of them in the top tenth: the rules' weight learned from the demo's
    outcomes keeps a signal the inspections bear out."""
    lowest, median = con.execute("""
        WITH ranked AS (SELECT *, percent_rank() OVER (ORDER BY risk_score) AS position FROM marts.declaration_risk)
        SELECT min(r.position), median(r.position) FROM truth t
        JOIN ranked r ON r.declaration_id = t.declaration_id AND r.item_no = CAST(t.item_no AS INTEGER)
        WHERE t.anomaly = 'false_origin'""").fetchone()
    assert lowest >= 0.75 and median >= 0.9, (lowest, median)
