"""The demo generator: deterministic, contract-shaped, with the planted anomalies it documents."""

from __future__ import annotations

import hashlib
import json
from datetime import date

import duckdb
import numpy as np
import pytest

from orchestration.demo import catalog
from orchestration.demo.generator import (
    DECLARATION_COLUMNS,
    DemoConfig,
    cif_fob_margin,
    duty_rate_for,
    generate,
)
from orchestration.demo.tariff import vat_standard
from orchestration.rules import rule

pytestmark = pytest.mark.fast  # `make test-fast`: no dbt build, seconds


def _tree_digest(root) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def test_same_seed_gives_identical_files(tmp_path):
    config = DemoConfig(items=1_500, months=2)
    generate(tmp_path / "a", config)
    generate(tmp_path / "b", config)
    generate(tmp_path / "c", DemoConfig(items=1_500, months=2, seed=7))
    assert _tree_digest(tmp_path / "a") == _tree_digest(tmp_path / "b")
    assert _tree_digest(tmp_path / "a") != _tree_digest(tmp_path / "c")


@pytest.fixture(scope="module")
def items(small_demo_master):
    landing, _ = small_demo_master
    con = duckdb.connect()
    con.execute(f"""CREATE TABLE items AS
        SELECT * FROM read_csv('{landing}/declarations/*/*/*.csv', all_varchar = true)
        UNION ALL BY NAME
        SELECT * FROM read_parquet('{landing}/declarations/*/*/*.parquet')""")
    return con


def test_files_follow_the_contract_one_per_day_in_both_formats(small_demo_master):
    landing, summary = small_demo_master
    csvs = sorted((landing / "declarations").rglob("*.csv"))
    parquets = sorted((landing / "declarations").rglob("*.parquet"))
    assert csvs and parquets
    assert len(csvs) + len(parquets) == summary["declaration_files"] <= 181
    header = csvs[0].read_text().splitlines()[0].replace('"', "").split(",")
    assert header == DECLARATION_COLUMNS
    days = [p.stem.removeprefix("items_") for p in csvs + parquets]
    assert len(days) == len(set(days))


def test_item_count_and_key_are_exact(items, small_demo_master):
    _, summary = small_demo_master
    total, distinct = items.execute("SELECT count(*), count(DISTINCT (declaration_id, item_no)) FROM items").fetchall()[
        0
    ]
    assert total == distinct == summary["items"] == 8_000


def test_vat_only_from_its_start_date_and_gcc_origin_duty_free(items):
    vat_start = vat_standard()[0]
    before, after = items.execute(f"""
        SELECT sum(CAST(vat_omr AS DOUBLE)) FILTER (WHERE CAST(lodged_at AS DATE) < DATE '{vat_start}'),
               sum(CAST(vat_omr AS DOUBLE)) FILTER (WHERE CAST(lodged_at AS DATE) >= DATE '{vat_start}')
        FROM items WHERE flow = 'M'""").fetchall()[0]
    assert before == 0 and after > 0
    gcc_duty = items.execute("""
        SELECT sum(CAST(duty_omr AS DOUBLE)) FROM items WHERE preference_code = 'GCC'""").fetchall()[0][0]
    assert gcc_duty == 0
    # a standard 5% line: duty is 5% of the customs value, to the baisa (either rounding of a half)
    off = items.execute("""
        SELECT count(*) FROM items WHERE flow = 'M' AND substr(hs_code, 1, 6) = '870323'
          AND preference_code IS NULL AND procedure_code = '4000'
          AND abs(CAST(duty_omr AS DOUBLE) - CAST(customs_value_omr AS DOUBLE) * 0.05) > 0.000501
    """).fetchall()[0][0]
    assert off == 0


def test_ground_truth_lists_every_planted_scheme(small_demo_master):
    landing, summary = small_demo_master
    truth = json.loads((landing / "_demo_truth" / "anomalies.json").read_text())
    planted = truth["planted"]
    assert len(planted["undervaluation"]) == 6 and all(p["items"] > 0 for p in planted["undervaluation"])
    assert {p["declared_hs6"] for p in planted["misclassification"]} == {"851713", "711311"}
    assert all(p["items"] > 0 for p in planted["false_origin"] + planted["misclassification"])
    assert len(planted["mirror_excess"]) == 4
    assert planted["slow_office"]["office_code"] == catalog.SLOW_OFFICE
    rows = (landing / "_demo_truth" / "truth_items.csv").read_text().splitlines()
    assert len(rows) - 1 == sum(
        p["items"] for k in ("undervaluation", "misclassification", "false_origin") for p in planted[k]
    )


