"""The restricted store: everything that holds clear party identifiers, kept out of the warehouse.

A separate DuckDB file in an owner-only folder (`settings.restricted_path()`), never published and
never opened by BI tools. It holds the map from clear party identifiers (traders, declarants,
sellers, the traders' delivered address and phone hashes, the importers an IPR recordation
authorises) to their pseudonymous keys, and every quarantined row exactly as it was delivered. The
warehouse and the published copy hold only the keys (`T-...`, `D-...`, `S-...`, `A-...`, `P-...`) and,
for a quarantined row, its position and its reasons.

Keys are HMAC-SHA256 under a secret key from $CUSTOMS_PSEUDONYMISATION_KEY; without it (the demo), a
random local key is created once under the var folder, with owner-only permissions, and the run says
so. The key never appears in logs, metadata, errors or files other than its own.

Re-identification (`python -m orchestration.cli reidentify`) is the only way back from a key to a
party: it needs the secret key (it proves it by recomputing the key of what it found), reads the store
read-only, and appends who asked, why and what to an owner-only audit log before it prints anything.
"""

from __future__ import annotations

import getpass
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from orchestration import settings

KEY_ENV = "CUSTOMS_PSEUDONYMISATION_KEY"
PREFIXES = {"trader": "T", "declarant": "D", "seller": "S", "address": "A", "phone": "P", "declaration": "R"}
OWNER_ONLY_DIR = 0o700
OWNER_ONLY_FILE = 0o600


