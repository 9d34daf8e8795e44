"""The Comtrade client against local servers on 127.0.0.1 replaying Comtrade-shaped responses:
chunking at the record cap, 429 with Retry-After (and its cap), 5xx, timeouts, slow drips, corrupt
gzip, truncated and empty bodies, wrong-schema records and records of another year, the call budget
and its state file, a year left incomplete by a failed reporter, and the key never leaving the
request header to this origin (not through redirects, errors, logs, events or files)."""

from __future__ import annotations

import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import duckdb
import pytest
from dagster import AssetKey, DagsterInstance, build_run_status_sensor_context, materialize

from orchestration.assets.comtrade import comtrade_api
from orchestration.assets.raw import raw_partner_trade, raw_reference_tables
from orchestration.ingest import contracts
from orchestration.ingest.comtrade import Chunk, ComtradeClient, ComtradeError, incomplete_years
from orchestration.ingest.loader import load_files
from orchestration.ingest.readers import scan
from orchestration.resources import ComtradeResource, LandingAreaResource, WarehouseResource
from orchestration.sensors import record_run_failures

KEY = "3f2a9c0d1e8b47a6b5c4d3e2f1a09b8c"  # the shape of a Comtrade subscription key
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
    """Scripted answers by (reporterCode, flowCode, cmdCode), else by (flowCode, cmdCode); each entry
    is a list consumed one call at a time (the last one repeats). An answer is (status, headers,
    payload, delay) or a callable that writes the response itself."""

    def __init__(self):
        self.script: dict[tuple[str, ...], list] = {}
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
                which = (query.get("reporterCode"), query["flowCode"], query["cmdCode"])
                answers = replay.script.get(which) or replay.script[which[1:]]
                answer = answers.pop(0) if len(answers) > 1 else answers[0]
                if callable(answer):
                    return answer(self)
                status, headers, payload, delay = answer
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
def start_server():
    """Start local replay servers (each on its own port, so each is its own origin)."""
    running = []

    def start() -> Replay:
        replay = Replay()
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), replay.handler())
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        replay.url = f"http://127.0.0.1:{httpd.server_address[1]}"
        running.append(httpd)
        return replay

    yield start
    for httpd in running:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def server(start_server):
    return start_server()


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
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
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
    loaded = load_files(
        duckdb.connect(str(tmp_path / "w.duckdb")), contracts.PARTNER_TRADE, scan(landing, "partner_trade")
    )
    assert loaded.received == 0 and loaded.count("loaded") == 1 and loaded.reconciles


def test_a_wrong_schema_record_is_quarantined_with_its_reason(server, client, tmp_path):
    server.script[("X", "AG6")] = [ok([record("851713"), {**record("851714"), "primaryValue": "n/a", "flowCode": "Q"}])]
    landing = tmp_path / "landing"
    client.fetch(Chunk(156, 2022, "X"), landing / "partner_trade" / "api", HS6)
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    loaded = load_files(con, contracts.PARTNER_TRADE, scan(landing, "partner_trade"))
    assert (loaded.loaded, loaded.quarantined) == (1, 1)
    assert con.execute("SELECT reasons FROM raw.quarantine").fetchall() == [
        ("flowCode: must be M, X, RM or RX; primaryValue: not a valid double (n/a)",)
    ]


def test_the_daily_call_budget_stops_the_client(server, tmp_path):
    for flow in ("X", "M", "RX"):
        server.script[(flow, "AG6")] = [ok([record("851713", flow=flow)])]
    c = ComtradeClient(
        base_url=server.url, daily_call_budget=2, state_file=tmp_path / "calls.json", sleep=lambda s: None
    )
    c.fetch(Chunk(156, 2022, "X"), tmp_path / "out", HS6)
    c.fetch(Chunk(156, 2022, "M"), tmp_path / "out", HS6)
    with pytest.raises(ComtradeError, match="daily call budget of 2 calls is used up"):
        c.fetch(Chunk(156, 2022, "RX"), tmp_path / "out", HS6)


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


