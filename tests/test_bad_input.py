"""Input that parses but is not data, and deliveries the loader could once skip or not name: each is
quarantined or rejected with its reason and counted (received = loaded + quarantined + rejected), and
no reason quotes the content of a line (lines hold clear party identifiers)."""

from __future__ import annotations

import csv
import gzip
import json
import os
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from orchestration.assets.raw import files_to_load, raw_declaration_items, raw_reference_tables
from orchestration.demo.generator import DECLARATION_COLUMNS, write_reference_tables
from orchestration.ingest import contracts
from orchestration.ingest.loader import load_files
from orchestration.ingest.readers import LandingFile, file_day, scan
from orchestration.jobs import landing_days
from tests.conftest import materialize_nightly
from tests.test_loader import GOOD, RECORD, _comtrade_body, item, write_csv

pytestmark = pytest.mark.fast  # `make test-fast`: no dbt build, seconds

SECRET_TRADER = "OM7654321"


@pytest.fixture
def con(tmp_path):
    """A warehouse with the built-in reference tables loaded, as the raw assets order it (the IPR
    register is empty by default)."""
    reference = tmp_path / "ref_landing" / "reference"
    write_reference_tables(reference)
    connection = duckdb.connect(str(tmp_path / "w.duckdb"))
    connection.execute("SET TimeZone = 'Asia/Muscat'")
    for contract in contracts.REFERENCE_CONTRACTS:
        files = [f for f in scan(tmp_path / "ref_landing", "reference") if f.path.stem == contract.table]
        report = load_files(connection, contract, files)
        assert report.reconciles and (report.loaded > 0 or contract is contracts.IPR_RECORDATIONS), contract.table
    yield connection
    connection.close()


def load(con, landing: Path, contract=contracts.DECLARATION_ITEMS, sub="declarations"):
    report = load_files(con, contract, scan(landing, sub))
    assert report.reconciles, [(f.relpath, f.received, f.loaded, f.quarantined, f.rejected_rows) for f in report.files]
    return report


def reasons(con) -> dict[int, str]:
    return dict(con.execute("SELECT source_row, reasons FROM raw.quarantine ORDER BY source_row").fetchall())


def in_days(n: int) -> str:
    return f"{date.today() + timedelta(days=n)} 10:00:00"


NOT_DATA = [
    ("net_mass_kg", "NaN", "net_mass_kg: not a finite number (NaN)"),
    ("customs_value_omr", "Infinity", "customs_value_omr: not a finite number"),
    ("invoice_amount", "-inf", "invoice_amount: not a finite number (-inf)"),
    ("item_no", "0x10", "item_no: not a valid integer (0x10)"),
    ("supplementary_qty", "1_000", "supplementary_qty: not a valid decimal"),
    ("invoice_amount", "12345678901.234", "invoice_amount: more decimals than the 2 the contract allows"),
    ("customs_value_omr", "-0.0001", "customs_value_omr: more decimals than the 3 the contract allows"),
    ("vat_omr", "19.2251", "vat_omr: more decimals than the 3"),
    ("lodged_at", "epoch", "lodged_at: not a valid timestamp"),  # a word some engines read as 1970
    ("lodged_at", "infinity", "lodged_at: not a valid timestamp"),
    ("lodged_at", "2024-01", "lodged_at: not a valid timestamp"),  # a month, not an instant
    ("lodged_at", "2024-01-05 24:00:00", "lodged_at: not a valid timestamp"),
    ("lodged_at", "1990-01-01 10:00:00 +0400", "lodged_at: not a valid timestamp"),  # offset after a space
    ("item_no", "1.5", "item_no: not a valid integer (1.5)"),
    ("lodged_at", "1989-12-31 10:00:00", "lodged_at: outside the plausible dates"),
    ("lodged_at", in_days(30), "lodged_at: outside the plausible dates"),
    ("origin_country", "QQ", "origin_country: not in the countries reference table (QQ)"),
    ("partner_country", "QQ", "partner_country: not in the countries reference table (QQ)"),
    ("invoice_currency", "XYZ", "invoice_currency: not in the currencies of the countries and exchange-rate"),
    ("hs_code", "99999900", "hs_code: not in the HS nomenclature or concordance reference tables"),
    ("hs_code", "85171300.0", "hs_code: looks like a number with a decimal part"),
    ("hs_code", "851713000", "hs_code: has an odd number of digits"),
    ("declaration_id", "D\u200b9", "declaration_id: contains an invisible character (U+200B)"),
    ("trader_id", "OM\u00a01", "trader_id: contains an invisible character (U+00A0)"),
    ("declarant_id", "BRK1\u00a0", "declarant_id: contains an invisible character (U+00A0)"),
]