def pseudonymisation_key() -> tuple[bytes, str]:
    """The secret key and where it came from (never the key itself in the second element)."""
    value = os.environ.get(KEY_ENV, "").strip()
    if value:
        return value.encode(), f"${KEY_ENV}"
    path = settings.var_dir() / "secrets" / "pseudonymisation.key"
    if not path.exists():  # written whole or not at all: a key file cut short would key everything anew
        path.parent.mkdir(parents=True, exist_ok=True, mode=OWNER_ONLY_DIR)
        partial = path.with_suffix(".partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, OWNER_ONLY_FILE)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
        os.replace(partial, path)
    key = path.read_text().strip()
    if not key:
        raise PermissionError(f"the demo key file {path} is empty: restore it or set ${KEY_ENV}")
    return key.encode(), f"local demo key file {path} (set ${KEY_ENV} in production)"


def key_fingerprint(key: bytes) -> str:
    """Tells keys apart without revealing them: the keys in a store were all made with one key."""
    return hmac.new(key, b"customs-warehouse key fingerprint", hashlib.sha256).hexdigest()[:16]


def party_key(key: bytes, party_type: str, party_id: str) -> str:
    """T-/D-/S-/A-/P-/R- followed by 24 hex digits (96 bits) of HMAC-SHA256 over the type and the
    identifier (A- and P- key the address and phone hashes the clearance system delivers; R- is a
    declaration's published reference, so that a clearance extract cannot be joined back)."""
    digest = hmac.new(key, f"{party_type}:{party_id}".encode(), hashlib.sha256).hexdigest()
    return f"{PREFIXES[party_type]}-{digest[:24]}"


def keyed(party_type: str, ids: list[str], key: bytes) -> pa.Table:
    return pa.table(
        {
            "party_type": pa.array([party_type] * len(ids), pa.string()),
            "party_id": pa.array(ids, pa.string()),
            "party_key": pa.array([party_key(key, party_type, i) for i in ids], pa.string()),
        }
    )


def _owner_only(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, OWNER_ONLY_DIR)


@contextmanager
def connect(path: Path | None = None, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """The restricted store (created owner-only on first use)."""
    path = Path(path or settings.restricted_path())
    if not read_only:
        _owner_only(path)
    con = duckdb.connect(str(path), read_only=read_only, config={"memory_limit": settings.duckdb_memory_limit()})
    try:
        if not read_only:
            ensure_tables(con)
            os.chmod(path, OWNER_ONLY_FILE)
        yield con
    finally:
        con.close()


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE TABLE IF NOT EXISTS key_fingerprint (fingerprint VARCHAR, since TIMESTAMP)")
    con.execute("""
        CREATE TABLE IF NOT EXISTS party_keys (
            party_type VARCHAR, party_id VARCHAR, party_key VARCHAR, first_load_id VARCHAR, first_seen TIMESTAMP)
    """)
    con.execute("""
        CREATE TABLE IF NOT EXISTS quarantine_records (
            table_name VARCHAR, source_file VARCHAR, source_hash VARCHAR, source_row BIGINT, record VARCHAR,
            load_id VARCHAR, quarantined_at TIMESTAMP)
    """)


def store_load(
    path: Path,
    fingerprint: str,
    keys: pa.Table | None,
    records: pa.Table,
    table: str,
    replaced_files: list[str] | None,
    load_id: str,
    now: datetime,
) -> None:
    """Record a load's new party keys and its quarantined rows as delivered, in one transaction.

    Written before the warehouse's own transaction: a load killed in between has its restricted
    records but no load-log entry, so the next run loads the same files again and replaces them
    (`replaced_files`; None replaces the whole table's records, for a reference snapshot)."""
    with connect(path) as con:
        has_keys = keys is not None and keys.num_rows > 0
        known = [f for (f,) in con.execute("SELECT fingerprint FROM key_fingerprint").fetchall()]
        if has_keys and known and known[0] != fingerprint:
            raise PermissionError(
                f"the pseudonymisation key is not the one the keys in {path} were made with (set ${KEY_ENV} to "
                "that key; changing it would give every trader a second key)"
            )
        con.execute("BEGIN TRANSACTION")
        try:
            if has_keys and not known:
                con.execute("INSERT INTO key_fingerprint VALUES (?, ?)", [fingerprint, now])
            if has_keys:
                con.register("_new_keys", keys)
                con.execute(
                    """INSERT INTO party_keys
                       SELECT n.party_type, n.party_id, n.party_key, ?, ? FROM _new_keys AS n
                       WHERE NOT EXISTS (SELECT 1 FROM party_keys AS k
                                         WHERE k.party_type = n.party_type AND k.party_id = n.party_id)""",
                    [load_id, now],
                )
                con.unregister("_new_keys")
            if replaced_files is None:
                con.execute("DELETE FROM quarantine_records WHERE table_name = ?", [table])
            elif replaced_files:
                con.execute(
                    "DELETE FROM quarantine_records WHERE table_name = ? AND source_file IN (SELECT unnest(?))",
                    [table, replaced_files],
                )
            if records.num_rows:
                con.register("_records", records)
                con.execute("INSERT INTO quarantine_records SELECT *, ?, ? FROM _records", [load_id, now])
                con.unregister("_records")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise


@dataclass(frozen=True)
class Reidentified:
    party_type: str
    party_id: str
    party_key: str


def reidentify(
    party_key_value: str, officer: str, reason: str, path: Path | None = None, warehouse: Path | None = None
) -> Reidentified:
    """The party (or, for an R- reference, the declaration) behind `party_key_value`, for an authorised
    officer: refused without the secret key (proved by recomputing the key of what was found) and
    without a named officer and reason; every request, answered or not, is appended to the audit log
    before anything is shown."""
    if not officer.strip() or not reason.strip():
        raise PermissionError("re-identification needs the officer's name and the reason (--officer, --reason)")
    if not os.environ.get(KEY_ENV):
        raise PermissionError(f"re-identification needs the pseudonymisation key in ${KEY_ENV}")
    key = os.environ[KEY_ENV].encode()
    warehouse = Path(warehouse or settings.duckdb_path())
    path = Path(path or settings.restricted_path(warehouse))
    if party_key_value.startswith(f"{PREFIXES['declaration']}-"):  # declaration ids are not personal data
        with duckdb.connect(str(warehouse), read_only=True) as con:
            found = con.execute(
                "SELECT DISTINCT 'declaration', declaration_id, declaration_ref FROM raw.declaration_items "
                "WHERE declaration_ref = ?",
                [party_key_value],
            ).fetchall()
    else:
        with connect(path, read_only=True) as con:
            found = con.execute(
                "SELECT party_type, party_id, party_key FROM party_keys WHERE party_key = ?", [party_key_value]
            ).fetchall()
    verified = [Reidentified(*row) for row in found if party_key(key, row[0], row[1]) == row[2]]
    _audit(path.parent / "reidentification_audit.jsonl", officer, reason, party_key_value, bool(verified))
    if found and not verified:
        raise PermissionError(f"the key in ${KEY_ENV} is not the one these pseudonyms were made with")
    if not verified:
        raise LookupError(f"no party has the key {party_key_value}")
    return verified[0]


def _audit(log: Path, officer: str, reason: str, asked: str, answered: bool) -> None:
    entry = {
        "at": datetime.now(UTC).isoformat(),
        "officer": officer,
        "os_user": getpass.getuser(),
        "reason": reason,
        "party_key": asked,
        "answered": answered,
    }
    _owner_only(log)
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, OWNER_ONLY_FILE)
    with os.fdopen(fd, "a") as fh:
        fh.write(json.dumps(entry) + "\n")
