"""UN Comtrade API v1 client: partners' records about Oman, fetched in chunks that stay under the
record cap, stored as files in the landing area before anything is parsed.

- With a subscription key (read from the environment at request time, stripped and checked for its
  shape, never held in configuration) it calls `/data/v1/get`; without one, the keyless preview
  endpoint (at most 500 records a call) with a warning. The key goes only into the request header,
  only to the configured origin (redirects elsewhere are refused), and is redacted from every body,
  message and file the client writes, since a hostile or broken server may echo it.
- A chunk is reporter x year x flow; when a response is at the record cap, the chunk is split by HS
  chapter, then by heading, and fetched again.
- 429 waits as long as `Retry-After` says, up to a cap (beyond it the client fails at once rather
  than hold the warehouse pool for hours); 5xx, timeouts, dropped connections, undecodable bodies
  and responses slower than the per-request deadline are retried with exponential backoff; a
  truncated or malformed body, or one holding records of another year, fails loudly (and is kept
  aside for inspection); other 4xx fail at once.
- A daily call budget, counted in a small state file (replaced atomically), stops the client before
  the service does.
- A reference year that could not be fetched for every reporter carries an `_incomplete.json`
  marker in its folder until a later fetch completes it.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import AnyStr
from urllib.parse import urljoin, urlsplit

import requests
import urllib3

from orchestration.rules import home_comtrade_code

log = logging.getLogger(__name__)

KEYED_CAP = 250_000
PREVIEW_CAP = 500
KEY_HEADER = "Ocp-Apim-Subscription-Key"
KEY_SHAPE = re.compile(r"[0-9a-fA-F]{32}")
REDACTED = "[redacted]"
MAX_REDIRECTS = 5
READ_SIZE = 1 << 16
INCOMPLETE_MARKER = "_incomplete.json"


class ComtradeError(RuntimeError):
    """The service refused, failed repeatedly, or answered with something that is not a full body."""


class _DeadlinePassed(Exception):
    """The response was still arriving when the per-request deadline passed (a slow drip)."""


class _Rejected(ValueError):
    """A complete body that must not be stored as a delivery."""


# Failures of the exchange itself, worth another attempt (urllib3's own errors surface while the
# body is streamed: dropped connections, read timeouts, undecodable gzip).
TRANSPORT_ERRORS = (
    requests.Timeout,
    requests.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
    urllib3.exceptions.HTTPError,
    _DeadlinePassed,
)


@dataclass(frozen=True)
class Chunk:
    reporter: int
    year: int
    flow: str
    commodities: tuple[str, ...] = ()  # empty: every HS6 code (AG6)
    label: str = "all"

    def params(self) -> dict:
        return {
            "reporterCode": self.reporter,
            "period": self.year,
            "partnerCode": home_comtrade_code(),
            "partner2Code": 0,
            "flowCode": self.flow,
            "cmdCode": ",".join(self.commodities) or "AG6",
            "customsCode": "C00",
            "motCode": 0,
            "includeDesc": "false",
        }

    def file_name(self) -> str:
        return f"comtrade_{self.reporter}_{self.year}_{self.flow}_{self.label}.json"

    def __str__(self) -> str:
        return f"reporter {self.reporter} {self.year} {self.flow} {self.label}"


def split(chunk: Chunk, hs6_codes: list[str]) -> list[Chunk]:
    """A chunk at the record cap, one level finer: by HS chapter, then by heading."""
    codes = list(chunk.commodities) or hs6_codes
    width = 2 if not chunk.commodities else 4
    groups: dict[str, list[str]] = {}
    for code in codes:
        groups.setdefault(code[:width], []).append(code)
    if len(groups) <= 1:
        raise ComtradeError(
            f"chunk {chunk.label} of reporter {chunk.reporter} {chunk.year} {chunk.flow} is at the "
            "record cap and cannot be split further"
        )
    return [
        Chunk(chunk.reporter, chunk.year, chunk.flow, tuple(sorted(v)), f"{'ch' if width == 2 else 'hd'}{k}")
        for k, v in sorted(groups.items())
    ]


@dataclass
class FetchReport:
    calls: int = 0
    retries: int = 0
    records: int = 0
    files: list[Path] = field(default_factory=list)
    splits: int = 0


class ComtradeClient:
    def __init__(
        self,
        base_url: str = "https://comtradeapi.un.org",
        key_env: str = "COMTRADE_API_KEY",
        timeout: float = 60.0,
        max_retries: int = 5,
        backoff_seconds: float = 2.0,
        daily_call_budget: int = 500,
        state_file: Path | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_retry_after_seconds: float = 300.0,
        deadline_seconds: float = 600.0,
    ):
        self.base_url = base_url.rstrip("/")
        self.key_env = key_env
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff_seconds = backoff_seconds
        self.daily_call_budget = daily_call_budget
        self.state_file = state_file
        self.sleep = sleep
        self.max_retry_after_seconds = max_retry_after_seconds
        self.deadline_seconds = deadline_seconds
        self.session = requests.Session()

    def key(self) -> str | None:
        """The subscription key without stray whitespace; None when unset (keyless preview). A value of
        the wrong shape fails here, before it is sent anywhere, naming the variable, never the value."""
        value = os.environ.get(self.key_env, "").strip()
        if not value:
            return None
        if not KEY_SHAPE.fullmatch(value):
            raise ComtradeError(
                f"${self.key_env} does not hold a Comtrade subscription key (32 hexadecimal characters); "
                "check the variable's value"
            )
        return value

    @property
    def keyed(self) -> bool:
        return self.key() is not None

    @property
    def record_cap(self) -> int:
        return KEYED_CAP if self.keyed else PREVIEW_CAP

    def redact(self, text: AnyStr) -> AnyStr:
        """`text` with every occurrence of the key (in any letter case) replaced by a marker."""
        key = os.environ.get(self.key_env, "").strip()
        if not KEY_SHAPE.fullmatch(key):
            return text  # no key of the right shape: none was ever sent
        if isinstance(text, bytes):
            return re.sub(re.escape(key.encode()), REDACTED.encode(), text, flags=re.IGNORECASE)
        return re.sub(re.escape(key), REDACTED, text, flags=re.IGNORECASE)

    def _url(self) -> str:
        if self.keyed:
            return f"{self.base_url}/data/v1/get/C/A/HS"
        return f"{self.base_url}/public/v1/preview/C/A/HS"

    def _count_call(self) -> None:
        if self.state_file is None:
            return
        today = datetime.now(UTC).date().isoformat()
        used = self._calls_used(today)
        if used >= self.daily_call_budget:
            raise ComtradeError(f"daily call budget of {self.daily_call_budget} calls is used up; resume tomorrow")
        write_atomically(self.state_file, json.dumps({today: used + 1}).encode())

    def _calls_used(self, today: str) -> int:
        """Today's count; an unreadable state file is set aside and, when it was written today, half
        the budget is assumed used (its count is lost, the service's own limit is not)."""
        try:
            state = json.loads(self.state_file.read_bytes())
            used = state.get(today, 0) if isinstance(state, dict) else None
            if isinstance(used, int) and not isinstance(used, bool) and used >= 0:
                return used
            problem = "not a count of calls per day"
        except FileNotFoundError:
            return 0
        except (ValueError, UnicodeDecodeError) as exc:
            problem = str(exc)
        written = datetime.fromtimestamp(self.state_file.stat().st_mtime, UTC).date().isoformat()
        aside = self.state_file.with_name(f"{self.state_file.name}.corrupt-{datetime.now(UTC):%Y%m%dT%H%M%S%f}")
        os.replace(self.state_file, aside)
        used = self.daily_call_budget // 2 if written == today else 0
        log.warning(
            "Comtrade call-budget state %s is unreadable (%s); set aside as %s, counting %d of %d calls as used today",
            self.state_file,
            problem,
            aside.name,
            used,
            self.daily_call_budget,
        )
        return used

    def _request(self, chunk: Chunk, report: FetchReport) -> bytes:
        key = self.key()
        headers = {KEY_HEADER: key} if key else {}
        for attempt in range(self.max_retries + 1):
            backoff = self.backoff_seconds * 2**attempt
            try:
                status, retry_after, content = self._exchange(chunk, headers, report)
            except TRANSPORT_ERRORS as exc:
                wait, reason = backoff, self._transport_reason(exc)
            else:
                if status == 200:
                    return content
                if status == 429:
                    if retry_after is not None and retry_after > self.max_retry_after_seconds:
                        raise ComtradeError(
                            f"{chunk}: the service asks to wait {retry_after:.0f} s (Retry-After), "
                            f"more than the {self.max_retry_after_seconds:.0f} s cap; try again later"
                        )
                    wait, reason = backoff if retry_after is None else retry_after, "429 Too Many Requests"
                elif status >= 500:
                    wait, reason = backoff, f"HTTP {status}"
                else:  # redact before cutting, or a cut could leave part of the key
                    text = self.redact(content.decode("utf-8", "replace"))
                    raise ComtradeError(f"{chunk}: HTTP {status}: {text[:300]}")
            if attempt == self.max_retries:
                raise ComtradeError(f"{chunk}: gave up after {attempt + 1} attempts ({reason})")
            log.warning("Comtrade %s: %s; retrying in %.1f s", chunk, reason, wait)
            report.retries += 1
            self.sleep(wait)
        raise AssertionError("unreachable")

    def _transport_reason(self, exc: Exception) -> str:
        if isinstance(exc, _DeadlinePassed):
            return f"no complete response within the {self.deadline_seconds:g} s deadline"
        return type(exc).__name__

    def _exchange(self, chunk: Chunk, headers: dict, report: FetchReport) -> tuple[int, float | None, bytes]:
        """One attempt: the call, any same-origin redirects, and the whole body, all before the deadline."""
        deadline = time.monotonic() + self.deadline_seconds
        url, params = self._url(), chunk.params()
        home = _origin(url)
        for _hop in range(MAX_REDIRECTS + 1):
            self._count_call()
            report.calls += 1
            with self.session.get(
                url, params=params, headers=headers, timeout=self.timeout, stream=True, allow_redirects=False
            ) as response:
                if not response.is_redirect:
                    return response.status_code, _retry_after(response), _read(response, deadline)
                target = urljoin(response.url, response.headers["Location"])
                if _origin(target) != home:
                    scheme, host, port = _origin(target)
                    raise ComtradeError(
                        self.redact(
                            f"{chunk}: the service redirects to another origin ({scheme}://{host}:{port}); "
                            f"refused, the subscription key is only sent to {self.base_url}"
                        )
                    )
                url, params = target, None  # the Location carries its own query
        raise ComtradeError(f"{chunk}: more than {MAX_REDIRECTS} redirects")

    def fetch(self, chunk: Chunk, folder: Path, hs6_codes: list[str], report: FetchReport | None = None) -> FetchReport:
        """Fetch `chunk` (splitting it while it hits the record cap) into files under `folder`."""
        report = report or FetchReport()
        received = self._request(chunk, report)
        body = self.redact(received)
        if body != received:
            log.warning("Comtrade %s: the response echoes the subscription key; redacted before it is stored", chunk)
        folder.mkdir(parents=True, exist_ok=True)
        try:
            data = _records(body, chunk.year)
        except _Rejected as exc:
            aside = folder / "_rejected" / chunk.file_name()
            write_atomically(aside, body)
            raise ComtradeError(f"{chunk}: {self.redact(str(exc))}; kept in {aside}") from None
        if len(data) >= self.record_cap:
            report.splits += 1
            for finer in split(chunk, hs6_codes):
                self.fetch(finer, folder, hs6_codes, report)
            return report
        path = folder / chunk.file_name()
        write_atomically(path, body)  # the response as received (key redacted), replayable offline
        report.files.append(path)
        report.records += len(data)
        return report


def _records(body: bytes, year: int) -> list:
    """The records of a complete body about `year`, or why it is rejected."""
    try:
        parsed = json.loads(body)
        data = parsed["data"]
    except (ValueError, KeyError, TypeError) as exc:
        raise _Rejected(f"truncated or malformed body ({type(exc).__name__}: {exc})") from None
    if not isinstance(data, list):
        raise _Rejected("truncated or malformed body ('data' is not a list)")
    if parsed.get("count") is not None and parsed["count"] != len(data):
        raise _Rejected(f"truncated or malformed body (count says {parsed['count']} records, data holds {len(data)})")
    if parsed.get("error"):
        raise _Rejected(f"truncated or malformed body (the service reports an error: {parsed['error']})")
    if not all(isinstance(r, dict) for r in data):
        raise _Rejected("truncated or malformed body (a record is not an object)")
    others = Counter(
        str(r[f]) for r in data for f in ("period", "refYear") if r.get(f) is not None and str(r[f]) != str(year)
    )
    if others:
        found = ", ".join(f"{y} ({n})" for y, n in sorted(others.items()))
        raise _Rejected(f"records of years not asked for: {found} in a body for {year}")
    return data


def _read(response: requests.Response, deadline: float) -> bytes:
    """The whole (decoded) body, read as it arrives so that a slow drip cannot outlast `deadline`."""
    parts = []
    while time.monotonic() <= deadline:
        part = response.raw.read1(READ_SIZE, decode_content=True)
        if not part:
            return b"".join(parts)
        parts.append(part)
    raise _DeadlinePassed()


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or {"http": 80, "https": 443}.get(scheme)


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
        except (TypeError, ValueError):
            return None


def write_atomically(path: Path, data: bytes) -> None:
    """Write through a temporary file in the same folder and rename it over `path`: a reader or a
    crash never sees a half-written file (the temporary's leading '.' keeps it out of the loader)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False) as fh:
        try:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        except BaseException:
            os.unlink(fh.name)
            raise
    os.replace(fh.name, path)


def year_folder(landing_root: Path, year: int) -> Path:
    return landing_root / "partner_trade" / "comtrade_api" / str(year)


def mark_incomplete(folder: Path, year: int, failed: dict[str, str]) -> Path:
    """Record in the year's folder which reporters failed and why (the '_' keeps it out of the loader)."""
    marker = folder / INCOMPLETE_MARKER
    entry = {"year": year, "complete": False, "failed": failed, "at": datetime.now(UTC).isoformat()}
    write_atomically(marker, json.dumps(entry, indent=2).encode())
    return marker


def clear_incomplete(folder: Path) -> None:
    (folder / INCOMPLETE_MARKER).unlink(missing_ok=True)


def incomplete_years(landing_root: Path) -> dict[int, list[str]]:
    """{reference year: reporters that failed} for every fetched year still marked incomplete."""
    years = {}
    for marker in sorted((landing_root / "partner_trade" / "comtrade_api").glob(f"*/{INCOMPLETE_MARKER}")):
        if not marker.parent.name.isdigit():
            continue
        try:
            failed = sorted(json.loads(marker.read_bytes())["failed"])
        except (ValueError, KeyError, TypeError):
            failed = [f"(unreadable {INCOMPLETE_MARKER})"]
        years[int(marker.parent.name)] = failed
    return years