@pytest.mark.parametrize(("column", "value", "reason"), NOT_DATA, ids=[f"{c}={v!r}" for c, v, _ in NOT_DATA])
def test_a_value_that_parses_but_is_not_data_is_quarantined_with_its_reason(con, tmp_path, column, value, reason):
    landing = tmp_path / "landing"
    changes = {"declaration_id": "D9", column: value}
    if column == "lodged_at":
        changes["released_at"] = ""
    write_csv(landing / "declarations" / "day.csv", [item(declaration_id="OK"), item(**changes)])
    report = load(con, landing)
    assert (report.loaded, report.quarantined) == (1, 1)  # the good row loads: the rule is not a blanket refusal
    assert reason in reasons(con)[2], reasons(con)


def test_released_at_infinity_and_a_nan_in_a_partner_record_are_quarantined(con, tmp_path):
    landing = tmp_path / "landing"
    write_csv(landing / "declarations" / "day.csv", [item(released_at="infinity")])
    load(con, landing)
    assert reasons(con)[1] == "released_at: not a valid timestamp"
    folder = landing / "partner_trade"
    folder.mkdir(parents=True)
    body = _comtrade_body(
        [RECORD, {**RECORD, "cmdCode": "851714", "primaryValue": float("nan")}, {**RECORD, "cmdCode": "851762"}]
    )  # json.dumps writes NaN, as a careless exporter would
    (folder / "nan.json").write_text(
        body.replace(
            '"cmdCode": "851762", "customsCode": "C00", "motCode": 0, "qtyUnitCode": 5, "qty": 100',
            '"cmdCode": "851762", "customsCode": "C00", "motCode": 0, "qtyUnitCode": 5, "qty": 1e400',
        )
    )
    report = load(con, landing, contracts.PARTNER_TRADE, "partner_trade")
    assert (report.loaded, report.quarantined) == (1, 2)
    why = con.execute(
        "SELECT reasons FROM raw.quarantine WHERE table_name = 'partner_trade' ORDER BY source_row"
    ).fetchall()
    assert why == [("primaryValue: not a finite number (NaN)",), ("qty: not a finite number",)]  # 1e400 is infinite


def test_gzipped_csv_loads_and_unreadable_deliveries_are_rejected_with_their_reason(con, tmp_path):
    landing = tmp_path / "landing"
    folder = landing / "declarations"
    plain = write_csv(tmp_path / "plain.csv", [item(declaration_id="GZ1"), item(declaration_id="GZ2")])
    folder.mkdir(parents=True)
    (folder / "items_2022-05-01.csv.gz").write_bytes(gzip.compress(plain.read_bytes()))
    (folder / "items_2022-05-02.xlsx").write_bytes(b"PK\x03\x04 not a csv")
    write_csv(folder / "items_2021-02-30.csv", [item(declaration_id="FEB1"), item(declaration_id="FEB2")])
    os.symlink(tmp_path / "nowhere.csv", folder / "dangling.csv")
    outside = write_csv(tmp_path / "outside" / "secret.csv", [item(declaration_id="OUT")])
    os.symlink(outside, folder / "escape.csv")
    inside = write_csv(landing / "declarations" / "archive" / "real.csv", [item(declaration_id="IN1")])
    os.symlink(inside, folder / "linked.csv")
    report = load(con, landing)
    status = {f.relpath.rsplit("/", 1)[-1]: f for f in report.files}
    assert status["items_2022-05-01.csv.gz"].status == "loaded" and status["items_2022-05-01.csv.gz"].loaded == 2
    assert "unsupported file type (items_2022-05-02.xlsx)" in status["items_2022-05-02.xlsx"].error
    assert status["items_2021-02-30.csv"].error == "the file name carries an impossible date (2021-02-30)"
    assert status["items_2021-02-30.csv"].rejected_rows == status["items_2021-02-30.csv"].received == 2
    assert status["dangling.csv"].error == "a symbolic link to nothing (dangling)"
    assert status["escape.csv"].error == "a symbolic link leading outside the landing area"
    assert status["linked.csv"].status == "loaded" and status["real.csv"].status == "loaded"
    logged = dict(
        con.execute("SELECT source_file, rows_rejected FROM raw.load_log WHERE status = 'rejected'").fetchall()
    )
    assert logged["declarations/items_2021-02-30.csv"] == 2 and len(logged) == 4
    # the impossible day no longer crashes what reads days from names
    assert file_day("declarations/items_2021-02-30.csv") is None
    assert landing_days(landing) == (date(2022, 5, 1), date(2022, 5, 1))