def test_false_origin_claims_are_gcc_origin_consigned_from_outside(items, small_demo_master):
    landing, _ = small_demo_master
    truth = landing / "_demo_truth" / "truth_items.csv"
    items.execute(f"CREATE OR REPLACE TABLE truth AS SELECT * FROM read_csv('{truth}', all_varchar = true)")
    rows = items.execute("""
        SELECT i.origin_country, i.partner_country, i.preference_code, i.duty_omr
        FROM items i JOIN truth t USING (declaration_id, item_no) WHERE t.anomaly = 'false_origin'""").fetchall()
    assert rows
    gcc = {"AE", "SA", "QA", "KW", "BH", "OM"}
    assert all(o in gcc and p not in gcc and pref == "GCC" and float(d) == 0 for o, p, pref, d in rows)


def test_partner_records_are_comtrade_bodies_with_h5_before_2022(small_demo_master):
    landing, _ = small_demo_master
    bodies = sorted((landing / "partner_trade" / "comtrade").glob("*.json"))
    assert bodies and list((landing / "partner_trade" / "comtrade").glob("*.csv"))
    body = json.loads(bodies[0].read_text())
    assert body["count"] == len(body["data"]) > 0
    record = body["data"][0]
    assert record["partnerCode"] == 512 and record["classificationCode"] == "H5"
    assert record["flowCode"] in {"X", "M", "RX"}


def test_tariff_and_margin_rules():
    rates = duty_rate_for(np.array(["220830", "240220", "851713", "851714", "030389", "100630"], dtype=object))
    assert list(rates) == [1.0, 1.0, 0.0, 0.05, 0.05, 0.0]
    margins = cif_fob_margin(
        np.array(["ARE", "CHN", "USA", "IND", "ARE"], dtype=object),
        np.array(["85", "85", "87", "27", "27"], dtype=object),
    )
    assert list(margins) == [1.02, rule("mirror.default_cif_fob_margin"), 1.08, 1.04, 1.04]


def test_default_period_is_24_months_from_january_2021():
    config = DemoConfig()
    assert (config.start, config.end, config.items) == (date(2021, 1, 1), date(2023, 1, 1), 200_000)


def test_every_import_item_names_a_seller_of_its_origin_deterministically(items, small_demo_master, tmp_path):
    landing, _ = small_demo_master
    missing, exports_with_seller, traders_per_seller = items.execute("""
        SELECT count(*) FILTER (WHERE flow = 'M' AND seller_id IS NULL),
               count(*) FILTER (WHERE flow = 'X' AND seller_id IS NOT NULL),
               (SELECT max(n) FROM (SELECT count(DISTINCT trader_id) AS n FROM items GROUP BY seller_id))
        FROM items""").fetchall()[0]
    assert missing == exports_with_seller == 0
    assert traders_per_seller >= 10  # popular sellers supply many traders
    truth = landing / "_demo_truth" / "truth_items.csv"
    wrong_country = items.execute(f"""
        SELECT count(*) FROM read_csv('{truth}', all_varchar = true) t
        WHERE t.seller_id IS NOT NULL AND split_part(t.seller_id, '-', 1) <> t.true_origin""").fetchall()[0][0]
    assert wrong_country == 0
    assert _sellers(tmp_path / "a", 968) == _sellers(tmp_path / "b", 968) != _sellers(tmp_path / "c", 7)


def _sellers(landing, seed: int) -> list:
    generate(landing, DemoConfig(items=1_500, months=2, seed=seed))
    return duckdb.sql(f"""SELECT seller_id FROM read_csv('{landing}/declarations/*/*/*.csv', all_varchar = true)
        ORDER BY declaration_id, CAST(item_no AS INTEGER)""").fetchall()


