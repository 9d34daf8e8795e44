"""The counterfeit risks and network alerts as people see them: the findings report's sections and the
marts' metadata in the Dagster UI, with the demo's planted counterfeits and phoenix visible, and a
sentence instead of a table when a mart is empty."""

from __future__ import annotations

import json

import duckdb
import pytest
from dagster import AssetKey

from orchestration.reports import findings

from .test_reports import PNG, _chart_png, _latest_metadata, parse_report

EMPTY_COPIES = ("marts.ipr_risk", "marts.network_alerts", "marts.party_networks", "intermediate.int_party_links")


def _truth(built) -> dict:
    return json.loads((built["landing"] / "_demo_truth" / "intelligence.json").read_text())


def _trader_keys(built, trader_ids: list[str]) -> list[str]:
    restricted = built["db"].parent / "restricted" / "restricted.duckdb"
    con = duckdb.connect(str(restricted), read_only=True)
    try:
        found = dict(
            con.execute(
                "SELECT party_id, party_key FROM party_keys WHERE party_type = 'trader' AND list_contains(?, party_id)",
                [trader_ids],
            ).fetchall()
        )
    finally:
        con.close()
    return [found[t] for t in trader_ids]


@pytest.fixture(scope="module")
def report(built_warehouse):
    page = (built_warehouse["db"].parent / "reports" / "findings.html").read_text(encoding="utf-8")
    return page, parse_report(page)


def test_the_report_lists_the_planted_counterfeits_with_the_right_holder_to_notify(built_warehouse, report):
    page, parsed = report
    planted = [c["declaration_id"] for c in _truth(built_warehouse)["counterfeit"]]
    con = duckdb.connect(str(built_warehouse["db"]), read_only=True)
    top = con.execute(
        "SELECT rank, declaration_ref, trader_key, right_holder_contact, list_contains(?, declaration_id) "
        "FROM marts.ipr_risk ORDER BY rank LIMIT 10",
        [planted],
    ).fetchall()
    con.close()
    rows = parsed.tables["ipr-risks"]
    assert rows[0] == findings.IPR_HEADERS
    assert [(int(r[0]), r[2], r[3], r[6]) for r in rows[1:]] == [t[:4] for t in top]
    assert sum(t[4] for t in top) >= 5, "the planted counterfeits lead the list"
    assert all(f"<b>{name}</b>" in page for name, _ in findings.IPR_SIGNALS), "every signal explained"
    assert 'data-count="items with 3 or more signals"' in page


def test_the_report_shows_the_planted_phoenix_and_explains_every_alert_type(built_warehouse, report):
    page, parsed = report
    phoenix = _truth(built_warehouse)["phoenix"]
    before, after = _trader_keys(built_warehouse, [phoenix["predecessor_trader_id"], phoenix["successor_trader_id"]])
    rows = parsed.tables["network-alerts"]
    assert rows[0] == findings.ALERT_HEADERS
    assert any(r[1] == "phoenix" and before in r[6] and after in r[6] for r in rows[1:]), rows
    assert [int(r[0]) for r in rows[1:]] == list(range(1, len(rows)))
    assert all(f"<b>{name.replace('_', ' ')}</b>" in page for name, _ in findings.ALERT_TYPES)
    assert parsed.images == 4, "the three charts and the network picture"


def test_the_network_picture_and_the_marts_metadata_in_the_ui(built_warehouse):
    metadata = _latest_metadata(built_warehouse["result"])
    con = duckdb.connect(str(built_warehouse["db"]), read_only=True)
    alerts = metadata[AssetKey(["marts", "network_alerts"])]
    top_alert = con.execute("SELECT alert_type, evidence FROM marts.network_alerts WHERE rank = 1").fetchall()[0]
    assert f"| 1 | {top_alert[0]} |" in alerts["top_findings"].value
    png = _chart_png(alerts["chart"].value)
    assert png.startswith(PNG) and len(png) > 20_000, "a drawn network, not an empty canvas"

    ipr = metadata[AssetKey(["marts", "ipr_risk"])]
    first = con.execute("SELECT trader_key, ipr_score FROM marts.ipr_risk WHERE rank = 1").fetchall()[0]
    assert f"| {first[0]} |" in ipr["top_findings"].value.splitlines()[2]
    touching = con.execute("SELECT count(*) FROM marts.ipr_risk").fetchall()[0][0]
    assert f"| items touching a right | {touching:,} |" in ipr["counts"].value

    communities = metadata[AssetKey(["marts", "party_networks"])]["top_findings"].value
    largest = con.execute(
        "SELECT community_id FROM marts.party_networks WHERE community_id IS NOT NULL "
        "GROUP BY 1 ORDER BY max(community_size) DESC, 1 LIMIT 1"
    ).fetchall()[0][0]
    assert communities.splitlines()[2].startswith(f"| {largest} |")
    con.close()


def test_empty_marts_say_why_in_words(built_warehouse, tmp_path):
    """The marts as a warehouse without a register or any alert holds them: the same tables, no rows."""
    con = duckdb.connect(str(tmp_path / "empty.duckdb"))
    con.execute(f"ATTACH '{built_warehouse['db']}' AS built (READ_ONLY)")
    for table in (*EMPTY_COPIES, "raw.ipr_recordations"):
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {table.split('.')[0]}")
        con.execute(f"CREATE TABLE {table} AS SELECT * FROM built.{table} LIMIT 0")

    assert findings.ipr_section(con) == f'<p class="note" id="ipr-empty">{findings.NO_REGISTER}</p>'
    assert findings.mart_insights(con, "ipr_risk")["top_findings"] == findings.NO_REGISTER
    assert findings.network_section(con) == f'<p class="note" id="network-empty">{findings.NO_ALERTS}</p>'
    assert findings.mart_insights(con, "network_alerts") == {"top_findings": findings.NO_ALERTS}, "no empty picture"
    assert findings.network_chart(con) is None
    assert findings.mart_insights(con, "party_networks") == {"top_findings": findings.NO_COMMUNITIES}

    con.execute("INSERT INTO raw.ipr_recordations SELECT * FROM built.raw.ipr_recordations")
    recorded = con.execute("SELECT count(*) FROM raw.ipr_recordations").fetchall()[0][0]
    assert recorded > 0
    assert f"touches one of the {recorded:,} recorded rights" in findings.ipr_section(con)
    con.close()