def test_a_line_with_a_wrong_number_of_fields_is_quarantined_with_its_line_and_the_file_loads(con, tmp_path):
    landing = tmp_path / "landing"
    path = write_csv(landing / "declarations" / "day.csv", [item(declaration_id=f"R{i}") for i in range(1, 6)])
    lines = path.read_text().splitlines(keepends=True)
    lines[3] = lines[3].replace(",sea,", ",", 1)  # data row 3 (line 4) lost a field
    path.write_text("".join(lines))
    report = load(con, landing)
    assert (report.loaded, report.quarantined, report.rejected_rows) == (4, 1, 0)
    n = len(DECLARATION_COLUMNS)
    assert reasons(con) == {3: f"line 4: Expected Number of Columns: {n} Found: {n - 1}"}
    rows = con.execute("SELECT declaration_id, _source_row FROM raw.declaration_items ORDER BY 2").fetchall()
    assert rows == [("R1", 1), ("R2", 2), ("R4", 4), ("R5", 5)]  # the rows after it keep their numbers


def test_reasons_name_the_fault_even_for_a_huge_line_and_never_quote_its_content(con, tmp_path):
    landing = tmp_path / "landing"
    folder = landing / "declarations"
    huge = item(declaration_id="BIG", trader_id=SECRET_TRADER, goods_description="x" * 3_000_000)
    write_csv(folder / "huge.csv", [item(declaration_id="S1", trader_id=SECRET_TRADER), huge])
    text = write_csv(folder / "cut.csv", [item(declaration_id=f"C{i}", trader_id=SECRET_TRADER) for i in range(3)])
    body = text.read_text()
    text.write_text(body[: body.rindex(SECRET_TRADER) + 4])  # a transfer cut inside a line holding the id
    report = load(con, landing)
    huge_reason = reasons(con)[2]
    assert huge_reason.startswith("line 3: ") and "maximum line size" in huge_reason.lower(), huge_reason[:300]
    cut = next(f for f in report.files if f.relpath.endswith("cut.csv"))
    assert cut.status == "rejected" and cut.error.startswith("truncated: the last line (line 4)"), cut.error
    texts = [r for (r,) in con.execute("SELECT reasons FROM raw.quarantine").fetchall()]
    texts += [e for (e,) in con.execute("SELECT error FROM raw.load_log WHERE error IS NOT NULL").fetchall()]
    assert texts and all(SECRET_TRADER not in t and len(t) < 1000 for t in texts)
    # the clear id is nowhere in the warehouse file: raw rows carry its key
    con.execute("CHECKPOINT")
    assert SECRET_TRADER.encode() not in (tmp_path / "w.duckdb").read_bytes()


def test_a_quoted_header_holding_a_comma_parses(con, tmp_path):
    landing = tmp_path / "landing"
    path = landing / "declarations" / "day.csv"
    path.parent.mkdir(parents=True)
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh, quoting=csv.QUOTE_ALL)
        writer.writerow([*DECLARATION_COLUMNS, "remarks, internal"])
        writer.writerow([*(GOOD[c] for c in DECLARATION_COLUMNS), "a note, with a comma"])
    report = load(con, landing)
    assert report.loaded == 1 and not report.rejected


def test_files_to_load_picks_up_changed_files_of_any_day():
    def f(day: str, sha: str) -> LandingFile:
        return LandingFile(Path(f"items_{day}.csv"), f"declarations/items_{day}.csv", sha)

    files = [f("2022-05-01", "old"), f("2022-05-02", "new-content"), f("2022-05-09", "x"), f("2022-05-10", "y")]
    loaded = {
        "declarations/items_2022-05-01.csv": ("old", 3),
        "declarations/items_2022-05-02.csv": ("previous", 3),
        "declarations/items_2022-05-09.csv": ("x", 3),
    }
    chosen = [x.relpath[-14:-4] for x in files_to_load(files, date(2022, 5, 9), date(2022, 5, 9), loaded)]
    assert chosen == ["2022-05-02", "2022-05-09", "2022-05-10"]


