"""Pseudonymous keys for traders and declarants.

Trader and declarant identifiers are personal data: they reach the marts only as keyed hashes
(HMAC-SHA256 under a secret key), so a BI user can follow one trader across marts without learning
who it is. The mapping back to clear identifiers lives only in the `restricted` schema, which is
never published. The key comes from $CUSTOMS_PSEUDONYMISATION_KEY; without it (the demo), a random
local key is created once under the var folder, with owner-only permissions, and the run says so.
The key itself never appears in logs, metadata or errors.
"""

import hashlib
import hmac
import os
import secrets

import pyarrow as pa
from dagster import AssetExecutionContext, AssetKey, MaterializeResult, asset

from orchestration import settings
from orchestration.assets.table_metadata import table_metadata
from orchestration.resources import WAREHOUSE_POOL, WarehouseResource

KEY_ENV = "CUSTOMS_PSEUDONYMISATION_KEY"
PREFIXES = {"trader": "T", "declarant": "D"}


def pseudonymisation_key() -> tuple[bytes, str]:
    """The secret key and where it came from (never the key itself in the second element)."""
    value = os.environ.get(KEY_ENV)
    if value:
        return value.encode(), f"${KEY_ENV}"
    path = settings.var_dir() / "secrets" / "pseudonymisation.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_hex(32))
    return path.read_text().strip().encode(), f"local demo key file {path} (set ${KEY_ENV} in production)"


def party_key(key: bytes, party_type: str, party_id: str) -> str:
    """T-/D- followed by 24 hex digits (96 bits) of HMAC-SHA256 over the type and the identifier."""
    digest = hmac.new(key, f"{party_type}:{party_id}".encode(), hashlib.sha256).hexdigest()
    return f"{PREFIXES[party_type]}-{digest[:24]}"


@asset(
    key=["restricted", "party_keys"],
    deps=[AssetKey(["raw", "declaration_items"])],
    group_name="staging",
    owners=["team:data-protection"],
    kinds={"duckdb", "python"},
    tags={"classification": "restricted"},
    pool=WAREHOUSE_POOL,
    description="Keyed hashes of trader and declarant identifiers, the only way back to them. Never published.",
)
def party_keys(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    key, source = pseudonymisation_key()
    with warehouse.connect() as con:
        parties = con.execute("""
            SELECT DISTINCT 'trader', trader_id FROM raw.declaration_items
            UNION SELECT DISTINCT 'declarant', declarant_id FROM raw.declaration_items
        """).fetchall()
        keyed = pa.table(
            {
                "party_type": [kind for kind, _ in parties],
                "party_id": [pid for _, pid in parties],
                "party_key": [party_key(key, kind, pid) for kind, pid in parties],
            }
        )
        con.execute("CREATE SCHEMA IF NOT EXISTS restricted")
        con.register("keyed", keyed)
        con.execute("CREATE OR REPLACE TABLE restricted.party_keys AS SELECT * FROM keyed")
        context.log.info(f"{keyed.num_rows:,} parties pseudonymised with the key from {source}")
        metadata = table_metadata(con, "restricted", "party_keys")
    return MaterializeResult(metadata={**metadata, "key_source": source})
