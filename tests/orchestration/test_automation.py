"""The files-landed sensor and the daily schedule, evaluated through Dagster's own test APIs against a real
instance: what they request, that the run config is valid for the job, and that neither starts a tenant-day
that is done or running."""

from __future__ import annotations

import datetime as dt
import shutil
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from financeops_pipeline.landing import READY_MARKER, SOURCES, day_landed
from financeops_pipeline.orchestration.definitions import defs
from financeops_pipeline.orchestration.partitions import daily_partitions, tenant_day_key
from financeops_pipeline.orchestration.resources import FinanceopsResource
from financeops_pipeline.orchestration.schedules import (
    business_days,
    daily_close_schedule,
    previous_business_day,
    schedule_time,
)
from financeops_pipeline.orchestration.sensors import DONE_ASSET, files_landed_sensor
from tests.conftest import SAMPLES

TZ = ZoneInfo(daily_partitions.timezone)


def _land(root, tenant: str, day: dt.date, sources=SOURCES, ready: bool = False) -> None:
    """Copy acme's sample files of 2026-11-02 into <root>/<tenant>/<day>/<source>/ (the sensor reads folders)."""
    for source in sources:
        shutil.copytree(SAMPLES / "acme" / "2026-11-02" / source, root / tenant / day.isoformat() / source)
    if ready:
        (root / tenant / day.isoformat() / READY_MARKER).write_text("")


@pytest.fixture(autouse=True)
def _env(tmp_path, monkeypatch):
    """What the code location's EnvVar resources read when Dagster validates a run config."""
    for key, value in {"FINANCEOPS_DB_URL": "postgresql://unused", "FINANCEOPS_DATA_DIR": str(tmp_path / "landing"),
                       "FINANCEOPS_ARCHIVE_DIR": str(tmp_path / "archive"), "FINANCEOPS_TENANTS": ""}.items():
        monkeypatch.setenv(key, value)


def _resource(tmp_path) -> FinanceopsResource:
    # the sensor and schedule read only the landing folder and the tenants: no database is touched
    return FinanceopsResource(database_url="postgresql://unused", data_dir=str(tmp_path / "landing"),
                              archive_dir=str(tmp_path / "archive"), tenants="acme,globex")


def _start(instance: dg.DagsterInstance, request: dg.RunRequest) -> dg.DagsterRun:
    """Submit a request as the daemon does: a run of daily_close with the partition's tags, in the instance."""
    job = defs.resolve_job_def("daily_close")
    dg.validate_run_config(job, request.run_config)
    tags = {**request.tags, **job.partitions_def.get_tags_for_partition_key(request.partition_key)}
    return instance.create_run_for_job(job, run_config=request.run_config, tags=tags)   # NOT_STARTED


def _done(instance: dg.DagsterInstance, tenant: str, day: dt.date) -> None:
    """Record the day's ledger materialization (what a run of that partition, a backfill or `financeops run` leaves)."""
    instance.report_runless_asset_event(dg.AssetMaterialization(DONE_ASSET, partition=str(tenant_day_key(day, tenant))))


def _tick(instance, tmp_path) -> dg.SensorResult | dg.SkipReason:
    # Contexts are entered so their exit stacks close here: a context left to the garbage collector resets
    # Dagster's current-instance context variable to a disposed instance, breaking every later run.
    with dg.build_sensor_context(instance=instance, resources={"financeops": _resource(tmp_path)}) as context:
        return files_landed_sensor(context)


def test_landed_means_a_ready_marker_or_every_source(tmp_path):
    day = dt.date(2026, 11, 2)
    _land(tmp_path, "acme", day)
    _land(tmp_path, "globex", day, sources=["bank"], ready=True)
    _land(tmp_path, "initech", day, sources=["bank", "internal"])
    assert day_landed(tmp_path, "acme", day) and day_landed(tmp_path, "globex", day)
    assert not day_landed(tmp_path, "initech", day) and not day_landed(tmp_path, "acme", day + dt.timedelta(1))


