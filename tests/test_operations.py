"""Nightly operations: the schedule runs the previous lodgement day at 02:00 Muscat time, the landing
sensor turns new or re-delivered files into runs over the days they change, failed runs are recorded
with the failing step and reason, and the command line backfills a range."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

from dagster import (
    DagsterInstance,
    DagsterRunStatus,
    build_run_status_sensor_context,
    build_schedule_context,
    materialize,
)
from dagster import build_sensor_context as build_context
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from orchestration.definitions import defs
from orchestration.resources import LandingAreaResource
from orchestration.sensors import landing_area_sensor, record_run_failures


def test_the_schedule_runs_the_previous_lodgement_day_at_two_in_muscat():
    nightly_schedule = defs.resolve_schedule_def("nightly_refresh_0200_muscat")
    with DagsterInstance.ephemeral() as instance:
        context = build_schedule_context(
            instance=instance, scheduled_execution_time=datetime(2022, 6, 2, 2, 0, tzinfo=ZoneInfo("Asia/Muscat"))
        )
        request = next(iter(nightly_schedule.evaluate_tick(context).run_requests))
    assert request.partition_key == "2022-06-01"
    assert nightly_schedule.cron_schedule == "0 2 * * *" and nightly_schedule.execution_timezone == "Asia/Muscat"


def test_the_landing_sensor_runs_what_new_or_redelivered_files_change(small_demo, monkeypatch, tmp_path):
    landing, _ = small_demo
    monkeypatch.setenv("CUSTOMS_LANDING_DIR", str(tmp_path / "elsewhere"))  # the sensor reads its resource
    resources = {"landing": LandingAreaResource(path=str(landing))}

    def build_sensor_context(**kwargs):
        return build_context(resources=resources, **kwargs)

    with DagsterInstance.ephemeral() as instance:
        first = landing_area_sensor.evaluate_tick(build_sensor_context(instance=instance))
        assert len(first.run_requests) == 1  # everything is new: one run over all the days
        tags = first.run_requests[0].tags
        assert (tags[ASSET_PARTITION_RANGE_START_TAG], tags[ASSET_PARTITION_RANGE_END_TAG]) == (
            "2021-01-01",
            "2021-06-30",
        )

        quiet = landing_area_sensor.evaluate_tick(build_sensor_context(instance=instance, cursor=first.cursor))
        assert quiet.run_requests == [] and quiet.skip_message

        day = sorted(landing.rglob("items_2021-03-1*.csv"))[0]
        day.write_text(day.read_text().replace("\n", "\r\n", 1))  # re-delivered
        redelivered = landing_area_sensor.evaluate_tick(build_sensor_context(instance=instance, cursor=quiet.cursor))
        tags = redelivered.run_requests[0].tags
        assert tags[ASSET_PARTITION_RANGE_START_TAG] == tags[ASSET_PARTITION_RANGE_END_TAG] == day.stem[-10:]

        rates = landing / "reference" / "exchange_rates.csv"
        rates.write_text(rates.read_text() + "2021-07-01,EUR,2.2\n")  # a reference delivery
        reference = landing_area_sensor.evaluate_tick(
            build_sensor_context(instance=instance, cursor=redelivered.cursor)
        )
        tags = reference.run_requests[0].tags
        assert tags[ASSET_PARTITION_RANGE_START_TAG] == "2021-06-30"  # the latest day, reloading the references


def test_a_failed_run_is_recorded_with_the_failing_step_and_its_reason(tmp_path, monkeypatch):
    from dagster import asset

    @asset
    def broken_load() -> None:
        raise ValueError("the clearance extract for 2022-06-01 is missing")

    monkeypatch.setenv("CUSTOMS_VAR_DIR", str(tmp_path))
    with DagsterInstance.ephemeral() as instance:
        result = materialize([broken_load], instance=instance, raise_on_error=False)
        assert not result.success
        run = instance.get_run_by_id(result.run_id)
        failure = next(e for e in instance.all_logs(result.run_id) if e.dagster_event and e.dagster_event.is_failure)
        context = build_run_status_sensor_context(
            sensor_name="record_run_failures",
            dagster_instance=instance,
            dagster_run=run,
            dagster_event=failure.dagster_event,
        ).for_run_failure()
        record_run_failures(context)
    entry = json.loads((tmp_path / "alerts" / "run_failures.jsonl").read_text().splitlines()[0])
    assert entry["run_id"] == result.run_id and run.status == DagsterRunStatus.FAILURE
    assert entry["failed_steps"][0]["step"] == "broken_load"
    assert "the clearance extract for 2022-06-01 is missing" in entry["failed_steps"][0]["error"]