def leaks(root) -> list:
    """Files under `root` holding the key, in any letter case."""
    return [p for p in root.rglob("*") if p.is_file() and KEY.encode() in p.read_bytes().lower()]


def test_a_redirect_to_another_origin_is_refused_and_that_origin_never_sees_the_key(
    start_server, client, tmp_path, monkeypatch
):
    monkeypatch.setenv("COMTRADE_API_KEY", KEY)
    server, elsewhere = start_server(), start_server()  # another port: another origin
    elsewhere.script[("X", "AG6")] = [ok([record("851713")])]
    server.script[("X", "AG6")] = [
        (302, {"Location": f"{elsewhere.url}/data/v1/get/C/A/HS?flowCode=X&cmdCode=AG6"}, b"", 0)
    ]
    client.base_url = server.url
    with pytest.raises(ComtradeError, match="redirects to another origin") as refused:
        client.fetch(Chunk(156, 2022, "X"), tmp_path / "out", HS6)
    assert elsewhere.requests == [] and len(server.requests) == 1  # refused at once, not retried
    assert KEY not in str(refused.value)


def test_a_redirect_within_the_origin_is_followed_with_the_key(server, client, tmp_path, monkeypatch):
    monkeypatch.setenv("COMTRADE_API_KEY", KEY)
    server.script[("X", "AG6")] = [
        (307, {"Location": "/data/v1/get/C/A/HS?flowCode=X&cmdCode=AG6&moved=1"}, b"", 0),
        ok([record("851713")]),
    ]
    report = client.fetch(Chunk(156, 2022, "X"), tmp_path / "out", HS6)
    assert report.records == 1 and report.calls == 2
    assert [r["key"] for r in server.requests] == [KEY, KEY] and server.requests[1]["query"]["moved"] == "1"


