"""The IPR register (`reference/ipr_recordations.csv`) and the declarations' finding type, address and
phone hashes: lists validated element by element, authorised importers keyed like the declarations'
traders and kept out of the warehouse, bad recordations quarantined with their reasons."""

from __future__ import annotations

import csv
import hashlib
import hmac
import json
from pathlib import Path

import duckdb
import pytest

from orchestration import reference
from orchestration.ingest import contracts
from orchestration.ingest.loader import load_files
from orchestration.ingest.readers import scan, table_stem
from tests.test_loader import GOOD, item, write_csv

pytestmark = pytest.mark.fast

SECRET = "ipr-test-key"
IPR_COLUMNS = [c.name for c in contracts.IPR_RECORDATIONS.columns]
ITEM_COLUMNS = list(GOOD)  # every declaration column, the optional finding and contact hashes included
ADDRESS_HASH = "9f2c4a1e0b7d5f3a"  # as the clearance system delivers it: already a hash of the address
PHONE_HASH = "47aa01c3de98b2f0"
RECORDATION = {
    "recordation_id": "AFA-2022-001",
    "right_holder": "Falcon Footwear LLC",
    "brand": "FALKO",
    "brand_variants": "FALC0;Falko Sport",
    "hs_scope": "6403;6404; 4202",
    "authorised_importers": "OM7000002;OM7000001 ; OM7000002",
    "authorised_origins": "it;VN",
    "authorised_partner_countries": "",
    "price_floor_omr": "12.500",
    "price_floor_basis": "Unit",
    "valid_from": "2021-01-01",
    "valid_to": "2026-12-31",
    "contact": "enforcement@falko.example",
}


def recordation(**changes) -> dict:
    return {**RECORDATION, **changes}


def _key(kind: str, party_id: str, prefix: str) -> str:
    return f"{prefix}-" + hmac.new(SECRET.encode(), f"{kind}:{party_id}".encode(), hashlib.sha256).hexdigest()[:24]


@pytest.fixture
def con(tmp_path, monkeypatch):
    """A warehouse with the built-in reference tables loaded (the register among them, empty)."""
    monkeypatch.setenv("CUSTOMS_PSEUDONYMISATION_KEY", SECRET)
    reference.write_defaults(tmp_path / "ref_landing" / "reference")
    connection = duckdb.connect(str(tmp_path / "w.duckdb"))
    connection.execute("SET TimeZone = 'Asia/Muscat'")
    for contract in contracts.REFERENCE_CONTRACTS:
        files = [f for f in scan(tmp_path / "ref_landing", "reference") if table_stem(f.path) == contract.table]
        report = load_files(connection, contract, files)
        assert report.reconciles and not report.rejected, contract.table
    assert connection.execute("SELECT count(*) FROM raw.ipr_recordations").fetchall() == [(0,)]
    yield connection
    connection.close()


def load_register(con, landing: Path, rows: list[dict]):
    write_csv(landing / "reference" / "ipr_recordations.csv", rows, IPR_COLUMNS)
    report = load_files(con, contracts.IPR_RECORDATIONS, scan(landing, "reference"))
    assert report.reconciles and not report.rejected
    return report


def load_items(con, landing: Path, rows: list[dict]):
    write_csv(landing / "declarations" / "day.csv", rows, ITEM_COLUMNS)
    report = load_files(con, contracts.DECLARATION_ITEMS, scan(landing, "declarations"))
    assert report.reconciles and not report.rejected
    return report


def quarantine(con, table: str) -> dict[int, str]:
    return dict(con.execute("SELECT source_row, reasons FROM raw.quarantine WHERE table_name = ?", [table]).fetchall())


def restricted(tmp_path: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(tmp_path / "restricted" / "restricted.duckdb"), read_only=True) as store:
        return store.execute(sql).fetchall()


