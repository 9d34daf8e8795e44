"""UN Comtrade API v1 client: partners' records about Oman, fetched in chunks that stay under the
record cap, stored as files in the landing area before anything is parsed.

- With a subscription key (read from the environment at request time, never held in configuration,
  logs, files or error messages) it calls `/data/v1/get`; without one, the keyless preview endpoint
  (at most 500 records a call) with a warning.
- A chunk is reporter x year x flow; when a response is at the record cap, the chunk is split by HS
  chapter, then by heading, and fetched again.
- 429 waits as long as `Retry-After` says; 5xx, timeouts and dropped connections are retried with
  exponential backoff; a truncated or malformed body fails loudly (and is kept aside for inspection);
  other 4xx fail at once.
- A daily call budget, counted in a small state file, stops the client before the service does.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

import requests

log = logging.getLogger(__name__)

KEYED_CAP = 250_000
PREVIEW_CAP = 500
HOME_CODE = 512  # Oman


class ComtradeError(RuntimeError):
    """The service refused, failed repeatedly, or answered with something that is not a full body."""


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
            "partnerCode": HOME_CODE,
            "partner2Code": 0,
            "flowCode": self.flow,
            "cmdCode": ",".join(self.commodities) or "AG6",
            "customsCode": "C00",
            "motCode": 0,
            "includeDesc": "false",
        }

    def file_name(self) -> str:
        return f"comtrade_{self.reporter}_{self.year}_{self.flow}_{self.label}.json"


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
    ):
        self.base_url = base_url.rstrip("/")
        self.key_env = key_env
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff_seconds = backoff_seconds
        self.daily_call_budget = daily_call_budget
        self.state_file = state_file
        self.sleep = sleep
        self.session = requests.Session()

    @property
    def keyed(self) -> bool:
        return bool(os.environ.get(self.key_env))

    @property
    def record_cap(self) -> int:
        return KEYED_CAP if self.keyed else PREVIEW_CAP

    def _url(self) -> str:
        if self.keyed:
            return f"{self.base_url}/data/v1/get/C/A/HS"
        return f"{self.base_url}/public/v1/preview/C/A/HS"

    def _count_call(self) -> None:
        if self.state_file is None:
            return
        today = datetime.now(UTC).date().isoformat()
        state = json.loads(self.state_file.read_text()) if self.state_file.exists() else {}
        used = state.get(today, 0)
        if used >= self.daily_call_budget:
            raise ComtradeError(f"daily call budget of {self.daily_call_budget} calls is used up; resume tomorrow")
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        self.state_file.write_text(json.dumps({today: used + 1}))

    def _request(self, chunk: Chunk, report: FetchReport) -> bytes:
        headers = {"Ocp-Apim-Subscription-Key": os.environ[self.key_env]} if self.keyed else {}
        where = f"reporter {chunk.reporter} {chunk.year} {chunk.flow} {chunk.label}"
        for attempt in range(self.max_retries + 1):
            self._count_call()
            report.calls += 1
            try:
                response = self.session.get(self._url(), params=chunk.params(), headers=headers, timeout=self.timeout)
            except (requests.Timeout, requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
                wait, reason = self.backoff_seconds * 2**attempt, f"{type(exc).__name__}"
            else:
                if response.status_code == 200:
                    return response.content
                if response.status_code == 429:
                    wait, reason = _retry_after(response) or self.backoff_seconds * 2**attempt, "429 Too Many Requests"
                elif response.status_code >= 500:
                    wait, reason = self.backoff_seconds * 2**attempt, f"HTTP {response.status_code}"
                else:
                    raise ComtradeError(f"{where}: HTTP {response.status_code}: {response.text[:300]}")
            if attempt == self.max_retries:
                raise ComtradeError(f"{where}: gave up after {attempt + 1} attempts ({reason})")
            log.warning("Comtrade %s: %s; retrying in %.1f s", where, reason, wait)
            report.retries += 1
            self.sleep(wait)
        raise AssertionError("unreachable")

    def fetch(self, chunk: Chunk, folder: Path, hs6_codes: list[str], report: FetchReport | None = None) -> FetchReport:
        """Fetch `chunk` (splitting it while it hits the record cap) into files under `folder`."""
        report = report or FetchReport()
        body = self._request(chunk, report)
        folder.mkdir(parents=True, exist_ok=True)
        try:
            parsed = json.loads(body)
            data = parsed["data"]
            if not isinstance(data, list):
                raise ValueError("'data' is not a list")
            if parsed.get("count") is not None and parsed["count"] != len(data):
                raise ValueError(f"count says {parsed['count']} records, data holds {len(data)}")
            if parsed.get("error"):
                raise ValueError(f"the service reports an error: {str(parsed['error'])[:200]}")
        except (ValueError, KeyError, TypeError) as exc:
            aside = folder / "_rejected" / chunk.file_name()
            aside.parent.mkdir(parents=True, exist_ok=True)
            aside.write_bytes(body)
            raise ComtradeError(
                f"reporter {chunk.reporter} {chunk.year} {chunk.flow} {chunk.label}: truncated or "
                f"malformed body ({exc}); kept in {aside}"
            ) from None
        if len(data) >= self.record_cap:
            report.splits += 1
            for finer in split(chunk, hs6_codes):
                self.fetch(finer, folder, hs6_codes, report)
            return report
        path = folder / chunk.file_name()
        partial = path.with_suffix(".part")
        partial.write_bytes(body)  # the exact response, replayable offline
        partial.replace(path)
        report.files.append(path)
        report.records += len(data)
        return report


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
