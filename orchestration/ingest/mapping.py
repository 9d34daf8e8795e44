"""Bring another layout onto an input contract with a YAML mapping, not with code.

A mapping names its target contract, the source files, optional constants and, for each contract
column, a DuckDB SQL expression over the source's columns (see `mappings/`). Mapping writes ordinary
landing files, which then load, validate and quarantine exactly like any delivery: a mapping cannot
smuggle a row past the contract.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import yaml

from orchestration.ingest.contracts import ALL_CONTRACTS, DECLARATION_ITEMS, Contract

MAPPINGS_DIR = Path(__file__).parent / "mappings"


@dataclass(frozen=True)
class Mapping:
    name: str
    target: Contract
    files: str
    columns: dict[str, str]
    split_by_day: str | None = None
    detect: tuple[str, ...] = ()  # header columns that identify a file in this layout

    @classmethod
    def load(cls, name_or_path: str | Path) -> Mapping:
        path = Path(name_or_path)
        if not path.suffix:
            path = MAPPINGS_DIR / f"{name_or_path}.yml"
        spec = yaml.safe_load(path.read_text())
        target = {c.table: c for c in ALL_CONTRACTS}[spec["target"]]
        constants = spec.get("constants", {})
        columns = {col: str(expr).format(**constants) for col, expr in spec["columns"].items()}
        unknown = set(columns) - {c.name for c in target.columns}
        if unknown:
            raise ValueError(f"{path.name}: not columns of {target.table}: {sorted(unknown)}")
        missing = [c.name for c in target.columns if c.required and c.name not in columns]
        if missing:
            raise ValueError(f"{path.name}: required columns of {target.table} not mapped: {missing}")
        return cls(
            spec["name"],
            target,
            spec["source"]["files"],
            columns,
            spec["source"].get("split_by_day"),
            tuple(spec.get("detect", ())),
        )

    @classmethod
    def recognising(cls, table: str, header: list[str]) -> Mapping | None:
        """The shipped mapping onto `table` whose `detect` columns are all in `header`, if any."""
        for path in sorted(MAPPINGS_DIR.glob("*.yml")):
            mapping = cls.load(path)
            if mapping.target.table == table and mapping.detect and set(mapping.detect) <= set(header):
                return mapping
        return None

    def destination(self, landing: Path) -> Path:
        if self.target is DECLARATION_ITEMS:
            return landing / "declarations" / self.name
        return landing / "reference"

    def apply(
        self, source_dir: Path, landing: Path, sources: list[Path] | None = None, out: Path | None = None
    ) -> list[Path]:
        """Write the mapped files into the landing area (or `out`); return them."""
        sources = sources or sorted(Path(source_dir).glob(self.files))
        if not sources:
            raise FileNotFoundError(f"no files matching {self.files} in {source_dir}")
        paths = "[" + ", ".join(f"'{p}'" for p in sources) + "]"
        select = ", ".join(f'CAST(({expr}) AS VARCHAR) AS "{col}"' for col, expr in self.columns.items())
        con = duckdb.connect()
        con.execute(f"CREATE TABLE mapped AS SELECT {select} FROM read_csv({paths}, all_varchar = true, header = true)")
        out = out or self.destination(landing)
        out.mkdir(parents=True, exist_ok=True)
        written = []
        if self.split_by_day:
            days = [
                d
                for (d,) in con.execute(
                    "SELECT DISTINCT CAST(CAST(lodged_at AS TIMESTAMP) AS DATE) FROM mapped ORDER BY 1"
                ).fetchall()
            ]
            for day in days:
                path = out / f"{day:%Y}" / f"{day:%m}" / f"items_{day:%Y-%m-%d}.csv"
                path.parent.mkdir(parents=True, exist_ok=True)
                rows = f"SELECT * FROM mapped WHERE CAST(CAST(lodged_at AS TIMESTAMP) AS DATE) = DATE '{day}'"
                con.execute(f"COPY ({rows}) TO '{path}' (HEADER, DELIMITER ',')")
                written.append(path)
        else:
            path = out / f"{self.target.table}.csv"
            con.execute(f"COPY mapped TO '{path}' (HEADER, DELIMITER ',')")
            written.append(path)
        con.close()
        return written