def test_sensor_starts_landed_days_in_date_order_and_never_twice(tmp_path):
    today = dt.datetime.now(TZ).date()
    d1, d2, d3 = (today - dt.timedelta(days=n) for n in (3, 2, 1))
    landing = tmp_path / "landing"
    _land(landing, "acme", d1)
    _land(landing, "acme", d2)
    _land(landing, "acme", d3, sources=["bank", "internal"])   # processor file still missing
    _land(landing, "globex", d2, sources=["bank"], ready=True)

    with dg.instance_for_test() as instance:
        first = _tick(instance, tmp_path)
        # one tenant-day per tenant: acme's earliest landed day, globex's READY day
        assert [(r.run_key, r.partition_key) for r in first.run_requests] == [
            (f"acme:{d1}", tenant_day_key(d1, "acme")), (f"globex:{d2}", tenant_day_key(d2, "globex"))]
        assert all(r.tags["financeops/trigger"] == "sensor" for r in first.run_requests)
        runs = [_start(instance, r) for r in first.run_requests]
        assert runs[0].tags["dagster/partition/tenant"] == "acme" and runs[0].tags["dagster/partition/date"] == str(d1)

        # while they run, nothing more starts: acme's d2 waits for d1 (days in date order)
        waiting = _tick(instance, tmp_path)
        assert isinstance(waiting, dg.SkipReason)
        assert f"acme {d1} is running" in waiting.skip_message and f"globex {d2} is running" in waiting.skip_message

        # d1 done -> d2 starts; d3 has not fully landed yet
        _done(instance, "acme", d1)
        instance.report_run_failed(runs[1])
        second = _tick(instance, tmp_path)
        assert [r.run_key for r in second.run_requests] == [f"acme:{d2}"]
        # a failed day is not restarted by the sensor (re-run it deliberately); it is reported
        _start(instance, second.run_requests[0])
        assert f"globex {d2} is failed" in _tick(instance, tmp_path).skip_message

        # the processor file lands: d3 starts once d2 is done
        _done(instance, "acme", d2)
        assert isinstance(_tick(instance, tmp_path), dg.SkipReason)
        _land(landing, "acme", d3, sources=["processor"])
        assert [r.run_key for r in _tick(instance, tmp_path).run_requests] == [f"acme:{d3}"]


def test_schedule_runs_the_previous_business_day_of_each_tenant_and_skips_what_already_ran(tmp_path):
    assert (daily_close_schedule.cron_schedule, daily_close_schedule.execution_timezone) == (
        "0 6 * * *", daily_partitions.timezone)
    friday = dt.date(2026, 11, 6)
    monday_6am = dt.datetime(2026, 11, 9, 6, 0, tzinfo=TZ)
    with dg.instance_for_test() as instance:
        def tick():
            with dg.build_schedule_context(instance=instance, scheduled_execution_time=monday_6am,
                                           resources={"financeops": _resource(tmp_path)}) as context:
                return daily_close_schedule(context)

        requests = tick()
        assert [(r.run_key, r.partition_key, r.tags["financeops/trigger"]) for r in requests] == [
            (f"acme:{friday}", tenant_day_key(friday, "acme"), "schedule"),
            (f"globex:{friday}", tenant_day_key(friday, "globex"), "schedule")]
        for r in requests:
            dg.validate_run_config(defs.resolve_job_def("daily_close"), r.run_config)

        # the sensor already started globex's Friday and acme's is done: the schedule starts nothing
        _start(instance, requests[1])
        _done(instance, "acme", friday)
        skipped = tick()
        assert isinstance(skipped, dg.SkipReason)
        assert skipped.skip_message == f"{friday}: acme done, globex running"


def test_schedule_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("FINANCEOPS_SCHEDULE_TIME", "17:45")
    monkeypatch.setenv("FINANCEOPS_BUSINESS_DAYS", "sun-thu")   # e.g. a Gulf banking week
    assert schedule_time() == (17, 45)
    days = business_days()
    assert days == {6, 0, 1, 2, 3}
    assert previous_business_day(dt.date(2026, 11, 8), days) == dt.date(2026, 11, 5)   # Sunday -> Thursday
    assert previous_business_day(dt.date(2026, 11, 9), days) == dt.date(2026, 11, 8)   # Monday -> Sunday
    monkeypatch.setenv("FINANCEOPS_SCHEDULE_TIME", "6am")
    with pytest.raises(ValueError, match="FINANCEOPS_SCHEDULE_TIME='6am'"):
        schedule_time()
