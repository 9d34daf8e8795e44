"""Communities of the party graph: traders joined to the declarants, sellers, addresses and phones
they share (`intermediate.int_party_links`), grouped by connected component and by Louvain community.

A component is everything reachable through any link; customs brokers serve many traders, so a few
components hold nearly everyone. Louvain communities (networkx, weighted by declarations) split those
into the groups that trade mostly among themselves, which is what an investigator reads. Labels are
derived from the members' keys, so that a community keeps its id from night to night while its
smallest member stays.
"""

import hashlib

import networkx as nx
import pandas as pd

COLUMNS = ["party_type", "party_key", "degree", "component_id", "component_size", "community_id", "community_size"]


def _label(prefix: str, members: list[tuple[str, str]]) -> str:
    first = min(f"{t}:{k}" for t, k in members)
    return f"{prefix}-{hashlib.sha256(first.encode()).hexdigest()[:12]}"


def party_graph(links: pd.DataFrame) -> nx.Graph:
    """Nodes are (party type, key); an edge per trader and counterparty, weighted by declarations."""
    graph = nx.Graph()
    graph.add_weighted_edges_from(
        zip(
            zip(["trader"] * len(links), links["trader_key"], strict=True),
            zip(links["linked_type"], links["linked_key"], strict=True),
            links["declarations"].astype(float),
            strict=True,
        )
    )
    return graph


def communities(links: pd.DataFrame, resolution: float, seed: int) -> pd.DataFrame:
    """One row per node: its degree, component and community, and their sizes (in nodes)."""
    graph = party_graph(links)
    rows = {node: {"party_type": node[0], "party_key": node[1], "degree": d} for node, d in graph.degree()}
    for component in nx.connected_components(graph):
        label = _label("K", list(component))
        for node in component:
            rows[node].update(component_id=label, component_size=len(component))
    found = nx.community.louvain_communities(graph, weight="weight", resolution=resolution, seed=seed)
    for community in found:
        label = _label("C", list(community))
        for node in community:
            rows[node].update(community_id=label, community_size=len(community))
    return pd.DataFrame(list(rows.values()), columns=COLUMNS)


def summary(nodes: pd.DataFrame, largest: int = 5) -> dict:
    """Sizes an investigator checks first: how many components and communities, the largest ones."""
    sizes = nodes.groupby("community_id").size().sort_values(ascending=False)
    components = nodes.groupby("component_id").size().sort_values(ascending=False)
    return {
        "parties": int(len(nodes)),
        "components": int(len(components)),
        "largest_component": int(components.iloc[0]) if len(components) else 0,
        "communities": int(len(sizes)),
        "largest_communities": [int(s) for s in sizes.iloc[:largest]],
    }
