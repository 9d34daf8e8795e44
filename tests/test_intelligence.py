"""IP protection and party networks on the small demo: the planted counterfeits, the fraud ring, the
phoenix trader and the split consignments (`_demo_truth/intelligence.json`) are found at the top of
marts.ipr_risk and marts.network_alerts, and the intelligence marts carry keys only."""

from __future__ import annotations

import json

import duckdb
import pytest

TOP = 10


@pytest.fixture(scope="module")
def intelligence(built_warehouse):
    truth = json.loads((built_warehouse["landing"] / "_demo_truth" / "intelligence.json").read_text())
    store = built_warehouse["db"].parent / "restricted" / "restricted.duckdb"
    with duckdb.connect(str(store), read_only=True) as con:
        keys = dict(con.execute("SELECT party_type || ':' || party_id, party_key FROM party_keys").fetchall())
    con = duckdb.connect(str(built_warehouse["db"]), read_only=True)
    yield truth, keys, con
    con.close()


def _alerts(con, alert_type):
    return con.execute(
        "SELECT rank, party_keys FROM marts.network_alerts WHERE alert_type = ? ORDER BY rank", [alert_type]
    ).fetchall()


def test_every_planted_counterfeit_is_in_the_top_of_ipr_risk_and_genuine_imports_are_not(intelligence):
    truth, _, con = intelligence
    ranks = {
        (d, i): (r, rec)
        for d, i, r, rec in con.execute(
            "SELECT declaration_id, item_no, rank, recordation_id FROM marts.ipr_risk"
        ).fetchall()
    }
    planted = truth["counterfeit"]
    assert planted and all(ranks[(c["declaration_id"], c["item_no"])][0] <= TOP for c in planted)
    assert all(ranks[(c["declaration_id"], c["item_no"])][1] == c["recordation_id"] for c in planted)
    genuine = [ranks[(g["declaration_id"], g["item_no"])][0] for g in truth["legitimate_branded"]]
    assert genuine and min(genuine) > len(planted)  # named brands, cleared clean: below every counterfeit


def test_the_ring_and_the_phoenix_are_in_the_top_of_network_alerts(intelligence):
    truth, keys, con = intelligence
    ring = {keys[f"trader:{t}"] for t in truth["ring"]["trader_ids"]}
    linked = [(r, set(p.split(";"))) for r, p in _alerts(con, "linked_to_seizure")]
    assert any(
        r <= TOP and ring <= parties and keys[f"seller:{truth['ring']['seller_id']}"] in parties
        for r, parties in linked
    )
    phoenix = truth["phoenix"]
    pair = {keys[f"trader:{phoenix['predecessor_trader_id']}"], keys[f"trader:{phoenix['successor_trader_id']}"]}
    assert any(r <= TOP and pair <= set(p.split(";")) for r, p in _alerts(con, "phoenix"))
    split = truth["split_consignments"]
    fed = {keys[f"trader:{t}"] for t in split["trader_ids"]}
    assert any(r <= TOP and fed <= set(p.split(";")) for r, p in _alerts(con, "split_consignments"))
    assert any(r <= TOP and ring & set(p.split(";")) for r, p in _alerts(con, "community_shift"))


def test_the_intelligence_marts_hold_keys_and_no_clear_party_identifier(intelligence):
    _, keys, con = intelligence
    clear = {k.split(":", 1)[1] for k in keys}
    assert len(clear) > 50
    for table in ("ipr_risk", "party_networks", "network_alerts"):
        columns = [
            c
            for (c,) in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = 'marts' AND table_name = ? "
                "AND data_type = 'VARCHAR'",
                [table],
            ).fetchall()
        ]
        for column in columns:
            values = {v for (v,) in con.execute(f'SELECT DISTINCT "{column}" FROM marts.{table}').fetchall() if v}
            tokens = {t for v in values for t in v.replace(";", " ").replace(",", " ").split()}
            assert not (values | tokens) & clear, (table, column)


def test_every_party_has_a_community_and_its_figures(intelligence):
    _, _, con = intelligence
    parties, placed, traders = con.execute("""
        SELECT count(*), count(community_id), count(*) FILTER (WHERE party_type = 'trader')
        FROM marts.party_networks""").fetchone()
    (raw_traders,) = con.execute("SELECT count(DISTINCT trader_key) FROM raw.declaration_items").fetchone()
    assert parties == placed and traders == raw_traders
    (bad,) = con.execute("""SELECT count(*) FROM marts.party_networks
        WHERE community_irregular_share NOT BETWEEN 0 AND 1 OR community_size < 2""").fetchone()
    assert bad == 0
