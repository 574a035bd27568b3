"""What each report is: its stored tables (sections), their columns and how each column is shown.

One place for the CLI (`financeops report NAME`), the Dagster report assets and their previews. A report is
built by `build.py` from `sql/<table>.sql` into `reports.<table>`; a report with several sections (the
reconciliation summary, break aging) is several tables built and published together.
"""

from __future__ import annotations

from dataclasses import dataclass

# Column kinds: text | int | date | money (minor units of the row's `currency`) | rate (exact numeric fraction)


@dataclass(frozen=True)
class Column:
    name: str
    kind: str = "text"


@dataclass(frozen=True)
class Section:
    table: str           # reports.<table>, built from reports/sql/<table>.sql
    title: str
    columns: tuple[Column, ...]
    order_by: str

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


@dataclass(frozen=True)
class Report:
    name: str            # asset name (reports/<name>)
    cli_name: str        # `financeops report <cli_name>`
    description: str
    sections: tuple[Section, ...]
    drill_default_since_day: bool = False   # income statement lines are the day's movement, not a balance


def _cols(spec: str) -> tuple[Column, ...]:
    """'a b:money c:int' -> columns (kind defaults to text)."""
    out = []
    for token in spec.split():
        name, _, kind = token.partition(":")
        out.append(Column(name, kind or "text"))
    return tuple(out)


REPORT_CATALOG: dict[str, Report] = {r.name: r for r in [
    Report("trial_balance", "trial-balance",
           "Closing balance of every account per currency, from the daily snapshots.",
           (Section("trial_balance", "Trial balance",
                    _cols("account_code account_name account_type currency debit_minor:money credit_minor:money"),
                    "currency, account_code"),)),
    Report("balance_sheet", "balance-sheet",
           "Assets, liabilities and equity at the end of the day (latest snapshot per account); "
           "current earnings close the equation.",
           (Section("balance_sheet", "Balance sheet",
                    _cols("section account_code account_name currency amount_minor:money"),
                    "currency, CASE section WHEN 'assets' THEN 1 WHEN 'liabilities' THEN 2 ELSE 3 END, "
                    "account_code = 'current_earnings', account_code"),)),
    Report("income_statement", "income-statement",
           "Revenue and expenses of the day and month to date (snapshot movement columns), and net income.",
           (Section("income_statement", "Income statement",
                    _cols("section account_code account_name currency day_minor:money mtd_minor:money"),
                    "currency, CASE section WHEN 'revenue' THEN 1 WHEN 'expense' THEN 2 ELSE 3 END, account_code"),),
           drill_default_since_day=True),
    Report("cash_position", "cash-position",
           "Ledger cash per bank account against the bank's own statements (movement since the first statement "
           "and the day's movement).",
           (Section("cash_position", "Cash position",
                    _cols("bank_account currency ledger_account first_opening_date:date first_opening_minor:money "
                          "bank_closing_date:date bank_closing_minor:money bank_movement_minor:money "
                          "ledger_balance_minor:money difference_minor:money day_bank_movement_minor:money "
                          "day_ledger_movement_minor:money day_difference_minor:money"),
                    "currency, bank_account"),)),
    Report("processor_fees", "fees",
           "Processor fees of the day by processor, category and currency.",
           (Section("processor_fees", "Processor fees",
                    _cols("processor category currency lines:int gross_minor:money fee_minor:money net_minor:money"),
                    "processor, category, currency"),)),
    Report("recon_summary", "recon-summary",
           "Items and amounts per source, currency and state; match rates by count and amount; breaks by type.",
           (Section("recon_summary", "Items by state",
                    _cols("source currency status items:int amount_minor:money"), "source, currency, status"),
            Section("recon_match_rate", "Match rate",
                    _cols("source currency items:int matched_items:int reconciled_items:int amount_minor:money "
                          "matched_minor:money count_rate:rate amount_rate:rate"), "source, currency"),
            Section("recon_breaks", "Breaks by type",
                    _cols("break_type currency open_breaks:int open_minor:money new_breaks:int "
                          "persisting_breaks:int resolved_breaks:int"), "break_type, currency"))),
    Report("break_aging", "break-aging",
           "Open breaks by age bucket (0-1, 2-3, 4-7, 8-30, >30 days) and the oldest items.",
           (Section("break_aging", "Aging buckets",
                    _cols("currency bucket breaks:int amount_minor:money oldest_first_seen:date"),
                    "currency, bucket_order"),
            Section("break_aging_items", "Oldest open breaks",
                    _cols("rank:int break_id break_type source source_ref currency amount_minor:money "
                          "first_seen:date age_days:int bucket"), "rank"))),
]}

BY_CLI_NAME: dict[str, Report] = {r.cli_name: r for r in REPORT_CATALOG.values()}
