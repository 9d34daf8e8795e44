"""The Comtrade client against a local server on 127.0.0.1 replaying Comtrade-shaped responses:
chunking at the record cap, 429 with Retry-After, 5xx, timeouts, truncated and empty bodies,
wrong-schema records, the call budget, and the key never leaving the request header."""

from __future__ import annotations

import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import duckdb
import pytest
from dagster import DagsterInstance, materialize

from orchestration.assets.comtrade import comtrade_api
from orchestration.assets.raw import raw_partner_trade, raw_reference_tables
from orchestration.ingest import contracts
from orchestration.ingest.comtrade import Chunk, ComtradeClient, ComtradeError
from orchestration.ingest.loader import load_files
from orchestration.ingest.readers import scan
from orchestration.resources import ComtradeResource, LandingAreaResource, WarehouseResource

KEY = "sk-test-0123456789abcdef"
HS6 = ["851713", "851714", "870323", "870324"]


def record(cmd: str, value=1000.0, reporter=156, flow="X") -> dict:
    return {
        "typeCode": "C",
        "freqCode": "A",
        "period": "2022",
        "reporterCode": reporter,
        "reporterISO": "CHN",
        "flowCode": flow,
        "partnerCode": 512,
        "partnerISO": "OMN",
        "partner2Code": 0,
        "classificationCode": "H6",
        "cmdCode": cmd,
        "customsCode": "C00",
        "motCode": 0,
        "qtyUnitCode": 8,
        "qty": 10.0,
        "netWgt": 10.0,
        "cifvalue": None,
        "fobvalue": value,
        "primaryValue": value,
        "isReported": True,
        "isAggregate": False,
    }


def body(records, count=None) -> bytes:
    return json.dumps(
        {"elapsedTime": "0.1 secs", "count": len(records) if count is None else count, "data": records, "error": ""}
    ).encode()


class Replay:
    """Scripted answers by (flowCode, cmdCode); each entry is a list consumed one call at a time."""

    def __init__(self):
        self.script: dict[tuple[str, str], list[tuple]] = {}
        self.requests: list[dict] = []

    def handler(self):
        replay = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                url = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                replay.requests.append(
                    {"path": url.path, "query": query, "key": self.headers.get("Ocp-Apim-Subscription-Key")}
                )
                answers = replay.script[(query["flowCode"], query["cmdCode"])]
                status, headers, payload, delay = answers.pop(0) if len(answers) > 1 else answers[0]
                time.sleep(delay)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        return Handler


@pytest.fixture
def server():
    replay = Replay()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), replay.handler())
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    replay.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield replay
    httpd.shutdown()


def ok(records, **kw):
    return (200, {"Content-Type": "application/json"}, body(records, **kw), 0)


@pytest.fixture
def client(server, tmp_path):
    waits = []
    c = ComtradeClient(
        base_url=server.url,
        timeout=0.5,
        max_retries=3,
        backoff_seconds=0.01,
        daily_call_budget=100,
        state_file=tmp_path / "calls.json",
        sleep=waits.append,
    )
    c.waits = waits
    return c


def test_a_chunk_at_the_record_cap_is_split_by_chapter_and_loads_without_loss_or_duplicates(
    server, client, tmp_path, monkeypatch
):
    monkeypatch.delenv("COMTRADE_API_KEY", raising=False)
    server.script[("X", "AG6")] = [ok([record("851713", i) for i in range(500)])]  # at the preview cap
    server.script[("X", "851713,851714")] = [ok([record(f"85171{3 + i % 2}", i) for i in range(300)], count=300)]
    server.script[("X", "870323,870324")] = [ok([record(f"87032{3 + i % 2}", i) for i in range(250)])]
    landing = tmp_path / "landing"
    report = client.fetch(Chunk(156, 2022, "X"), landing / "partner_trade" / "api", HS6)
    assert report.splits == 1 and report.records == 550 and len(report.files) == 2
    assert server.requests[0]["path"] == "/public/v1/preview/C/A/HS"  # keyless: the preview endpoint
    con = duckdb.connect()
    loaded = load_files(con, contracts.PARTNER_TRADE, scan(landing, "partner_trade"))
    assert loaded.received == 550 and loaded.reconciles
    # the synthetic records repeat keys (value i, cmd alternating): duplicates are quarantined, none lost
    assert loaded.loaded + loaded.quarantined == 550


def test_429_waits_as_long_as_retry_after_says_and_5xx_and_timeouts_are_retried(server, client, tmp_path):
    server.script[("X", "AG6")] = [
        (429, {"Retry-After": "7"}, b'{"statusCode": 429}', 0),
        (503, {}, b"busy", 0),
        (200, {}, body([record("851713")]), 1.0),  # slower than the client's timeout
        ok([record("851713")]),
    ]
    report = client.fetch(Chunk(156, 2022, "X"), tmp_path / "out", HS6)
    assert report.records == 1 and report.retries == 3 and report.calls == 4
    assert client.waits[0] == 7.0  # Retry-After honoured
    assert client.waits[1:] == [0.01 * 2, 0.01 * 4]  # exponential backoff for the 503 and the timeout


