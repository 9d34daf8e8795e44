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
