"""The daily job as the daemon runs it, timed: `python -m financeops_pipeline.bench.launched --date D [--tenant T]
[--data-dir DIR]`.

Starts `dagster-daemon` on the project's instance (deploy/dagster.yaml: the queued run coordinator, the default
run launcher), submits one run of the day (`dagster job launch`, as a schedule tick or the UI would), and prints
how long the submitting command took, how long the run waited in the queue, how long its run worker took to
start, and the run itself with its steps, from the instance's event log. Uses FINANCEOPS_HOME like every command
(a fresh home gives a fresh database).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import click

from financeops_pipeline.landing import discover_tenants

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 3600


@click.command()
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), required=True)
@click.option("--tenant", "tenants", multiple=True)
@click.option("--data-dir", type=click.Path(path_type=Path, file_okay=False))
def main(day: dt.datetime, tenants: tuple[str, ...], data_dir: Path | None) -> None:
    from dagster import DagsterInstance, DagsterRunStatus

    from financeops_pipeline.orchestration.partitions import range_tags
    from financeops_pipeline.runtime import runtime

    with runtime(data_dir, tenants) as rt:
        chosen = list(tenants) or discover_tenants(Path(os.environ["FINANCEOPS_DATA_DIR"]))
        tags = range_tags(day.date(), day.date(), chosen)
        bin_dir = Path(sys.executable).parent
        workspace = str(ROOT / "workspace.yaml")
        log = (rt.settings.home / "launched-daemon.log").open("w")
        daemon = subprocess.Popen([str(bin_dir / "dagster-daemon"), "run", "-w", workspace], stdout=log,
                                  stderr=subprocess.STDOUT, start_new_session=True)
        try:
            with DagsterInstance.get() as instance:
                _wait_for_run_queue(instance, started=time.time())   # a running daemon, as in production
                before = {r.run_id for r in instance.get_runs()}
                submitted = time.time()
                subprocess.run([str(bin_dir / "dagster"), "job", "launch", "-w", workspace, "-j", "daily_close",
                                "--tags", json.dumps(tags)], check=True, capture_output=True)
                run = _wait_for_new_run(instance, before, DagsterRunStatus)
                stats = instance.get_run_stats(run.run_id)
                created = instance.get_run_record_by_id(run.run_id).create_timestamp.timestamp()
                steps = sorted(instance.get_run_step_stats(run.run_id), key=lambda s: s.start_time or 0)
                first_step = min(s.start_time for s in steps if s.start_time)
                click.echo(f"launched run {run.run_id[:8]} {run.status.value}: submitted to finished "
                           f"{stats.end_time - submitted:.1f} s (`dagster job launch` {created - submitted:.1f} s, "
                           f"queued {stats.launch_time - created:.1f} s, "
                           f"run worker start {stats.start_time - stats.launch_time:.1f} s, run "
                           f"{stats.end_time - stats.start_time:.1f} s, of which before the first step "
                           f"{first_step - stats.start_time:.1f} s)")
                click.echo("   steps (s): " + ", ".join(f"{s.step_key} {s.end_time - s.start_time:.1f}"
                                                         for s in steps if s.start_time and s.end_time))
        finally:
            os.killpg(daemon.pid, signal.SIGTERM)
            daemon.wait(60)
            log.close()


def _wait_for_run_queue(instance, started: float) -> None:
    """Until the daemon's run queue loop has beaten since it started (it dequeues from then on)."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        beat = instance.get_daemon_heartbeats().get("QUEUED_RUN_COORDINATOR")
        if beat is not None and beat.timestamp > started:
            return
        time.sleep(0.5)
    raise click.ClickException("dagster-daemon's run queue did not start within 300 s")


def _wait_for_new_run(instance, before: set[str], statuses):
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        runs = [r for r in instance.get_runs() if r.run_id not in before]
        if runs and runs[0].status in (statuses.SUCCESS, statuses.FAILURE, statuses.CANCELED):
            return runs[0]
        time.sleep(0.5)
    raise click.ClickException(f"no launched run finished within {TIMEOUT_S} s")


if __name__ == "__main__":
    main()