def warehouse_values(con) -> list[tuple[str, str, str, str]]:
    """Every value of every VARCHAR column of the warehouse, with where it is."""
    found = []
    for schema, table, column in con.execute(
        "SELECT table_schema, table_name, column_name FROM information_schema.columns WHERE data_type = 'VARCHAR'"
    ).fetchall():
        rows = con.execute(f'SELECT DISTINCT "{column}" FROM "{schema}"."{table}" WHERE "{column}" IS NOT NULL')
        found += [(schema, table, column, v) for (v,) in rows.fetchall()]
    return found


def test_authorised_importers_get_their_declarations_trader_keys_and_only_the_restricted_store_has_them(con, tmp_path):
    landing = tmp_path / "landing"
    load_items(
        con,
        landing,
        [
            item(declaration_id="A", trader_id="OM7000001"),
            item(declaration_id="B", trader_id="OM7000002"),
        ],
    )
    rows = [recordation(), recordation(recordation_id="AFA-2022-002", authorised_importers="OM7000003")]
    rows.append(recordation(recordation_id="AFA-2022-003", authorised_importers="", price_floor_omr=""))
    report = load_register(con, landing, rows)
    assert (report.received, report.loaded, report.quarantined) == (3, 3, 0)

    traders = dict(con.execute("SELECT declaration_id, trader_key FROM raw.declaration_items").fetchall())
    registered = dict(con.execute("SELECT recordation_id, authorised_trader_keys FROM raw.ipr_recordations").fetchall())
    # the same HMAC as the declarations' trader_key; a set: sorted, each once
    assert registered["AFA-2022-001"] == ";".join(sorted([traders["A"], traders["B"]]))
    assert registered["AFA-2022-002"] == _key("trader", "OM7000003", "T")  # a trader without declarations yet
    assert registered["AFA-2022-003"] is None  # no importer list recorded
    first = con.execute(
        "SELECT hs_scope, authorised_origins, price_floor_basis FROM raw.ipr_recordations "
        "WHERE recordation_id = 'AFA-2022-001'"
    ).fetchall()
    assert first == [("6403;6404;4202", "IT;VN", "unit")]  # elements trimmed, codes normalised like any value

    clear = {"OM7000001", "OM7000002", "OM7000003"}
    leaks = [(s, t, c) for s, t, c, v in warehouse_values(con) if any(i in v for i in clear)]
    assert leaks == []
    columns = {r[0] for r in con.execute("DESCRIBE raw.ipr_recordations").fetchall()}
    assert "authorised_trader_keys" in columns and "authorised_importers" not in columns
    keys = dict(restricted(tmp_path, "SELECT party_id, party_key FROM party_keys WHERE party_type = 'trader'"))
    assert {i: keys[i] for i in clear} == {i: _key("trader", i, "T") for i in clear}


def test_bad_recordations_are_quarantined_with_their_reasons_and_the_counts_reconcile(con, tmp_path):
    landing = tmp_path / "landing"
    rows = [
        recordation(),  # 1 good
        recordation(recordation_id="R2", hs_scope="6403;640"),  # 2 a prefix of 3 digits
        recordation(recordation_id="R3", price_floor_basis=""),  # 3 a floor without its basis
        recordation(recordation_id="R4", valid_from="2022-01-01", valid_to="2021-12-31"),  # 4
        recordation(recordation_id="R5", authorised_origins="IT;ITA"),  # 5 an alpha-3 code in the list
        recordation(recordation_id="R6", authorised_importers="OM7000009;;OM7000001"),  # 6 a blank element
        recordation(recordation_id="R7", price_floor_basis="box", hs_scope=""),  # 7 two reasons
        recordation(),  # 8 a second row of the same recordation
    ]
    report = load_register(con, landing, rows)
    assert (report.received, report.loaded, report.quarantined, report.rejected_rows) == (8, 1, 7, 0)
    why = quarantine(con, "ipr_recordations")
    assert why[2] == "hs_scope: must be HS prefixes of 2, 4 or 6 digits, separated by semicolons"
    assert why[3] == "price_floor_basis is required with price_floor_omr"
    assert why[4] == "valid_to is before valid_from"
    assert why[5] == "authorised_origins: must be ISO 3166-1 alpha-2 codes, separated by semicolons"
    assert why[6] == "authorised_importers: an empty list element (two separators in a row, or one at an end)"
    assert why[7] == "hs_scope: required; price_floor_basis: must be kg or unit"
    assert why[8] == "duplicate key: first seen in reference/ipr_recordations.csv row 1"
    # the quarantined rows as delivered, clear importers included, are only in the restricted store
    records = dict(restricted(tmp_path, "SELECT source_row, record FROM quarantine_records"))
    assert json.loads(records[6])["authorised_importers"] == "OM7000009;;OM7000001"
    assert not [v for *_, v in warehouse_values(con) if "OM7000009" in v]
    assert restricted(tmp_path, "SELECT count(*) FROM party_keys WHERE party_id = 'OM7000009'") == [(0,)]


