"""A snapshot of the asset graph: keys, groups, owners, kinds, dependencies and checks. A change to the
graph shows up here as a diff to review; accept it with `UPDATE_SNAPSHOTS=1 make test`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from orchestration.definitions import defs

pytestmark = pytest.mark.fast  # `make test-fast`: no dbt build, seconds

SNAPSHOT = Path(__file__).parent / "snapshots" / "asset_graph.txt"


def render_graph() -> str:
    graph = defs.resolve_asset_graph()
    lines = []
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        owners = ",".join(sorted(node.owners)) if node.owners else "-"
        kinds = ",".join(sorted(node.kinds)) if node.kinds else "-"
        lines.append(f"{key.to_user_string()}  group={node.group_name}  owners={owners}  kinds={kinds}")
        for parent in sorted(node.parent_keys, key=lambda k: k.to_user_string()):
            lines.append(f"    <- {parent.to_user_string()}")
        for check in sorted(node.check_keys, key=lambda k: k.name):
            blocking = " (blocking)" if graph.get_check_spec(check).blocking else ""
            lines.append(f"    check {check.name}{blocking}")
    return "\n".join(lines) + "\n"


def test_asset_graph_matches_snapshot():
    rendered = render_graph()
    if os.environ.get("UPDATE_SNAPSHOTS") or not SNAPSHOT.exists():
        SNAPSHOT.write_text(rendered)
    assert rendered == SNAPSHOT.read_text(), "asset graph changed: review the diff, then UPDATE_SNAPSHOTS=1"


def test_every_asset_has_a_group_an_owner_kinds_and_a_description():
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.group_name in {"raw", "restricted", "staging", "intermediate", "marts", "quality", "reports"}, key
        assert node.owners, key
        assert node.kinds & {"duckdb", "dbt", "gx", "python"}, key
        assert node.description, key