def _outcomes(items, landing) -> tuple[dict, list]:
    """Inspected declarations with their outcome and the entities they touch, as written."""
    truth = json.loads((landing / "_demo_truth" / "learnable.json").read_text())
    planted = landing / "_demo_truth" / "truth_items.csv"
    decls = items.execute(f"""
        SELECT declaration_id, any_value(inspection_outcome) AS outcome,
               list(DISTINCT trader_id) AS traders, list(DISTINCT seller_id) AS sellers,
               list(DISTINCT origin_country || '>' || partner_country) FILTER (WHERE flow = 'M') AS routes,
               list(DISTINCT substr(hs_code, 1, 6) || '|' || origin_country) FILTER (WHERE flow = 'M') AS cells,
               min(strftime(CAST(lodged_at AS TIMESTAMP), '%Y-%m')) AS month,
               bool_or(declaration_id IN (SELECT declaration_id FROM read_csv('{planted}', all_varchar = true)))
                   AS planted
        FROM items GROUP BY declaration_id HAVING any_value(inspection_outcome) IS NOT NULL""").fetchall()
    return truth, decls


def _keys(kind: str, entity: dict) -> str:
    return {
        "trader": lambda e: e["trader_id"],
        "seller": lambda e: e["seller_id"],
        "route": lambda e: f"{e['origin_country']}>{e['partner_country']}",
        "cell": lambda e: f"{e['hs6']}|{e['origin_country']}",
    }[kind](entity)


def test_learnable_truth_agrees_with_the_files_and_risky_entities_are_found_more_often(items, small_demo_master):
    landing, _ = small_demo_master
    truth, decls = _outcomes(items, landing)
    column = {"trader": 2, "seller": 3, "route": 4, "cell": 5}
    months = {d[6] for d in decls}
    on_any = set()
    for kind, entities in truth["risky"].items():
        assert 2 <= len(entities) <= 3, kind
        for entity in entities:
            key = _keys(kind, entity)
            on = [d for d in decls if key in (d[column[kind]] or []) and not d[7]]
            on_any |= {d[0] for d in on}
            hits = sum(d[1] in ("discrepancy", "seizure") for d in on)
            assert (entity["inspected"], entity["irregular"]) == (len(on), hits), (kind, entity)
            assert {d[6] for d in on} == months, (kind, key)  # inspected in every month
            assert 3 <= entity["multiplier"] <= 10
    realised = truth["realised"]

    def rate(sel):
        return sum(d[1] in ("discrepancy", "seizure") for d in sel), len(sel)

    assert rate(decls) == (realised["all"]["irregular"], realised["all"]["inspected"])
    assert rate([d for d in decls if d[7]]) == (realised["planted"]["irregular"], realised["planted"]["inspected"])
    on = rate([d for d in decls if d[0] in on_any])
    off = rate([d for d in decls if d[0] not in on_any and not d[7]])
    assert on == (realised["on_risky"]["irregular"], realised["on_risky"]["inspected"])
    assert off == (realised["off_risky"]["irregular"], realised["off_risky"]["inspected"])
    # planted most often, risky entities several times more often than the rest, a realistic whole
    assert realised["planted"]["rate"] > 0.6 > realised["on_risky"]["rate"] > 5 * realised["off_risky"]["rate"]
    assert 0.05 <= realised["all"]["rate"] <= 0.15
    assert on[1] >= 150 and off[1] >= 300


# ---- issue 15: the intelligence plants (counterfeits, fraud ring, phoenix trader, split consignments) ----

REGISTER_HEADER = (
    "recordation_id,right_holder,brand,brand_variants,hs_scope,authorised_importers,authorised_origins,"
    "authorised_partner_countries,price_floor_omr,price_floor_basis,valid_from,valid_to,contact"
)


def _intelligence(landing) -> tuple[dict, dict]:
    truth = json.loads((landing / "_demo_truth" / "intelligence.json").read_text())
    path = landing / "reference" / "ipr_recordations.csv"
    assert path.read_text().splitlines()[0].replace('"', "") == REGISTER_HEADER
    rel = duckdb.sql(f"SELECT * FROM read_csv('{path}', all_varchar = true)")
    rows = [dict(zip(rel.columns, r, strict=True)) for r in rel.fetchall()]
    return truth, {r["recordation_id"]: r for r in rows}


