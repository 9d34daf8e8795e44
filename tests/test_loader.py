"""Loading landing files: contract validation, quarantine with reasons, rejected files, idempotent
re-delivery, reconciliation, and no partial load after a killed process."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from orchestration.demo.generator import DECLARATION_COLUMNS
from orchestration.ingest import contracts, loader
from orchestration.ingest.loader import load_files
from orchestration.ingest.readers import scan

pytestmark = pytest.mark.fast  # `make test-fast`: no dbt build, seconds

GOOD = {
    "declaration_id": "D1",
    "item_no": "1",
    "flow": "M",
    "lodged_at": "2022-05-01 10:00:00",
    "released_at": "2022-05-01 12:00:00",
    "office_code": "SOH-SEA",
    "procedure_code": "4000",
    "declarant_id": "BRK1",
    "trader_id": "OM1",
    "seller_id": "CN-S00001",
    "hs_code": "85171300",
    "goods_description": "Smartphones",
    "origin_country": "CN",
    "partner_country": "CN",
    "transport_mode": "sea",
    "net_mass_kg": "10.5",
    "supplementary_qty": "50",
    "supplementary_unit": "u",
    "invoice_amount": "1000.00",
    "invoice_currency": "USD",
    "incoterm": "CIF",
    "customs_value_omr": "384.500",
    "duty_omr": "0",
    "vat_omr": "19.225",
    "preference_code": "",
    "risk_channel": "green",
    "inspection_outcome": "",
    "finding_type": "",
    "trader_address_hash": "",
    "trader_phone_hash": "",
}


def item(**changes) -> dict:
    return {**GOOD, **changes}


def write_csv(path: Path, rows: list[dict], columns=DECLARATION_COLUMNS, encoding="utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding=encoding) as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture
def con(tmp_path):
    connection = duckdb.connect(str(tmp_path / "w.duckdb"))
    connection.execute("SET TimeZone = 'Asia/Muscat'")
    yield connection
    connection.close()


def load(con, landing: Path, contract=contracts.DECLARATION_ITEMS, sub="declarations"):
    return load_files(con, contract, scan(landing, sub))


def restricted_records(tmp_path: Path) -> dict[int, str]:
    with duckdb.connect(str(tmp_path / "restricted" / "restricted.duckdb"), read_only=True) as store:
        return dict(store.execute("SELECT source_row, record FROM quarantine_records").fetchall())


def reasons(con) -> dict[int, str]:
    return dict(con.execute("SELECT source_row, reasons FROM raw.quarantine ORDER BY source_row").fetchall())


def test_rows_breaking_the_contract_are_quarantined_with_every_reason(con, tmp_path):
    landing = tmp_path / "landing"
    write_csv(
        landing / "declarations" / "day1.csv",
        [
            item(),  # 1 good
            item(item_no="0"),  # 2 rule
            item(item_no="1.5", declaration_id="D2"),  # 3 not an integer
            item(declaration_id="D3", flow="Z", lodged_at="yesterday"),  # 4 two reasons
            item(declaration_id="D4", hs_code="12AB56", origin_country="China"),  # 5
            item(declaration_id="D5", customs_value_omr="-5", net_mass_kg=""),  # 6
            item(declaration_id="D6", released_at="2022-04-30 09:00:00"),  # 7 released before lodged
            item(),  # 8 duplicate of row 1
            item(declaration_id="D7", risk_channel="purple", invoice_currency="usd", transport_mode="SEA"),  # 9 one bad
            item(declaration_id="D8", lodged_at="2022-05-01T08:00:00+02:00", hs_code="8517.13.00"),  # 10 good
        ],
    )
    report = load(con, landing)
    assert (report.received, report.loaded, report.quarantined) == (10, 2, 8) and report.reconciles
    why = reasons(con)
    assert why[2] == "item_no: must be an integer >= 1"
    assert why[3] == "item_no: not a valid integer (1.5)"
    assert "flow: must be M or X" in why[4] and "lodged_at: not a valid timestamp" in why[4]
    assert (
        "hs_code: must be 6 to 12 digits" in why[5] and "origin_country: must be an ISO 3166-1 alpha-2 code" in why[5]
    )
    assert "customs_value_omr: must be >= 0" in why[6] and "net_mass_kg: required" in why[6]
    assert why[7] == "released_at is before lodged_at"
    assert why[8] == "duplicate key: first seen in declarations/day1.csv row 1"
    assert why[9] == "risk_channel: must be green, yellow, red or blue"
    # the row as delivered is kept in the restricted store only; the warehouse keeps its position and reasons
    assert "record" not in {
        c
        for (c,) in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'quarantine'"
        ).fetchall()
    }
    record = json.loads(restricted_records(tmp_path)[9])
    assert record["risk_channel"] == "purple" and record["declaration_id"] == "D7" and record["trader_id"] == "OM1"
    # normalised on the way in: time zone offsets to Muscat time, dots in tariff lines, case
    row = con.execute("SELECT lodged_at, hs_code FROM raw.declaration_items WHERE declaration_id = 'D8'").fetchall()[0]
    assert (str(row[0]), row[1]) == ("2022-05-01 10:00:00", "85171300")


def test_a_file_missing_a_required_column_is_rejected_and_earlier_rows_stay(con, tmp_path):
    landing = tmp_path / "landing"
    write_csv(landing / "declarations" / "a.csv", [item(), item(item_no="2")])
    assert load(con, landing).loaded == 2
    # a new file and a re-delivery of a.csv, both without trader_id
    no_trader = [c for c in DECLARATION_COLUMNS if c != "trader_id"]
    write_csv(landing / "declarations" / "b.csv", [item(declaration_id="B1")], columns=no_trader)
    write_csv(landing / "declarations" / "a.csv", [item(declaration_id="A9")], columns=no_trader)
    report = load(con, landing)
    assert [(f.relpath, f.status) for f in report.files] == [
        ("declarations/a.csv", "rejected"),
        ("declarations/b.csv", "rejected"),
    ]
    assert all(f.error == "missing required column(s): trader_id" for f in report.files)
    assert con.execute(
        "SELECT list(declaration_id || '/' || item_no ORDER BY item_no) FROM raw.declaration_items"
    ).fetchall()[0][0] == ["D1/1", "D1/2"]
    assert report.reconciles


@pytest.mark.parametrize("damage", ["latin1", "truncated_csv", "truncated_parquet", "unterminated_quote"])
def test_a_malformed_file_is_rejected_alone_with_a_clear_message(con, tmp_path, damage):
    landing = tmp_path / "landing"
    folder = landing / "declarations"
    write_csv(folder / "good.csv", [item(declaration_id=f"G{i}") for i in range(3)])
    expected = {
        "latin1": "not utf-8 encoded",
        "truncated_csv": "expected number of columns",
        "truncated_parquet": "parquet",
        "unterminated_quote": "unterminated quote",
    }[damage]
    if damage == "latin1":
        write_csv(
            folder / "bad.csv", [item(declaration_id="X", goods_description="Caf\u00e9 cr\u00e8me")], encoding="latin-1"
        )
    elif damage in ("truncated_csv", "unterminated_quote"):
        text = write_csv(
            folder / "bad.csv", [item(declaration_id=f"X{i}", goods_description="a, b") for i in range(5)]
        ).read_text()
        cut = text.rindex(",", 0, len(text) - 30) if damage == "truncated_csv" else text.rindex('"a, b"') + 3
        (folder / "bad.csv").write_text(text[:cut])
    else:
        table = pa.Table.from_pylist([item(declaration_id=f"X{i}") for i in range(50)])
        pq.write_table(table, folder / "bad.parquet")
        data = (folder / "bad.parquet").read_bytes()
        (folder / "bad.parquet").write_bytes(data[: len(data) // 2])
    report = load(con, landing)
    bad = report.rejected
    assert len(bad) == 1 and bad[0].relpath.startswith("declarations/bad.")
    assert expected in bad[0].error.lower(), bad[0].error
    assert report.loaded == 3 and report.table_rows == 3 and report.reconciles


def test_reloading_is_idempotent_and_a_redelivered_file_replaces_its_rows(con, small_demo):
    landing, summary = small_demo
    first = load(con, landing)
    assert first.loaded == summary["items"] and first.reconciles and not first.rejected
    again = load(con, landing)
    assert again.count("unchanged") == summary["declaration_files"] and again.received == 0
    assert again.table_rows == summary["items"]
    # the clearance system re-delivers one day with a corrected value and one item withdrawn
    day = sorted((landing / "declarations").rglob("*.csv"))[3]
    rows = list(csv.DictReader(day.open()))
    rows[0]["customs_value_omr"] = "1.000"
    write_csv(day, rows[1:] and [rows[0], *rows[2:]])
    redelivered = load(con, landing)
    assert redelivered.count("loaded") == 1 and redelivered.received == len(rows) - 1
    total, distinct = con.execute(
        "SELECT count(*), count(DISTINCT (declaration_id, item_no)) FROM raw.declaration_items"
    ).fetchall()[0]
    assert total == distinct == summary["items"] - 1 and redelivered.reconciles
    value = con.execute(
        "SELECT customs_value_omr FROM raw.declaration_items WHERE declaration_id = ? AND item_no = ?",
        [rows[0]["declaration_id"], int(rows[0]["item_no"])],
    ).fetchall()[0][0]
    assert float(value) == 1.0


def test_a_key_already_loaded_from_another_file_is_quarantined(con, tmp_path):
    landing = tmp_path / "landing"
    write_csv(landing / "declarations" / "a.csv", [item()])
    load(con, landing)
    write_csv(landing / "declarations" / "b.csv", [item(), item(declaration_id="NEW")])
    report = load(con, landing)
    assert (report.loaded, report.quarantined) == (1, 1)
    assert reasons(con) == {1: "duplicate key: already loaded from declarations/a.csv"}


def test_a_load_in_chunks_equals_one_load_and_finds_a_key_repeated_across_chunks(con, tmp_path, monkeypatch):
    """Files are typed and checked a chunk at a time (CHUNK_BYTES): each file lands whole, the counts
    reconcile, and a key repeated in a later chunk is quarantined as it is within one chunk."""
    landing = tmp_path / "landing"
    write_csv(landing / "declarations" / "a.csv", [item(), item(declaration_id="A2")])
    write_csv(landing / "declarations" / "b.csv", [item(declaration_id="B1")])
    write_csv(landing / "declarations" / "c.csv", [item(), item(declaration_id="C2")])
    files = scan(landing, "declarations")
    assert [len(c) for c in loader.chunks(files, 1)] == [1, 1, 1]
    assert [len(c) for c in loader.chunks(files, 10**9)] == [3]
    monkeypatch.setattr(loader, "CHUNK_BYTES", 1)  # every file its own chunk
    report = load(con, landing)
    assert (report.received, report.loaded, report.quarantined) == (5, 4, 1) and report.reconciles
    assert reasons(con) == {1: "duplicate key: already loaded from declarations/a.csv"}
    assert {r for (r,) in con.execute("SELECT DISTINCT load_id FROM raw.load_log").fetchall()} == {report.load_id}


def test_parquet_with_numeric_tariff_lines_is_refused_not_silently_stripped_of_zeros(con, tmp_path):
    landing = tmp_path / "landing"
    rows = [item(declaration_id="P1", hs_code=402210000), item(declaration_id="P2", hs_code=85171300)]
    (landing / "declarations").mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(rows), landing / "declarations" / "p.parquet")
    report = load(con, landing)
    assert report.loaded == 0 and report.rejected[0].error == (
        "hs_code must be text, not int64: leading zeros of codes are lost in numbers"
    )


def _comtrade_body(records: list[dict], count: int | None = None, error: str = "") -> str:
    return json.dumps({"count": len(records) if count is None else count, "data": records, "error": error})


RECORD = {
    "typeCode": "C",
    "freqCode": "A",
    "period": "2022",
    "reporterCode": 156,
    "reporterISO": "CHN",
    "flowCode": "X",
    "partnerCode": 512,
    "partnerISO": "OMN",
    "partner2Code": 0,
    "classificationCode": "H6",
    "cmdCode": "851713",
    "customsCode": "C00",
    "motCode": 0,
    "qtyUnitCode": 5,
    "qty": 100,
    "netWgt": 20.5,
    "cifvalue": None,
    "fobvalue": 50000.5,
    "primaryValue": 50000.5,
    "isReported": True,
    "isAggregate": False,
}


def test_comtrade_bodies_truncated_malformed_or_in_error_are_rejected(con, tmp_path):
    landing = tmp_path / "landing"
    folder = landing / "partner_trade"
    folder.mkdir(parents=True)
    (folder / "ok.json").write_text(
        _comtrade_body(
            [RECORD, {**RECORD, "cmdCode": "851714"}, {**RECORD, "cmdCode": "851762", "primaryValue": "abc"}]
        )
    )
    (folder / "short.json").write_text(_comtrade_body([{**RECORD, "reporterCode": 356}], count=2))
    (folder / "cut.json").write_text(_comtrade_body([RECORD])[:-30])
    (folder / "error.json").write_text(_comtrade_body([], error="rate limit exceeded"))
    report = load(con, landing, contracts.PARTNER_TRADE, "partner_trade")
    status = {f.relpath.split("/")[-1]: (f.status, f.error or "") for f in report.files}
    assert status["ok.json"][0] == "loaded"
    assert status["short.json"][0] == "rejected" and "count says 2 records, data holds 1" in status["short.json"][1]
    assert status["cut.json"][0] == "rejected" and "json" in status["cut.json"][1].lower()
    assert status["error.json"][0] == "rejected" and "rate limit exceeded" in status["error.json"][1]
    assert (report.loaded, report.quarantined) == (2, 1)
    assert reasons(con) == {3: "primaryValue: not a valid double (abc)"}
    assert con.execute("SELECT DISTINCT source_format FROM raw.partner_trade").fetchall() == [("comtrade_api",)]


KILL_SCRIPT = """
import sys, duckdb
from pathlib import Path
from orchestration.ingest import contracts
from orchestration.ingest import loader
from orchestration.ingest.loader import load_files
from orchestration.ingest.readers import scan
con = duckdb.connect(sys.argv[1])
files = scan(Path(sys.argv[2]), "declarations")
print("loading", flush=True)
load_files(con, contracts.DECLARATION_ITEMS, files)
print("done", flush=True)
"""


def _table_state(db: Path):
    con = duckdb.connect(str(db), read_only=True)
    try:
        exists = con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'declaration_items'"
        ).fetchall()[0][0]
        if not exists:
            return 0, 0, 0
        rows, keys = con.execute(
            "SELECT count(*), count(DISTINCT (declaration_id, item_no)) FROM raw.declaration_items"
        ).fetchall()[0]
        logged = con.execute(
            "SELECT coalesce(sum(rows_loaded), 0) FROM raw.load_log WHERE status = 'loaded'"
        ).fetchall()[0][0]
        return rows, keys, logged
    finally:
        con.close()


def _start_load(db: Path, landing: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen(
        [sys.executable, "-c", KILL_SCRIPT, str(db), str(landing)], stdout=subprocess.PIPE, env=env, text=True
    )
    assert proc.stdout.readline().strip() == "loading"
    return proc


def test_a_load_killed_midway_leaves_no_partial_rows_and_a_rerun_completes(tmp_path, small_demo):
    landing, summary = small_demo
    started = time.perf_counter()
    clean = _start_load(tmp_path / "clean.duckdb", landing)
    assert clean.stdout.readline().strip() == "done"
    duration = time.perf_counter() - started
    clean.wait()
    outcomes = []
    for i, fraction in enumerate((0.2, 0.5, 0.8)):
        db = tmp_path / f"killed{i}.duckdb"
        proc = _start_load(db, landing)
        time.sleep(duration * fraction)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        rows, keys, logged = _table_state(db)
        assert rows == keys == logged and rows in (0, summary["items"])  # all or nothing, never a part
        outcomes.append(rows)
        proc = _start_load(db, landing)  # the rerun completes the load
        assert proc.stdout.readline().strip() == "done"
        proc.wait()
        assert _table_state(db) == (summary["items"],) * 3
    assert 0 in outcomes, f"no kill landed during the load ({duration:.2f} s): the test proved nothing"


def test_cepii_baci_files_land_in_partner_trade_as_records_about_oman(con, tmp_path):
    folder = tmp_path / "landing" / "partner_trade" / "baci"
    folder.mkdir(parents=True)
    (folder / "country_codes_V202401.csv").write_text(
        "country_code,country_name,country_iso2,country_iso3\n156,China,CN,CHN\n512,Oman,OM,OMN\n699,India,IN,IND\n842,USA,US,USA\n"
    )
    (folder / "BACI_HS17_Y2021_V202401.csv").write_text(
        "t,i,j,k,v,q\n"
        "2021,156,512,851712,1234.5,10.2\n"  # China's exports to Oman
        "2021,512,699,310210,800,2000\n"  # India's imports from Oman
        "2021,156,842,851712,99999,1\n"  # not about Oman: left out
        "2021,842,512,40110,12.5,NA\n"
    )  # leading zero restored, quantity not available
    files = [f for f in scan(tmp_path / "landing", "partner_trade") if not f.path.name.startswith("country_codes")]
    report = load_files(con, contracts.PARTNER_TRADE, files)
    assert report.rejected == [] and report.loaded == 3 and report.reconciles
    rows = con.execute("""SELECT reporterISO, flowCode, cmdCode, classificationCode, primaryValue, fobvalue, cifvalue, netWgt, source_format
                          FROM raw.partner_trade ORDER BY reporterISO""").fetchall()
    assert rows == [
        ("CHN", "X", "851712", "H5", 1234500.0, 1234500.0, None, 10200.0, "baci"),
        ("IND", "M", "310210", "H5", 800000.0, 800000.0, None, 2000000.0, "baci"),
        ("USA", "X", "040110", "H5", 12500.0, 12500.0, None, None, "baci"),
    ]
