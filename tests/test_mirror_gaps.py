"""The mirror_gaps mart on the demo: complete, reconciled with both sides, and every planted mirror
anomaly flagged, ranked at the top and recovered within 1% of its planted amount."""

from __future__ import annotations

import json

import duckdb
import pytest


@pytest.fixture(scope="module")
def con(built_warehouse):
    connection = duckdb.connect(str(built_warehouse["db"]), read_only=True)
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def planted(built_warehouse):
    truth = json.loads((built_warehouse["landing"] / "_demo_truth" / "anomalies.json").read_text())
    return truth["planted"]["mirror_excess"]


def test_every_planted_mirror_anomaly_is_flagged_ranked_and_recovered(con, planted):
    assert len(planted) == 4
    for p in planted:
        rows = con.execute(
            """
            SELECT gap_usd, is_flagged, flag_rank, flag_reasons FROM marts.mirror_gaps
            WHERE year = ? AND flow = 'M' AND partner_iso3 = ? AND hs6 = ?""",
            [p["year"], p["partner_iso3"], p["hs6"]],
        ).fetchall()
        assert len(rows) == 1, p
        gap, flagged, rank, reasons = rows[0]
        assert flagged and "mirror_exceeds_national" in reasons, p
        assert rank <= len(planted) + 2, (p, rank)
        assert float(gap) == pytest.approx(p["expected_gap_usd"], rel=0.01), p


def test_a_row_for_every_cell_either_side_reports(con):
    national_cells, mirror_cells, union_cells, mart_rows = con.execute("""
        SELECT (SELECT count(*) FROM intermediate.int_national_trade_annual),
               (SELECT count(*) FROM intermediate.int_mirror_trade_annual),
               (SELECT count(*) FROM (SELECT year, flow, partner_iso3, hs6 FROM intermediate.int_national_trade_annual
                                      UNION SELECT year, flow, partner_iso3, hs6 FROM intermediate.int_mirror_trade_annual)),
               (SELECT count(*) FROM marts.mirror_gaps)""").fetchall()[0]
    assert mart_rows == union_cells >= max(national_cells, mirror_cells) > 0


def test_both_sides_reconcile_with_their_inputs(con):
    national, mart_national = con.execute("""
        SELECT (SELECT sum(customs_value_usd) FROM intermediate.int_declaration_items),
               (SELECT sum(national_value_usd) FROM marts.mirror_gaps)""").fetchall()[0]
    assert float(mart_national) == pytest.approx(float(national), rel=1e-9)
    mirror, reexports, mart_mirror, mart_reexports = con.execute("""
        SELECT (SELECT sum(primary_value_usd) FROM staging.stg_partner_trade WHERE partner_code = 512 AND flow_code IN ('X', 'M')),
               (SELECT sum(primary_value_usd) FROM staging.stg_partner_trade WHERE partner_code = 512 AND flow_code = 'RX'),
               (SELECT sum(mirror_value_usd) FROM marts.mirror_gaps),
               (SELECT sum(mirror_reexport_value_usd) FROM marts.mirror_gaps)""").fetchall()[0]
    assert float(mart_mirror) == pytest.approx(float(mirror), rel=1e-9)
    assert float(mart_reexports) == pytest.approx(float(reexports), rel=1e-9) and reexports > 0


def test_flags_explain_themselves(con):
    flagged_without_reason, unflagged_with_reason = con.execute("""
        SELECT count(*) FILTER (WHERE is_flagged AND flag_reasons IS NULL),
               count(*) FILTER (WHERE NOT is_flagged AND flag_reasons IS NOT NULL)
        FROM marts.mirror_gaps""").fetchall()[0]
    assert flagged_without_reason == unflagged_with_reason == 0
    small = con.execute("SELECT count(*) FROM marts.mirror_gaps WHERE is_flagged AND abs(gap_usd) < 250000").fetchall()[
        0
    ][0]
    assert small == 0
