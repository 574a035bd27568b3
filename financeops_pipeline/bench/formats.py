"""Parse + load throughput per format: one file of N records each, imported into a fresh database.

CSV formats come from the synthetic generator (one day of N transactions: N internal records, the processor
lines split between Stripe and Adyen as the generator spreads them). Bank formats are single statements of
N entries written by the generator's own statement writers (camt.053, BAI2) and an MT940 writer here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from financeops_pipeline.bench.measure import Stage, measured

DAY = dt.date(2026, 11, 2)
TENANT = "acme"


def write_bank_statements(folder: Path, entries: int) -> list[Path]:
    """camt.053, BAI2 and MT940 statements of `entries` entries each (credits and debits, balanced)."""
    from financeops_pipeline.synthetic.generate import BankLine, bai2_file, camt_statement, tenant_specs

    spec = tenant_specs([TENANT])[0]
    lines = [BankLine(kind="unknown_credit" if i % 3 else "unknown_debit",
                      amount=(1_000 + i % 90_000) * (1 if i % 3 else -1),
                      text=f"BENCH ENTRY {i}", e2e=f"E2E{i:09d}", ref=f"BNK{i:010d}") for i in range(entries)]
    folder.mkdir(parents=True, exist_ok=True)
    opening = 10_000_000_00
    files = {"camt053.xml": camt_statement(spec, DAY, opening, lines),
             "statement.bai": bai2_file(spec, DAY, opening, lines),
             "statement.sta": _mt940(spec.account_id, spec.currency, opening, lines)}
    paths = []
    for name, text in files.items():
        path = folder / name
        path.write_text(text, encoding="utf-8", newline="\n")
        paths.append(path)
    return paths


def _mt940(account: str, currency: str, opening: int, lines: list) -> str:
    ymd = DAY.strftime("%y%m%d")

    def amount(minor: int) -> str:
        return f"{abs(minor) // 100},{abs(minor) % 100:02d}"

    def balance(tag: str, minor: int) -> str:
        return f":{tag}:{'C' if minor >= 0 else 'D'}{ymd}{currency}{amount(minor)}"

    body = [f"{{1:F01EXBKUS33AXXX0000000000}}{{2:O940}}{{4:\n:20:BENCH{ymd}\n:25:{account}\n:28C:1/1",
            balance("60F", opening)]
    for b in lines:
        body.append(f":61:{ymd}{DAY.strftime('%m%d')}{'C' if b.amount > 0 else 'D'}{amount(b.amount)}"
                    f"NTRF{b.e2e}//{b.ref}\n:86:{b.text}")
    body.append(balance("62F", opening + sum(b.amount for b in lines)))
    return "\n".join(body) + "\n-}\n"


def bench_formats(database_url: str, records: int, workdir: Path,
                  log: Callable[[str], None] = print) -> list[Stage]:
    """Import one file per format and return records/s of parse + COPY + commit for each."""
    from financeops_pipeline.db.connect import tenant_connection
    from financeops_pipeline.db.migrate import migrate
    from financeops_pipeline.imports.loader import import_file
    from financeops_pipeline.landing import day_files
    from financeops_pipeline.synthetic.generate import generate

    landing = workdir / "formats"
    log(f"writing {records:,} records per format in {landing} ...")
    generate(landing, DAY, 1, records, [TENANT], seed=2, progress=False)
    paths = [p for source in ("internal", "processor") for p in day_files(landing, TENANT, DAY, source)]
    paths += write_bank_statements(landing / "statements", records)
    migrate(database_url)
    stages = []
    with tenant_connection(database_url, TENANT, application_name="financeops-bench") as conn:
        for path in paths:
            with measured(path.name) as stage:
                outcome = import_file(conn, TENANT, path, DAY, "bench-formats", workdir / "archive")
            stage.name, stage.rows = f"{outcome.format} ({path.name})", outcome.records_loaded
            stage.note = (f"{path.stat().st_size / 1e6:,.0f} MB, {outcome.status}, "
                          f"{outcome.records_quarantined} quarantined")
            stages.append(stage)
            log(f"  {stage.name}: {stage.rows:,} records in {stage.seconds:.1f} s")
    return stages
