"""Idempotent, reconciled loads of landing files into `raw.<table>`.

One load is one DuckDB transaction: rows of a re-delivered file replace that file's earlier rows, rows
that break the contract go to `raw.quarantine` with every reason they broke it, and `raw.load_log`
records what each file gave. A killed process therefore leaves the table exactly as before the load,
and a rerun completes it; an unchanged file (same path, same content hash) is not read again.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import duckdb

from orchestration.ingest.contracts import Contract
from orchestration.ingest.readers import FILES, STAGE, LandingFile, stage_files

LINEAGE = (
    ("_source_file", "VARCHAR"),
    ("_source_hash", "VARCHAR"),
    ("_source_row", "BIGINT"),
    ("_load_id", "VARCHAR"),
    ("_loaded_at", "TIMESTAMP"),
)


@dataclass
class FileResult:
    relpath: str
    sha256: str
    status: str  # loaded | unchanged | rejected
    received: int = 0
    loaded: int = 0
    quarantined: int = 0
    error: str | None = None


@dataclass
class LoadReport:
    table: str
    load_id: str
    files: list[FileResult] = field(default_factory=list)
    table_rows: int = 0
    ledger_rows: int = 0  # rows the load log says the table holds

    def count(self, status: str) -> int:
        return sum(f.status == status for f in self.files)

    @property
    def received(self) -> int:
        return sum(f.received for f in self.files)

    @property
    def loaded(self) -> int:
        return sum(f.loaded for f in self.files)

    @property
    def quarantined(self) -> int:
        return sum(f.quarantined for f in self.files)

    @property
    def reconciles(self) -> bool:
        """Each file: received = loaded + quarantined; the table: rows = what the log says it holds."""
        return all(f.received == f.loaded + f.quarantined for f in self.files) and self.table_rows == self.ledger_rows

    @property
    def rejected(self) -> list[FileResult]:
        return [f for f in self.files if f.status == "rejected"]


def ensure_tables(con: duckdb.DuckDBPyConnection, contract: Contract) -> None:
    """Create the raw table and the shared bookkeeping tables; add contract columns that are new."""
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    columns = [(c.name, c.type) for c in contract.columns] + list(contract.extra_columns) + list(LINEAGE)
    con.execute(
        f"CREATE TABLE IF NOT EXISTS raw.{contract.table} (" + ", ".join(f'"{n}" {t}' for n, t in columns) + ")"
    )
    existing = {
        r[0].lower()
        for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'raw' AND table_name = ?",
            [contract.table],
        ).fetchall()
    }
    for name, type_ in columns:
        if name.lower() not in existing:
            con.execute(f'ALTER TABLE raw.{contract.table} ADD COLUMN "{name}" {type_}')
    con.execute("""
        CREATE TABLE IF NOT EXISTS raw.quarantine (
            table_name VARCHAR, source_file VARCHAR, source_hash VARCHAR, source_row BIGINT,
            reasons VARCHAR, record VARCHAR, load_id VARCHAR, quarantined_at TIMESTAMP)
    """)
    con.execute("""
        CREATE TABLE IF NOT EXISTS raw.load_changes (load_id VARCHAR, table_name VARCHAR, day DATE, logged_at TIMESTAMP)
    """)
    con.execute("""
        CREATE TABLE IF NOT EXISTS raw.load_log (
            load_id VARCHAR, table_name VARCHAR, source_file VARCHAR, source_hash VARCHAR, status VARCHAR,
            rows_received BIGINT, rows_loaded BIGINT, rows_quarantined BIGINT, error VARCHAR,
            logged_at TIMESTAMP)
    """)


def load_files(con: duckdb.DuckDBPyConnection, contract: Contract, files: list[LandingFile]) -> LoadReport:
    """Load `files` into `raw.<contract.table>`; see the module docstring for the guarantees."""
    ensure_tables(con, contract)
    load_id = uuid.uuid4().hex
    report = LoadReport(contract.table, load_id)
    done = _already_loaded(con, contract.table)
    if contract.replace_all:
        files = files[-1:]  # a snapshot: the latest delivered file is the whole table
    pending = []
    for f in files:
        if done.get(f.relpath) == f.sha256:
            report.files.append(FileResult(f.relpath, f.sha256, "unchanged"))
        else:
            pending.append(f)
    if pending:
        rejected = stage_files(con, contract, pending)
        staged = [f for f in pending if f.relpath not in rejected]
        _check(con, contract, staged)
        _write(con, contract, staged, rejected, pending, report)
        con.execute(f"DROP TABLE _checked; DROP TABLE {FILES}")  # free the load's memory now
    report.table_rows = con.execute(f"SELECT count(*) FROM raw.{contract.table}").fetchall()[0][0]
    report.ledger_rows = _ledger_rows(con, contract)
    return report


def _record_changes(con, contract: Contract, replaced: str, load_id: str, now: datetime) -> None:
    """The days whose rows this load removes or adds (the earliest day anything could depend on, for
    a reference snapshot): downstream models rebuild from the earliest day not yet rebuilt."""
    if contract.change_day is None:
        days = "SELECT DATE '1900-01-01' AS day"
    else:
        days = (
            f"SELECT {contract.change_day} AS day FROM raw.{contract.table} WHERE {replaced} "
            f"UNION SELECT {contract.change_day} FROM _checked WHERE len(_reasons) = 0"
        )
    con.execute(
        f"""
        INSERT INTO raw.load_changes
        SELECT DISTINCT ?, ?, day, ? FROM ({days}) WHERE day IS NOT NULL
    """,
        [load_id, contract.table, now],
    )


def _ledger_rows(con, contract: Contract) -> int:
    """Rows the table should hold by the load log: the last successful load of each file (of the
    latest file only, for a snapshot table)."""
    latest = con.execute(
        """
        SELECT source_file, arg_max(rows_loaded, logged_at), max(logged_at) FROM raw.load_log
        WHERE table_name = ? AND status = 'loaded' GROUP BY source_file ORDER BY 3
    """,
        [contract.table],
    ).fetchall()
    if contract.replace_all:
        return latest[-1][1] if latest else 0
    return sum(r[1] for r in latest)


def _already_loaded(con, table: str) -> dict[str, str]:
    rows = con.execute(
        """
        SELECT source_file, arg_max(source_hash, logged_at) FROM raw.load_log
        WHERE table_name = ? AND status = 'loaded' GROUP BY source_file
    """,
        [table],
    ).fetchall()
    return dict(rows)


def _q(text: str) -> str:
    """`text` as the inside of an SQL string literal."""
    return text.replace("'", "''")


def _subst(template: str, name: str, sql: str) -> str:
    """Replace the placeholder word `name` (v or s) in a contract rule by an SQL expression."""
    return re.sub(rf"\b{name}\b", sql, template)


def validation_sql(contract: Contract) -> str:
    """One query typing every column and listing, per row, each contract rule it breaks."""
    text, typed, reasons = [], [], []
    for c in contract.columns:
        s = f'"s__{c.name}"'
        expr = f"""nullif(trim("{c.source_name}"), '')"""
        text.append(f"{_subst(c.normalise, 's', expr) if c.normalise else expr} AS {s}")
        cast = (
            f"CAST(TRY_CAST({s} AS TIMESTAMPTZ) AS TIMESTAMP)"
            if c.type == "TIMESTAMP"
            else f"TRY_CAST({s} AS {c.type})"
        )
        typed.append(f'{cast} AS "{c.name}"')
        if c.required:
            reasons.append(f"CASE WHEN {s} IS NULL THEN '{c.name}: required' END")
        bad_type = f'{s} IS NOT NULL AND "{c.name}" IS NULL'
        if c.type in ("INTEGER", "BIGINT"):  # TRY_CAST would round 1.5 to 2
            bad_type = f"({bad_type}) OR TRY_CAST({s} AS DOUBLE) <> floor(TRY_CAST({s} AS DOUBLE))"
        kind = c.type.split("(")[0].lower()
        reasons.append(f"CASE WHEN {bad_type} THEN '{c.name}: not a valid {kind} (' || left({s}, 40) || ')' END")
        if c.rule:
            rule = _subst(c.rule, "v", f'"{c.name}"')
            reasons.append(
                f"""CASE WHEN "{c.name}" IS NOT NULL AND NOT ({rule}) THEN '{c.name}: {_q(c.message)}' END"""
            )
    for rule, message in contract.row_rules:
        reasons.append(f"CASE WHEN NOT coalesce({rule}, true) THEN '{_q(message)}' END")
    extras = "".join(f', "{n}"' for n, _ in contract.extra_columns)
    return f"""
        WITH t AS (SELECT _source_file, _source_row{extras}, {", ".join(text)} FROM {STAGE}),
        typed AS (SELECT *, {", ".join(typed)} FROM t)
        SELECT *, list_filter([{", ".join(reasons)}], lambda x: x IS NOT NULL) AS _reasons FROM typed
    """


def _check(con, contract: Contract, staged: list[LandingFile]) -> None:
    """Build `_checked`: typed rows with their reasons, duplicates of the key included.

    Typing and the contract's rules take one pass; keys are then counted with a GROUP BY and only the
    rare duplicated or already-loaded keys get their extra reason by UPDATE (a window over every key
    sorted ten million rows to find none)."""
    key_cols = [f'"{k}"' for k in contract.key]
    key, c_key, r_key = (", ".join(f"{p}{k}" for k in key_cols) for p in ("", "c.", "r."))
    con.execute(f"CREATE OR REPLACE TEMP TABLE _checked AS {validation_sql(contract)}")
    con.execute(f"DROP TABLE {STAGE}")  # only _checked is needed from here on
    # within this load, among rows that pass every rule, the first in delivery order stays
    con.execute(f"""
        UPDATE _checked SET _reasons = list_append(_checked._reasons, 'duplicate key: first seen in ' || d._first)
        FROM (
            SELECT * FROM (
                SELECT c.rowid AS _rid, row_number() OVER w AS _rank,
                       first_value(c._source_file || ' row ' || c._source_row) OVER w AS _first
                FROM _checked AS c
                JOIN (SELECT {key} FROM _checked WHERE len(_reasons) = 0 GROUP BY {key} HAVING count(*) > 1) AS k
                    USING ({key})
                WHERE len(c._reasons) = 0
                WINDOW w AS (PARTITION BY {c_key} ORDER BY c._source_file, c._source_row)
            ) WHERE _rank > 1
        ) AS d
        WHERE _checked.rowid = d._rid
    """)
    # a key already loaded from a file outside this load is a conflict; the same file is being replaced
    if contract.replace_all or not staged:
        return
    files = ", ".join(f"'{_q(f.relpath)}'" for f in staged)
    con.execute(f"""
        UPDATE _checked SET _reasons = list_append(_checked._reasons, 'duplicate key: already loaded from ' || e._from)
        FROM (
            SELECT {r_key}, min(r._source_file) AS _from
            FROM raw.{contract.table} AS r
            JOIN (SELECT DISTINCT {key} FROM _checked) AS k USING ({key})
            WHERE r._source_file NOT IN ({files})
            GROUP BY {r_key}
        ) AS e
        WHERE {" AND ".join(f"_checked.{k} = e.{k}" for k in key_cols)}
    """)


def _write(con, contract: Contract, staged, rejected: dict[str, str], pending, report: LoadReport) -> None:
    table, load_id = contract.table, report.load_id
    now = datetime.now(UTC).replace(tzinfo=None)
    counts = {
        r[0]: r[1:]
        for r in con.execute("""
        SELECT _source_file, count(*), count(*) FILTER (WHERE len(_reasons) = 0) FROM _checked GROUP BY 1
    """).fetchall()
    }
    names = [c.name for c in contract.columns] + [n for n, _ in contract.extra_columns]
    cols = ", ".join(f'"{n}"' for n in names)
    record = "to_json({" + ", ".join(f"'{c.source_name}': \"s__{c.name}\"" for c in contract.columns) + "})"
    files_sql = ", ".join(f"'{_q(f.relpath)}'" for f in staged) or "NULL"
    con.execute("BEGIN TRANSACTION")
    try:
        if staged:
            where = "true" if contract.replace_all else f"_source_file IN ({files_sql})"
            _record_changes(con, contract, where, load_id, now)
            con.execute(f"DELETE FROM raw.{table} WHERE {where}")
            con.execute(
                f"DELETE FROM raw.quarantine WHERE table_name = '{table}' AND "
                + ("true" if contract.replace_all else f"source_file IN ({files_sql})")
            )
            con.execute(
                f"""
                INSERT INTO raw.{table} ({cols}, _source_file, _source_hash, _source_row, _load_id, _loaded_at)
                SELECT {cols}, _source_file, f.sha256, _source_row, ?, ?
                FROM _checked JOIN {FILES} AS f ON f.relpath = _source_file WHERE len(_reasons) = 0
            """,
                [load_id, now],
            )
            con.execute(
                f"""
                INSERT INTO raw.quarantine
                SELECT '{table}', _source_file, f.sha256, _source_row, array_to_string(_reasons, '; '),
                       {record}, ?, ? FROM _checked JOIN {FILES} AS f ON f.relpath = _source_file
                WHERE len(_reasons) > 0
            """,
                [load_id, now],
            )
        for f in pending:
            if f.relpath in rejected:
                result = FileResult(f.relpath, f.sha256, "rejected", error=rejected[f.relpath])
            else:
                received, loaded = counts.get(f.relpath, (0, 0))
                result = FileResult(f.relpath, f.sha256, "loaded", received, loaded, received - loaded)
            con.execute(
                "INSERT INTO raw.load_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    load_id,
                    table,
                    result.relpath,
                    result.sha256,
                    result.status,
                    result.received,
                    result.loaded,
                    result.quarantined,
                    result.error,
                    now,
                ],
            )
            report.files.append(result)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
