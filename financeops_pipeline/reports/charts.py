"""Charts for the Dagster UI: PNG bar charts rendered with matplotlib (Agg, no display) from integer data only
(minor units, counts, basis points), embedded in markdown metadata as a base64 data URI."""

from __future__ import annotations

import base64
import io
from collections import defaultdict

BUCKETS = ["0-1", "2-3", "4-7", "8-30", ">30"]


def bar_chart(title: str, labels: list[str], series: dict[str, list[int]], ylabel: str,
              percent_axis: bool = False) -> str:
    """Grouped bars, one group per label and one bar per series; returns a markdown image (or '' if no data)."""
    if not labels or not series:
        return ""
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.figure import Figure

    for values in series.values():
        if any(not isinstance(v, int) for v in values):
            raise TypeError("charts take integer data only (minor units, counts, basis points)")
    fig = Figure(figsize=(7, 3.2), dpi=80)
    ax = fig.add_subplot()
    width = 0.8 / len(series)
    positions = list(range(len(labels)))
    for i, (name, values) in enumerate(series.items()):
        ax.bar([p + i * width for p in positions], values, width=width, label=name)
    ax.set_xticks([p + width * (len(series) - 1) / 2 for p in positions], labels, rotation=30, ha="right",
                  fontsize=7)
    ax.set_title(title, fontsize=10)
    ax.set_ylabel(ylabel, fontsize=8)
    ax.tick_params(axis="y", labelsize=7)
    ax.axhline(0, color="black", linewidth=0.5)
    if percent_axis:   # basis points on the axis, labelled as percentages
        ax.set_ylim(0, 10_000)
        ax.set_yticks([0, 2_500, 5_000, 7_500, 10_000], ["0%", "25%", "50%", "75%", "100%"])
    if len(series) > 1:
        ax.legend(fontsize=7)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return f"![{title}](data:image/png;base64,{base64.b64encode(buf.getvalue()).decode('ascii')})"


def _label(row: dict, *fields: str) -> str:
    return " ".join(str(row[f]).strip() for f in fields)


def report_chart(report: str, sections: dict[str, list[dict]]) -> str:
    """The chart of one report from its built rows (the last day of the run only, to keep it readable)."""
    rows = {table: _last_day(r) for table, r in sections.items()}
    if report == "trial_balance":
        r = rows["trial_balance"]
        return bar_chart("Closing balances (debit +, credit -)", [_label(x, "tenant", "account_code", "currency")
                                                                  for x in r],
                         {"balance": [x["debit_minor"] - x["credit_minor"] for x in r]}, "minor units")
    if report == "balance_sheet":
        r = rows["balance_sheet"]
        return bar_chart("Balance sheet", [_label(x, "tenant", "account_code", "currency") for x in r],
                         {"amount": [x["amount_minor"] for x in r]}, "minor units")
    if report == "income_statement":
        r = rows["income_statement"]
        return bar_chart("Income statement", [_label(x, "tenant", "account_code", "currency") for x in r],
                         {"day": [x["day_minor"] for x in r], "month to date": [x["mtd_minor"] for x in r]},
                         "minor units")
    if report == "cash_position":
        r = rows["cash_position"]
        return bar_chart("Ledger cash vs bank movement", [_label(x, "tenant", "bank_account", "currency") for x in r],
                         {"ledger balance": [x["ledger_balance_minor"] for x in r],
                          "bank closing - first opening": [x["bank_movement_minor"] or 0 for x in r]},
                         "minor units")
    if report == "processor_fees":
        r = rows["processor_fees"]
        return bar_chart("Processor fees", [_label(x, "tenant", "processor", "category", "currency") for x in r],
                         {"fees": [x["fee_minor"] for x in r]}, "minor units")
    if report == "recon_summary":
        r = rows["recon_match_rate"]
        return bar_chart("Match rate", [_label(x, "tenant", "source", "currency") for x in r],
                         {"by count": [x["matched_items"] * 10_000 // x["items"] for x in r],
                          "by amount": [x["matched_minor"] * 10_000 // x["amount_minor"] if x["amount_minor"] else 0
                                        for x in r]},
                         "match rate", percent_axis=True)
    if report == "break_aging":
        counts: dict[str, list[int]] = defaultdict(lambda: [0] * len(BUCKETS))
        for x in rows["break_aging"]:
            counts[_label(x, "tenant", "currency")][BUCKETS.index(x["bucket"])] += x["breaks"]
        return bar_chart("Open breaks by age (days)", BUCKETS, dict(counts) or {"no open breaks": [0] * 5}, "breaks")
    return ""


def _last_day(rows: list[dict]) -> list[dict]:
    if not rows:
        return rows
    last = max(r["business_date"] for r in rows)
    return [r for r in rows if r["business_date"] == last]