def test_a_finding_type_without_a_finding_is_quarantined_and_one_with_a_finding_loads(con, tmp_path):
    landing = tmp_path / "landing"
    load_items(
        con,
        landing,
        [
            item(declaration_id="A", inspection_outcome="seizure", finding_type="Counterfeit"),  # 1
            item(declaration_id="B", inspection_outcome="no_finding", finding_type="undervaluation"),  # 2
            item(declaration_id="C", finding_type="origin"),  # 3 no inspection at all
            item(declaration_id="D", inspection_outcome="discrepancy", finding_type="fake"),  # 4
            item(declaration_id="E", inspection_outcome="discrepancy"),  # 5 what was found is not known
        ],
    )
    loaded = dict(con.execute("SELECT declaration_id, finding_type FROM raw.declaration_items").fetchall())
    assert loaded == {"A": "counterfeit", "E": None}
    why = quarantine(con, "declaration_items")
    nothing_found = "finding_type is given but inspection_outcome is not discrepancy or seizure (nothing was found)"
    assert why[2] == why[3] == nothing_found
    assert why[4] == (
        "finding_type: must be one of undervaluation, misclassification, origin, counterfeit, prohibited, other"
    )


def test_address_and_phone_hashes_are_keyed_again_as_a_and_p_keys(con, tmp_path):
    landing = tmp_path / "landing"
    load_items(
        con,
        landing,
        [
            item(declaration_id="A", trader_address_hash=ADDRESS_HASH, trader_phone_hash=PHONE_HASH),
            item(declaration_id="B", trader_id="OM7000002", trader_address_hash=ADDRESS_HASH),  # a shared address
            item(declaration_id="C", trader_phone_hash=f"{PHONE_HASH}\u200b"),  # 3 an invisible character
        ],
    )
    keys = con.execute("SELECT declaration_id, address_key, phone_key FROM raw.declaration_items ORDER BY 1")
    assert keys.fetchall() == [
        ("A", _key("address", ADDRESS_HASH, "A"), _key("phone", PHONE_HASH, "P")),
        ("B", _key("address", ADDRESS_HASH, "A"), None),
    ]
    assert quarantine(con, "declaration_items") == {3: "trader_phone_hash: contains an invisible character (U+200B)"}
    columns = {r[0] for r in con.execute("DESCRIBE raw.declaration_items").fetchall()}
    assert not columns & {"trader_address_hash", "trader_phone_hash"}
    assert not [v for *_, v in warehouse_values(con) if ADDRESS_HASH in v or PHONE_HASH in v]
    stored = restricted(
        tmp_path, "SELECT party_type, party_id FROM party_keys WHERE party_type IN ('address', 'phone')"
    )
    assert sorted(stored) == [("address", ADDRESS_HASH), ("phone", PHONE_HASH)]


def test_the_built_in_register_is_the_layout_with_no_rights_recorded():
    with open(reference.HERE / "ipr_recordations.csv", newline="") as fh:
        assert list(csv.reader(fh)) == [IPR_COLUMNS]