def test_a_key_with_a_stray_newline_is_stripped_and_never_echoed(server, client, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("COMTRADE_API_KEY", f" {KEY}\n")
    caplog.set_level(logging.DEBUG)
    server.script[("X", "AG6")] = [ok([record("851713")])]
    assert client.fetch(Chunk(156, 2022, "X"), tmp_path / "out", HS6).records == 1
    assert server.requests[0]["key"] == KEY and KEY not in caplog.text


def test_a_key_of_another_shape_fails_naming_the_variable_not_the_value(server, client, tmp_path, monkeypatch):
    monkeypatch.setenv("COMTRADE_API_KEY", "my-key-is-not-hex")
    server.script[("X", "AG6")] = [ok([record("851713")])]
    with pytest.raises(ComtradeError, match=r"\$COMTRADE_API_KEY does not hold a Comtrade subscription key") as bad:
        client.fetch(Chunk(156, 2022, "X"), tmp_path / "out", HS6)
    assert "my-key-is-not-hex" not in str(bad.value) and server.requests == []  # never sent


def test_a_body_echoing_the_key_is_redacted_in_errors_logs_and_files(server, client, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("COMTRADE_API_KEY", KEY)
    caplog.set_level(logging.DEBUG)
    # the key 290 characters in, so a message cut at 300 would keep part of it unless redacted first
    server.script[("X", "AG6")] = [(401, {}, f'{{"message": "{"x" * 264} invalid key {KEY}"}}'.encode(), 0)]
    server.script[("M", "AG6")] = [
        (200, {}, f'{{"count": 0, "data": [], "error": "bad key {KEY.upper()}"}}'.encode(), 0)
    ]
    server.script[("RX", "AG6")] = [ok([{**record("851713", flow="RX"), "note": f"issued to {KEY}"}])]
    folder = tmp_path / "landing" / "partner_trade" / "api"
    with pytest.raises(ComtradeError, match="HTTP 401") as unauthorized:
        client.fetch(Chunk(156, 2022, "X"), folder, HS6)
    with pytest.raises(ComtradeError, match="the service reports an error: bad key \\[redacted\\]") as malformed:
        client.fetch(Chunk(156, 2022, "M"), folder, HS6)
    client.fetch(Chunk(156, 2022, "RX"), folder, HS6)
    messages = str(unauthorized.value) + str(malformed.value)
    assert KEY[:8] not in messages and KEY[-8:] not in messages and "[redacted]" in str(unauthorized.value)
    assert list((folder / "_rejected").glob("*.json")) and leaks(tmp_path) == []
    assert "echoes the subscription key" in caplog.text and KEY not in caplog.text.lower()


def test_a_retry_after_beyond_the_cap_fails_at_once_without_sleeping(server, client, tmp_path):
    server.script[("X", "AG6")] = [(429, {"Retry-After": "100000"}, b'{"statusCode": 429}', 0), ok([record("851713")])]
    with pytest.raises(ComtradeError, match="asks to wait 100000 s .* more than the 300 s cap"):
        client.fetch(Chunk(156, 2022, "X"), tmp_path / "out", HS6)
    assert client.waits == [] and len(server.requests) == 1


def drip(payload: bytes, every: float):
    """A 200 whose body arrives a byte at a time: each read is quick, the whole never is."""

    def answer(handler):
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        try:
            for byte in payload:
                handler.wfile.write(bytes([byte]))
                time.sleep(every)
        except OSError:  # the client hung up
            pass

    return answer


def test_a_slow_drip_body_is_cut_at_the_deadline_retried_then_fails_clearly(server, client, tmp_path):
    client.deadline_seconds = 1.0
    server.script[("X", "AG6")] = [drip(body([record("851713")]), 0.2), ok([record("851713")])]
    started = time.monotonic()
    report = client.fetch(Chunk(156, 2022, "X"), tmp_path / "out", HS6)
    assert report.records == 1 and report.retries == 1 and time.monotonic() - started < 3
    client.max_retries = 0
    server.script[("M", "AG6")] = [drip(body([record("851713", flow="M")]), 0.2)]
    with pytest.raises(ComtradeError, match="gave up after 1 attempts .*within the 1 s deadline"):
        client.fetch(Chunk(156, 2022, "M"), tmp_path / "out", HS6)
    assert time.monotonic() - started < 5


def test_a_corrupt_gzip_body_is_retried(server, client, tmp_path):
    server.script[("X", "AG6")] = [
        (200, {"Content-Encoding": "gzip"}, b"\x1f\x8b\x08\x00 these bytes are no gzip stream", 0),
        ok([record("851713")]),
    ]
    report = client.fetch(Chunk(156, 2022, "X"), tmp_path / "out", HS6)
    assert report.records == 1 and report.retries == 1


def test_the_call_budget_state_is_replaced_atomically(server, client, tmp_path):
    server.script[("X", "AG6")] = [ok([record("851713")])]
    state = tmp_path / "calls.json"
    client.fetch(Chunk(156, 2022, "X"), tmp_path / "out", HS6)
    before = state.stat().st_ino
    client.fetch(Chunk(156, 2022, "X"), tmp_path / "out", HS6)
    # a new file renamed over the old one: a reader or a crash never meets a half-written file
    assert state.stat().st_ino != before and list(json.loads(state.read_text()).values()) == [2]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["calls.json", "out"]  # no temporary left behind


def test_a_corrupt_call_budget_state_is_set_aside_and_counting_goes_on(server, client, tmp_path, caplog):
    server.script[("X", "AG6")] = [ok([record("851713")])]
    state = tmp_path / "calls.json"
    state.write_text('{"2024-05-0')  # half-written, today
    client.fetch(Chunk(156, 2022, "X"), tmp_path / "out", HS6)
    assert "unreadable" in caplog.text and "counting 50 of 100 calls as used today" in caplog.text
    assert list(json.loads(state.read_text()).values()) == [51]  # conservatively, not from zero
    (aside,) = tmp_path.glob("calls.json.corrupt-*")
    assert aside.read_text() == '{"2024-05-0'


def test_records_of_a_year_not_asked_for_are_rejected_and_kept_aside(server, client, tmp_path):
    server.script[("X", "AG6")] = [ok([record("851713"), {**record("851714"), "period": "2021"}])]
    folder = tmp_path / "landing" / "partner_trade" / "api"
    with pytest.raises(ComtradeError, match=r"records of years not asked for: 2021 \(1\) in a body for 2022"):
        client.fetch(Chunk(156, 2022, "X"), folder, HS6)
    assert scan(tmp_path / "landing", "partner_trade") == []  # nothing stored as a delivery
    assert [p.name for p in (folder / "_rejected").iterdir()] == ["comtrade_156_2022_X_all.json"]


def test_a_year_with_a_failed_reporter_is_marked_incomplete_until_fetched_again(server, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("CUSTOMS_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("COMTRADE_API_KEY", KEY)
    caplog.set_level(logging.DEBUG)
    for flow in ("X", "M"):
        server.script[(flow, "AG6")] = [ok([record("851713", 5.0, flow=flow)])]
        server.script[("699", flow, "AG6")] = [(401, {}, f'{{"message": "key {KEY} is not valid"}}'.encode(), 0)]
    landing = tmp_path / "landing"
    resources = {
        "warehouse": WarehouseResource(path=str(tmp_path / "w.duckdb")),
        "landing": LandingAreaResource(path=str(landing)),
        "comtrade": ComtradeResource(base_url=server.url, backoff_seconds=0.01),
    }
    fetch = {"ops": {"landing__comtrade_api": {"config": {"reporters": ["IND", "CHN"], "flows": ["X", "M"]}}}}
    with DagsterInstance.ephemeral() as instance:
        assert materialize([raw_reference_tables], resources=resources, instance=instance).success
        failed = materialize(
            [comtrade_api],
            resources=resources,
            instance=instance,
            partition_key="2022",
            run_config=fetch,
            raise_on_error=False,
        )
        assert not failed.success
        failure = next(e for e in failed.all_events if e.is_step_failure)
        assert "2022 is incomplete: 1 of 2 reporters failed (IND)" in failure.event_specific_data.error.message
        marked = instance.get_latest_materialization_event(AssetKey(["landing", "comtrade_api"]))
        metadata = marked.asset_materialization.metadata
        assert metadata["complete"].value is False and metadata["failed_reporters"].value == ["IND"]
        assert metadata["files"].value == 2  # CHN went on after IND failed
        marker = landing / "partner_trade" / "comtrade_api" / "2022" / "_incomplete.json"
        assert "HTTP 401" in json.loads(marker.read_text())["failed"]["IND"]
        assert incomplete_years(landing) == {2022: ["IND"]}
        context = build_run_status_sensor_context(
            sensor_name="record_run_failures",
            dagster_instance=instance,
            dagster_run=instance.get_run_by_id(failed.run_id),
            dagster_event=failure,
        ).for_run_failure()
        record_run_failures(context)
        events = json.dumps([str(e) for e in instance.all_logs(failed.run_id)])
        assert KEY not in events.lower() and KEY not in caplog.text.lower()
        assert leaks(tmp_path) == [] and (tmp_path / "var" / "alerts" / "run_failures.jsonl").exists()
        # the loader ignores the marker: the reporters that came through load
        assert materialize([raw_partner_trade], resources=resources, instance=instance).success

        for flow in ("X", "M"):
            server.script[("699", flow, "AG6")] = [ok([record("851713", 7.0, reporter=699, flow=flow)])]
        again = materialize(
            [comtrade_api], resources=resources, instance=instance, partition_key="2022", run_config=fetch
        )
        assert again.success and not marker.exists() and incomplete_years(landing) == {}
        complete = instance.get_latest_materialization_event(AssetKey(["landing", "comtrade_api"]))
        assert complete.asset_materialization.metadata["complete"].value is True
