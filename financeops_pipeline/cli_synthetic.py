"""`financeops generate`: a synthetic landing folder in the real formats, with injected breaks and ground truth."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import click

DATE = click.DateTime(formats=["%Y-%m-%d"])


@click.command("generate")
@click.option("--date", "start", type=DATE, required=True, help="First business day (YYYY-MM-DD).")
@click.option("--days", type=click.IntRange(min=1), default=1, show_default=True, help="Number of days.")
@click.option("--transactions", type=click.IntRange(min=0), default=1000, show_default=True,
              help="Transactions per tenant-day (payments, refunds, chargebacks over Stripe and Adyen).")
@click.option("--tenants", default="2", show_default=True,
              help="A count (acme USD, globex EUR, initech JPY, then more, currencies cycling) or a comma "
                   "list of tenant names (currencies USD, EUR, JPY in that order, cycling).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Landing folder to write: <out>/<tenant>/<YYYY-MM-DD>/{internal,processor,bank}/ and "
                   "<out>/ground_truth.csv.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed: same seed, same bytes.")
@click.option("--break-rate", type=click.FloatRange(0, 1), default=0.01, show_default=True,
              help="Probability of an injected break per transaction, per payout and per bank statement day "
                   "(plus one of every break type per tenant on a fixed schedule when the days allow).")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: on for large runs).")
def generate(start: dt.datetime, days: int, transactions: int, tenants: str, out_dir: Path, seed: int,
             break_rate: float, progress: bool | None) -> None:
    """Write synthetic bank (camt.053, BAI2), processor (Stripe, Adyen) and internal files with known breaks.

    ground_truth.csv lists every break the data implies as the reconciliation reports it (break_type,
    source, source_ref), the day it was injected and the first business day it is a break under the
    default windows. Run the pipeline on the folder with `financeops run --data-dir OUT`.
    """
    from financeops_pipeline.synthetic.generate import generate as run_generate

    began = time.perf_counter()
    truth = run_generate(out_dir, start.date(), days, transactions, tenants, seed, break_rate, progress=progress)
    seconds = time.perf_counter() - began
    size = sum(p.stat().st_size for p in truth.files)
    click.echo(f"wrote {len(truth.files)} files ({size / 1e6:.1f} MB) for {truth.first_day}..{truth.last_day} "
               f"to {out_dir} in {seconds:.1f} s")
    expected = truth.counts()
    later = len(truth.rows()) - sum(expected.values())
    click.echo(f"ground truth {truth.path}: {sum(expected.values())} breaks due by {truth.last_day} "
               f"({', '.join(f'{k} {v}' for k, v in expected.items()) or 'none'}); {later} due later")