def test_giving_up_after_repeated_5xx_fails_loudly(server, client, tmp_path):
    server.script[("X", "AG6")] = [(500, {}, b"oops", 0)]
    with pytest.raises(ComtradeError, match="gave up after 4 attempts"):
        client.fetch(Chunk(156, 2022, "X"), tmp_path / "out", HS6)


def test_a_truncated_body_fails_loudly_and_is_kept_aside(server, client, tmp_path):
    full = body([record("851713"), record("851714")])
    server.script[("X", "AG6")] = [(200, {}, full[: len(full) - 40], 0)]
    folder = tmp_path / "landing" / "partner_trade" / "api"
    with pytest.raises(ComtradeError, match="truncated or malformed body"):
        client.fetch(Chunk(156, 2022, "X"), folder, HS6)
    assert scan(tmp_path / "landing", "partner_trade") == []  # nothing reaches the loader
    assert list((folder / "_rejected").glob("*.json"))


def test_an_empty_result_is_stored_and_loads_nothing(server, client, tmp_path):
    server.script[("M", "AG6")] = [ok([])]
    landing = tmp_path / "landing"
    report = client.fetch(Chunk(156, 2022, "M"), landing / "partner_trade" / "api", HS6)
    assert report.records == 0 and len(report.files) == 1
    loaded = load_files(duckdb.connect(), contracts.PARTNER_TRADE, scan(landing, "partner_trade"))
    assert loaded.received == 0 and loaded.count("loaded") == 1 and loaded.reconciles


def test_a_wrong_schema_record_is_quarantined_with_its_reason(server, client, tmp_path):
    server.script[("X", "AG6")] = [ok([record("851713"), {**record("851714"), "primaryValue": "n/a", "flowCode": "Q"}])]
    landing = tmp_path / "landing"
    client.fetch(Chunk(156, 2022, "X"), landing / "partner_trade" / "api", HS6)
    con = duckdb.connect()
    loaded = load_files(con, contracts.PARTNER_TRADE, scan(landing, "partner_trade"))
    assert (loaded.loaded, loaded.quarantined) == (1, 1)
    assert con.execute("SELECT reasons FROM raw.quarantine").fetchall() == [
        ("flowCode: must be M, X, RM or RX; primaryValue: not a valid double (n/a)",)
    ]


def test_the_daily_call_budget_stops_the_client(server, tmp_path):
    server.script[("X", "AG6")] = [ok([record("851713")])]
    c = ComtradeClient(
        base_url=server.url, daily_call_budget=2, state_file=tmp_path / "calls.json", sleep=lambda s: None
    )
    c.fetch(Chunk(156, 2021, "X"), tmp_path / "out", HS6)
    c.fetch(Chunk(156, 2022, "X"), tmp_path / "out", HS6)
    with pytest.raises(ComtradeError, match="daily call budget of 2 calls is used up"):
        c.fetch(Chunk(156, 2023, "X"), tmp_path / "out", HS6)


def test_the_key_is_sent_as_a_header_and_appears_nowhere_else(server, client, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("COMTRADE_API_KEY", KEY)
    caplog.set_level(logging.DEBUG)
    server.script[("X", "AG6")] = [(429, {"Retry-After": "0"}, b"slow down", 0), ok([record("851713")])]
    server.script[("M", "AG6")] = [(403, {}, b'{"message": "forbidden"}', 0)]
    folder = tmp_path / "out"
    report = client.fetch(Chunk(156, 2022, "X"), folder, HS6)
    with pytest.raises(ComtradeError) as refused:
        client.fetch(Chunk(156, 2022, "M"), folder, HS6)
    assert server.requests[0]["path"] == "/data/v1/get/C/A/HS" and server.requests[0]["key"] == KEY
    assert all(KEY not in json.dumps(r["query"]) for r in server.requests)  # never in the URL
    stored = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    assert KEY.encode() not in stored and KEY not in caplog.text and KEY not in str(refused.value)
    assert KEY not in repr(report)


def test_the_asset_fetches_a_year_that_raw_partner_trade_then_loads(server, tmp_path, monkeypatch):
    monkeypatch.setenv("CUSTOMS_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("COMTRADE_API_KEY", KEY)
    for flow in ("X", "M", "RX"):
        server.script[(flow, "AG6")] = [ok([record("851713", 5.0, flow=flow)])]
    resources = {
        "warehouse": WarehouseResource(path=str(tmp_path / "w.duckdb")),
        "landing": LandingAreaResource(path=str(tmp_path / "landing")),
        "comtrade": ComtradeResource(base_url=server.url, backoff_seconds=0.01),
    }
    instance = DagsterInstance.ephemeral()
    assert materialize([raw_reference_tables], resources=resources, instance=instance).success
    fetched = materialize(
        [comtrade_api],
        resources=resources,
        instance=instance,
        partition_key="2022",
        run_config={"ops": {"landing__comtrade_api": {"config": {"reporters": ["CHN"]}}}},
    )
    assert fetched.success
    assert materialize([raw_partner_trade], resources=resources, instance=instance).success
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    assert con.execute("SELECT count(*), count(DISTINCT flowCode) FROM raw.partner_trade").fetchall() == [(3, 3)]
    events = json.dumps([str(e) for e in fetched.all_events])
    assert KEY not in events
