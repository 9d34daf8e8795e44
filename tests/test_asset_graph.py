"""A snapshot of the code location: every asset's group, owners, kinds, tags, partitions, dependencies
and checks, and the jobs (with what they select), schedules and sensors. A change shows up here as a
diff to review; accept it with `UPDATE_SNAPSHOTS=1 make test`. A missing snapshot fails: it is
written, never taken for granted."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from dagster import DailyPartitionsDefinition, TimeWindowPartitionsDefinition

from orchestration.definitions import defs

pytestmark = pytest.mark.fast  # `make test-fast`: no dbt build, seconds

SNAPSHOT = Path(__file__).parent / "snapshots" / "asset_graph.txt"
GROUPS = {"landing", "raw", "restricted", "reference", "staging", "intermediate", "marts", "quality"}
GROUPS |= {"reports", "published", "models", "networks"}


def _partitions(partitions_def) -> str:
    if partitions_def is None:
        return "-"
    if isinstance(partitions_def, DailyPartitionsDefinition | TimeWindowPartitionsDefinition):
        return f"{partitions_def.cron_schedule}@{partitions_def.start:%Y-%m-%d}/{partitions_def.timezone}"
    return type(partitions_def).__name__


def render_graph() -> str:
    graph = defs.resolve_asset_graph()
    lines = []
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        owners = ",".join(sorted(node.owners)) if node.owners else "-"
        kinds = ",".join(sorted(node.kinds)) if node.kinds else "-"
        tags = ",".join(f"{k}={v}" for k, v in sorted(node.tags.items()) if not k.startswith("dagster/kind/")) or "-"
        external = "" if node.is_materializable else "  (external)"
        lines.append(
            f"{key.to_user_string()}  group={node.group_name}  owners={owners}  kinds={kinds}  tags={tags}"
            f"  partitions={_partitions(node.partitions_def)}{external}"
        )
        for parent in sorted(node.parent_keys, key=lambda k: k.to_user_string()):
            lines.append(f"    <- {parent.to_user_string()}")
        for check in sorted(node.check_keys, key=lambda k: k.name):
            blocking = " (blocking)" if graph.get_check_spec(check).blocking else ""
            lines.append(f"    check {check.name}{blocking}")
    for job in sorted(defs.resolve_all_job_defs(), key=lambda j: j.name):
        if job.name.startswith("__"):
            continue
        selected = sorted(k.to_user_string() for k in job.asset_layer.selected_asset_keys)
        lines.append(f"job {job.name}  partitions={_partitions(job.partitions_def)}  assets={len(selected)}")
        lines += [f"    {key}" for key in selected]
    repository = defs.get_repository_def()
    for schedule in sorted(repository.schedule_defs, key=lambda s: s.name):
        lines.append(
            f"schedule {schedule.name}  job={schedule.job_name}  cron={schedule.cron_schedule}"
            f"  timezone={schedule.execution_timezone}  default={schedule.default_status.value}"
        )
    for sensor in sorted(repository.sensor_defs, key=lambda s: s.name):
        jobs = ",".join(sorted(t.job_name for t in sensor.targets)) or "-"
        lines.append(f"sensor {sensor.name}  jobs={jobs}  default={sensor.default_status.value}")
    return "\n".join(lines) + "\n"


def test_asset_graph_matches_snapshot():
    rendered = render_graph()
    if os.environ.get("UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(rendered)
    assert SNAPSHOT.exists(), f"{SNAPSHOT} is missing: write it with UPDATE_SNAPSHOTS=1 and review it"
    assert rendered == SNAPSHOT.read_text(), "asset graph changed: review the diff, then UPDATE_SNAPSHOTS=1"


def test_every_asset_has_a_group_an_owner_kinds_and_a_description():
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.group_name == key.path[0] and node.group_name in GROUPS, key
        assert node.owners, key
        assert node.kinds & {"duckdb", "dbt", "gx", "python", "csv", "parquet"}, key
        assert node.description, key


def test_the_graph_starts_in_the_landing_area():
    graph = defs.resolve_asset_graph()
    parents = {
        k.to_user_string(): {p.to_user_string() for p in graph.get(k).parent_keys} for k in graph.get_all_asset_keys()
    }
    assert {"landing/partner_trade", "landing/comtrade_api"} <= parents["raw/partner_trade"]
    assert "landing/declarations" in parents["raw/declaration_items"]
    assert "landing/reference" in parents["raw/countries"]
    assert {"raw/countries", "raw/hs_nomenclature"} <= parents["landing/comtrade_api"]