RAW = [raw_declaration_items, raw_reference_tables]


def test_a_nightly_run_picks_up_a_corrected_older_day_and_warns_of_emptied_or_removed_files(tmp_path):
    landing = tmp_path / "landing"
    write_reference_tables(landing / "reference")
    folder = landing / "declarations"
    days = {
        d: write_csv(
            folder / f"items_{d}.csv",
            [item(declaration_id=f"{d}-{i}", lodged_at=f"{d} 09:00:00", released_at="") for i in range(3)],
        )
        for d in ("2022-05-01", "2022-05-02", "2022-05-03", "2022-05-10")
    }
    assert landing_days(landing) == (date(2022, 5, 1), date(2022, 5, 10))
    first = materialize_nightly(landing, tmp_path / "var", assets=RAW)
    assert first.success
    # before the night of 2022-05-10: a corrected 05-01, a header-only 05-02 and 05-03 withdrawn
    write_csv(
        days["2022-05-01"],
        [
            item(
                declaration_id="2022-05-01-0",
                lodged_at="2022-05-01 09:00:00",
                released_at="",
                customs_value_omr="1.000",
            )
        ],
    )
    write_csv(days["2022-05-02"], [])
    days["2022-05-03"].unlink()
    night = materialize_nightly(landing, tmp_path / "var", assets=RAW, days=(date(2022, 5, 10), date(2022, 5, 10)))
    assert night.success
    con = duckdb.connect(str(tmp_path / "var" / "warehouse.duckdb"), read_only=True)
    by_day = dict(
        con.execute("SELECT CAST(lodged_at AS DATE), count(*) FROM raw.declaration_items GROUP BY 1").fetchall()
    )
    assert by_day == {date(2022, 5, 1): 1, date(2022, 5, 3): 3, date(2022, 5, 10): 3}  # 05-02 emptied, 05-03 stays
    changed = {d for (d,) in con.execute("SELECT day FROM raw.load_changes").fetchall()}
    assert {date(2022, 5, 1), date(2022, 5, 2)} <= changed  # what is built on them rebuilds from there
    con.close()
    check = {c.check_name: c for c in night.get_asset_check_evaluations()}["deliveries_complete"]
    assert not check.passed and check.severity.value == "WARN"
    assert "items_2022-05-02.csv was re-delivered with no rows (it held 3)" in check.description
    assert "items_2022-05-03.csv is no longer in the landing area; its 3 loaded rows stay" in check.description


def test_the_party_ids_of_a_load_are_keyed_and_only_the_restricted_store_holds_them(con, tmp_path):
    landing = tmp_path / "landing"
    write_csv(landing / "declarations" / "day.csv", [item(trader_id=SECRET_TRADER), item(declaration_id="Q", flow="Z")])
    load(con, landing)
    (key,) = con.execute("SELECT trader_key FROM raw.declaration_items").fetchall()[0]
    assert key.startswith("T-") and len(key) == 26
    store = tmp_path / "restricted" / "restricted.duckdb"
    assert oct(store.parent.stat().st_mode & 0o777) == "0o700" and oct(store.stat().st_mode & 0o777) == "0o600"
    with duckdb.connect(str(store), read_only=True) as restricted:
        keys = dict(
            restricted.execute("SELECT party_id, party_key FROM party_keys WHERE party_type = 'trader'").fetchall()
        )
        record = json.loads(restricted.execute("SELECT record FROM quarantine_records").fetchall()[0][0])
    assert keys[SECRET_TRADER] == key and record["flow"] == "Z"


