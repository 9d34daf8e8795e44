"""The party graph's communities as an asset, between the dbt step that builds its links and the one
that builds the network marts (`marts.party_networks`, `marts.network_alerts`)."""

import time

import pandas as pd
from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from orchestration.assets.table_metadata import table_metadata
from orchestration.networks.communities import COLUMNS, communities, summary
from orchestration.resources import WAREHOUSE_POOL, WarehouseResource
from orchestration.rules import rule

LINKS_KEY = AssetKey(["intermediate", "int_party_links"])
PARTY_COMMUNITIES = AssetKey(["networks", "party_communities"])
TABLE = "networks.party_communities"


@asset(
    key=PARTY_COMMUNITIES,
    deps=[LINKS_KEY],
    group_name="networks",
    pool=WAREHOUSE_POOL,
    owners=["team:intelligence"],
    kinds={"networkx", "duckdb", "python"},
    tags={"classification": "confidential"},
    description="Connected components and Louvain communities of the graph of traders, declarants, sellers, "
    "addresses and phones (keys only), for the network marts.",
)
def party_communities(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    started = time.perf_counter()
    with warehouse.connect(read_only=True) as con:
        links = con.execute(
            "SELECT trader_key, linked_type, linked_key, declarations FROM intermediate.int_party_links "
            "ORDER BY trader_key, linked_type, linked_key"  # Louvain depends on the order nodes arrive in
        ).df()
    nodes = (
        communities(links, rule("network.louvain_resolution"), rule("network.louvain_seed"))
        if len(links)
        else pd.DataFrame(columns=COLUMNS)
    )
    seconds = round(time.perf_counter() - started, 2)
    with warehouse.connect() as con:
        con.register("_nodes", nodes)
        con.execute("BEGIN")
        con.execute(f"DELETE FROM {TABLE}")
        con.execute(f"INSERT INTO {TABLE} SELECT {', '.join(COLUMNS)}, current_timestamp FROM _nodes")
        con.execute("COMMIT")
        con.unregister("_nodes")
        table = table_metadata(con, "networks", "party_communities")
    found = summary(nodes)
    context.log.info(
        f"{found['parties']} parties in {found['communities']} communities "
        f"(largest {found['largest_communities']}) and {found['components']} components, in {seconds} s"
    )
    return MaterializeResult(
        metadata={
            **table,
            **{k: v for k, v in found.items() if k != "largest_communities"},
            "largest_communities": MetadataValue.json(found["largest_communities"]),
            "seconds": seconds,
        }
    )