def _rows(items, where: str, params=()) -> list[dict]:
    cur = items.execute(f"SELECT * FROM items WHERE {where} ORDER BY CAST(lodged_at AS TIMESTAMP)", params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def _only_users(items, column: str, value: str) -> set:
    return {r[0] for r in items.execute(f"SELECT DISTINCT trader_id FROM items WHERE {column} = ?", [value]).fetchall()}


def test_register_rows_name_existing_importers_on_imported_headings(items, small_demo_master):
    landing, summary = small_demo_master
    _, register = _intelligence(landing)
    assert 4 <= len(register) <= 6 and summary["intelligence"]["counterfeit_items"] == 8
    importers = {r[0] for r in items.execute("SELECT DISTINCT trader_id FROM items WHERE flow = 'M'").fetchall()}
    for r in register.values():
        assert 1 <= len(r["brand_variants"].split(";")) <= 3 and r["price_floor_basis"] in ("kg", "unit")
        assert 1 <= len(r["authorised_importers"].split(";")) <= 3
        assert set(r["authorised_importers"].split(";")) <= importers
        assert r["valid_from"] <= "2021-01-01" and (r["valid_to"] is None or r["valid_to"] >= "2021-07-01")
        imported = items.execute(
            "SELECT count(*) FROM items WHERE flow = 'M' AND list_has_any(?, [substr(hs_code, 1, 4), hs_code[:6]])",
            [r["hs_scope"].split(";")],
        ).fetchall()[0][0]
        assert imported > 0


def _per_basis(row: dict, basis: str) -> float:
    qty = float(row["supplementary_qty"]) if basis == "unit" else float(row["net_mass_kg"])
    return float(row["customs_value_omr"]) / qty


def test_counterfeits_are_unauthorised_under_the_floor_and_follow_earlier_seizures(items, small_demo_master):
    landing, _ = small_demo_master
    truth, register = _intelligence(landing)
    plants = truth["counterfeit"]
    assert 8 <= len(plants) <= 10
    routes, seized_routes = [], {}
    for p in plants:
        (row,) = _rows(
            items, "declaration_id = ? AND CAST(item_no AS INTEGER) = ?", [p["declaration_id"], p["item_no"]]
        )
        r = register[p["recordation_id"]]
        assert row["trader_id"] not in r["authorised_importers"].split(";")
        assert row["origin_country"] not in r["authorised_origins"].split(";")
        assert any(row["hs_code"].startswith(h) for h in r["hs_scope"].split(";"))
        assert row["goods_description"].lower() != r["brand"].lower() and row["transport_mode"] in ("air", "post")
        assert _per_basis(row, r["price_floor_basis"]) < 0.4 * float(r["price_floor_omr"])
        assert float(row["net_mass_kg"]) < 30 and float(row["customs_value_omr"]) < 400
        assert float(row["duty_omr"]) == round(
            float(row["customs_value_omr"]) * float(duty_rate_for(np.array([row["hs_code"][:6]], dtype=object))[0]), 3
        )
        route = (row["origin_country"], row["partner_country"], row["hs_code"][:2], row["transport_mode"])
        if p["seized"]:
            assert (row["inspection_outcome"], row["finding_type"], row["risk_channel"]) == (
                "seizure",
                "counterfeit",
                "red",
            )
            seized_routes.setdefault(route, row["lodged_at"])
        else:
            assert row["inspection_outcome"] is None
            routes.append((route, row["lodged_at"]))
        assert row["lodged_at"] is not None
    assert 1 <= len(seized_routes) <= 2
    later = [r for r, at in routes if r in seized_routes and str(at) > str(seized_routes[r])]
    assert len(later) >= len(seized_routes)
    assert len({_rows(items, "declaration_id = ?", [p["declaration_id"]])[0]["trader_id"] for p in plants}) == len(
        plants
    )


def test_legitimate_branded_imports_look_clean(items, small_demo_master):
    landing, _ = small_demo_master
    truth, register = _intelligence(landing)
    assert 5 <= len(truth["legitimate_branded"]) <= 30
    for p in truth["legitimate_branded"]:
        (row,) = _rows(
            items, "declaration_id = ? AND CAST(item_no AS INTEGER) = ?", [p["declaration_id"], p["item_no"]]
        )
        r = register[p["recordation_id"]]
        assert row["goods_description"].startswith(r["brand"] + " ")
        assert row["trader_id"] in r["authorised_importers"].split(";")
        assert row["origin_country"] in r["authorised_origins"].split(";")
        assert row["partner_country"] in (r["authorised_partner_countries"] or r["authorised_origins"]).split(";")
        assert _per_basis(row, r["price_floor_basis"]) > float(r["price_floor_omr"])
        assert row["transport_mode"] in ("sea", "road") and row["inspection_outcome"] is None


def test_fraud_ring_shares_a_seller_and_declarant_has_one_seizure_and_shifts(items, small_demo_master):
    landing, _ = small_demo_master
    ring = _intelligence(landing)[0]["ring"]
    members = ring["trader_ids"]
    assert 5 <= len(members) <= 6
    assert _only_users(items, "seller_id", ring["seller_id"]) == set(members)
    assert _only_users(items, "declarant_id", ring["declarant_id"]) == set(members)
    rows = _rows(items, "list_contains(?, trader_id)", [members])
    for m in members:
        mine = [r for r in rows if r["trader_id"] == m]
        assert 15 <= len(mine) <= 40
        assert {(r["seller_id"], r["declarant_id"], r["flow"]) for r in mine} == {
            (ring["seller_id"], ring["declarant_id"], "M")
        }
    inspected = [r for r in rows if r["inspection_outcome"] is not None]
    assert [(r["declaration_id"], int(r["item_no"])) for r in inspected] == [tuple(ring["seizure"].values())]
    assert (inspected[0]["inspection_outcome"], inspected[0]["risk_channel"], inspected[0]["finding_type"]) == (
        "seizure",
        "red",
        "undervaluation",
    )
    days = [str(r["lodged_at"])[:10] for r in rows]
    assert (date.fromisoformat(max(days)) - date.fromisoformat(min(days))).days >= 90
    before = {
        (r["hs_code"][:2], r["origin_country"]) for r, d in zip(rows, days, strict=True) if d < ring["shift_from"]
    }
    after = {
        (r["hs_code"][:2], r["origin_country"]) for r, d in zip(rows, days, strict=True) if d >= ring["shift_from"]
    }
    assert len(before) == len(after) == 1 and before.pop()[0] != after.pop()[0]
    assert sum(d >= ring["shift_from"] for d in days) < 0.4 * len(days)
    shared = {r["trader_address_hash"] for r in rows if r["trader_id"] in ring["shared_address_trader_ids"]}
    assert len(shared - {None}) == 1


def test_phoenix_successor_takes_over_seller_declarant_and_phone_after_a_seizure(items, small_demo_master):
    landing, _ = small_demo_master
    ph = _intelligence(landing)[0]["phoenix"]
    a, b = ph["predecessor_trader_id"], ph["successor_trader_id"]
    assert (
        _only_users(items, "seller_id", ph["seller_id"])
        == _only_users(items, "declarant_id", ph["declarant_id"])
        == {a, b}
    )
    rows_a, rows_b = _rows(items, "trader_id = ?", [a]), _rows(items, "trader_id = ?", [b])
    assert 15 <= len(rows_a) <= 40 and 15 <= len(rows_b) <= 40
    last_a, first_b = str(rows_a[-1]["lodged_at"])[:10], str(rows_b[0]["lodged_at"])[:10]
    assert (last_a, first_b) == (ph["predecessor_last_day"], ph["successor_first_day"])
    assert 10 <= (date.fromisoformat(first_b) - date.fromisoformat(last_a)).days <= 40
    assert str(rows_b[-1]["lodged_at"])[:10] >= "2021-06-24"  # trades until the end of the period
    seized = [r for r in rows_a if r["inspection_outcome"] is not None]
    assert [(r["declaration_id"], int(r["item_no"]), r["risk_channel"], r["finding_type"]) for r in seized] == [
        (*ph["seizure"].values(), "red", "undervaluation")
    ]
    assert (date.fromisoformat(last_a) - date.fromisoformat(str(seized[0]["lodged_at"])[:10])).days <= 30
    phones = {r["trader_phone_hash"] for r in rows_a + rows_b} - {None}
    assert len(phones) == 1
    assert {r["hs_code"][:6] for r in rows_a} == {r["hs_code"][:6] for r in rows_b}


def test_split_consignments_spread_one_sellers_parcels_over_new_small_traders(items, small_demo_master):
    landing, _ = small_demo_master
    split = _intelligence(landing)[0]["split_consignments"]
    assert 12 <= len(split["trader_ids"]) <= 15
    assert _only_users(items, "seller_id", split["seller_id"]) == set(split["trader_ids"])
    lo, hi = (date.fromisoformat(d) for d in split["window"])
    assert (hi - lo).days <= 90
    for t in split["trader_ids"]:
        rows = _rows(items, "trader_id = ?", [t])
        assert 2 <= len(rows) <= 4
        assert all(r["transport_mode"] in ("post", "air") and float(r["customs_value_omr"]) < 300 for r in rows)
        assert all(lo <= date.fromisoformat(str(r["lodged_at"])[:10]) <= hi for r in rows)


def test_finding_types_and_trader_hashes(items, small_demo_master):
    wrong = items.execute("""
        SELECT count(*) FILTER (WHERE (finding_type IS NOT NULL) <> coalesce(inspection_outcome IN ('discrepancy', 'seizure'), false)),
               count(*) FILTER (WHERE finding_type NOT IN ('undervaluation', 'misclassification', 'origin', 'counterfeit',
                                                           'prohibited', 'other')),
               count(DISTINCT finding_type)
        FROM items""").fetchall()[0]
    assert wrong[:2] == (0, 0) and wrong[2] >= 4
    landing, _ = small_demo_master
    truth = landing / "_demo_truth" / "truth_items.csv"
    planted = items.execute(f"""
        SELECT DISTINCT t.anomaly, i.finding_type FROM items i JOIN read_csv('{truth}', all_varchar = true) t
        USING (declaration_id, item_no) WHERE i.finding_type IS NOT NULL""").fetchall()
    mapping = {"undervaluation": "undervaluation", "misclassification": "misclassification", "false_origin": "origin"}
    assert planted and all(mapping[a] == f for a, f in planted)
    share, per_trader, exports = items.execute("""
        SELECT avg((trader_address_hash IS NOT NULL)::INT) FILTER (WHERE flow = 'M'),
               max(n), count(*) FILTER (WHERE flow = 'X' AND trader_phone_hash IS NOT NULL)
        FROM items, (SELECT max(c) AS n FROM (
            SELECT count(DISTINCT trader_address_hash) + 0 * count(DISTINCT trader_phone_hash) AS c FROM items
            GROUP BY trader_id
            UNION ALL SELECT count(DISTINCT trader_phone_hash) FROM items GROUP BY trader_id))""").fetchall()[0]
    assert 0.93 <= share <= 0.97 and per_trader == 1 and exports == 0
    intel = _intelligence(landing)[0]
    for column, planted_pair in (
        ("trader_address_hash", set(intel["ring"]["shared_address_trader_ids"])),
        ("trader_phone_hash", {intel["phoenix"]["predecessor_trader_id"], intel["phoenix"]["successor_trader_id"]}),
    ):
        shared = items.execute(f"""SELECT list(DISTINCT trader_id) FROM items WHERE {column} IS NOT NULL
            GROUP BY {column} HAVING count(DISTINCT trader_id) > 1""").fetchall()
        assert [set(s[0]) for s in shared] == [planted_pair]


def test_the_smallest_demo_still_carries_every_intelligence_plant(tmp_path):
    summary = generate(tmp_path, DemoConfig(items=2_000, months=2))
    truth, _ = _intelligence(tmp_path)
    assert summary["intelligence"]["counterfeit_items"] == len(truth["counterfeit"]) == 8
    assert len(truth["ring"]["trader_ids"]) >= 5 and len(truth["split_consignments"]["trader_ids"]) >= 12
    ids = {
        r[0]
        for r in duckdb.sql(f"""SELECT DISTINCT trader_id FROM read_csv('{tmp_path}/declarations/*/*/*.csv',
            all_varchar = true) UNION SELECT trader_id FROM read_parquet('{tmp_path}/declarations/*/*/*.parquet')""").fetchall()
    }
    ph = truth["phoenix"]
    assert {*truth["ring"]["trader_ids"], ph["predecessor_trader_id"], ph["successor_trader_id"]} <= ids
    assert (
        10
        <= (date.fromisoformat(ph["successor_first_day"]) - date.fromisoformat(ph["predecessor_last_day"])).days
        <= 40
    )