def test_reidentification_needs_the_key_an_officer_and_a_reason_and_is_logged(con, tmp_path, monkeypatch):
    from orchestration.cli import main

    monkeypatch.setenv("CUSTOMS_PSEUDONYMISATION_KEY", "the-real-key")
    monkeypatch.setenv("CUSTOMS_DUCKDB_PATH", str(tmp_path / "w.duckdb"))
    landing = tmp_path / "landing"
    write_csv(landing / "declarations" / "day.csv", [item(declaration_id="OM2022X1", trader_id=SECRET_TRADER)])
    load(con, landing)
    trader_key, ref = con.execute("SELECT trader_key, declaration_ref FROM raw.declaration_items").fetchall()[0]
    con.execute("CHECKPOINT")
    con.close()
    assert main(["reidentify", trader_key, "--officer", "A. Officer", "--reason", "case 2022/17"]) == 0
    assert main(["reidentify", ref, "--officer", "A. Officer", "--reason", "case 2022/17"]) == 0
    monkeypatch.setenv("CUSTOMS_PSEUDONYMISATION_KEY", "a-guessed-key")
    assert main(["reidentify", trader_key, "--officer", "Mallory", "--reason", "curious"]) == 1
    monkeypatch.delenv("CUSTOMS_PSEUDONYMISATION_KEY")
    assert main(["reidentify", trader_key, "--officer", "Mallory", "--reason", "curious"]) == 1
    audit = tmp_path / "restricted" / "reidentification_audit.jsonl"
    entries = [json.loads(line) for line in audit.read_text().splitlines()]
    assert [(e["officer"], e["answered"]) for e in entries] == [
        ("A. Officer", True),
        ("A. Officer", True),
        ("Mallory", False),
    ]
    assert oct(audit.stat().st_mode & 0o777) == "0o600" and SECRET_TRADER not in audit.read_text()


def test_a_partner_year_fetched_only_in_part_is_named_in_the_delivery_warnings():
    from orchestration.assets.raw import delivery_warnings
    from orchestration.ingest.loader import LoadReport

    warnings = delivery_warnings(LoadReport("partner_trade", "l1"), [], {2022: ["IND", "PAK"]})
    assert warnings == ["partner records of 2022 are incomplete: IND, PAK failed to fetch (see _incomplete.json)"]


def test_a_second_pseudonymisation_key_is_refused_instead_of_splitting_every_trader(con, tmp_path, monkeypatch):
    landing = tmp_path / "landing"
    monkeypatch.setenv("CUSTOMS_PSEUDONYMISATION_KEY", "the-first-key")
    write_csv(landing / "declarations" / "a.csv", [item()])
    load(con, landing)
    monkeypatch.setenv("CUSTOMS_PSEUDONYMISATION_KEY", "another-key")
    write_csv(landing / "declarations" / "b.csv", [item(declaration_id="B")])
    with pytest.raises(PermissionError, match="not the one the keys in .* were made with"):
        load_files(con, contracts.DECLARATION_ITEMS, scan(landing, "declarations"))
    assert con.execute("SELECT count(*) FROM raw.declaration_items").fetchall()[0][0] == 1  # nothing half-loaded


def test_duplicates_are_found_when_an_optional_key_part_is_absent_and_wildcard_names_are_refused(con, tmp_path):
    folder = tmp_path / "landing" / "partner_trade"
    folder.mkdir(parents=True)
    header = [k for k in RECORD if k not in ("customsCode", "motCode")]  # optional parts of the key, absent
    line = ",".join("" if RECORD[k] is None else str(RECORD[k]) for k in header)
    (folder / "a.csv").write_text(",".join(header) + "\n" + line + "\n" + line + "\n")
    (folder / "a_*.csv").write_text(",".join(header) + "\n" + line + "\n")
    report = load(con, tmp_path / "landing", contracts.PARTNER_TRADE, "partner_trade")
    status = {f.relpath.rsplit("/", 1)[-1]: f for f in report.files}
    assert (status["a.csv"].loaded, status["a.csv"].quarantined) == (1, 1)
    assert status["a_*.csv"].status == "rejected" and "wildcard" in status["a_*.csv"].error


def test_an_unterminated_quote_inside_a_file_rejects_it_rather_than_swallowing_the_lines_after_it(con, tmp_path):
    landing = tmp_path / "landing"
    path = write_csv(landing / "declarations" / "day.csv", [item(declaration_id=f"U{i}") for i in range(1, 5)])
    lines = path.read_text().splitlines(keepends=True)
    lines[2] = lines[2].replace(",Smartphones,", ',"Smartphones,', 1)  # a quote opened, never closed
    path.write_text("".join(lines))
    report = load(con, landing)
    (result,) = report.files
    assert result.status == "rejected" and "unterminated quote at line 3" in result.error
    assert result.received == result.rejected_rows == 4  # every line counted, none lost in silence
