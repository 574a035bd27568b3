"""`financeops report`: the stored reports as CSV, XLSX and HTML with exact money, read as the tenant's role,
and the drill-down from a report line to its postings and source records."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

import pytest
from click.testing import CliRunner

from financeops_pipeline.cli import main


@pytest.fixture
def cli(sample, monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", sample.url)
    monkeypatch.setenv("FINANCEOPS_HOME", str(tmp_path / "home"))

    def run(*args: str) -> str:
        result = CliRunner().invoke(main, ["report", *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.stdout

    return run


def test_csv_balance_sheet_has_exact_decimal_money(cli):
    out = cli("balance-sheet", "--date", "2026-11-04", "--tenant", "acme")
    table = list(csv.DictReader(io.StringIO(out)))
    assert table[0] == {"section": "assets", "account_code": "cash:123456789", "account_name": "Cash at bank 123456789",
                        "currency": "USD", "amount_minor": "635.19"}
    # the last line closes the equation: 1241.87 of current earnings (worked out in test_reports.py)
    assert (table[-1]["account_code"], table[-1]["amount_minor"]) == ("current_earnings", "1241.87")
    assert [r["amount_minor"] for r in table if r["account_code"] == "processor_receivable:stripe"] == ["-30.01"]


def test_multi_section_csv_and_rates(cli):
    out = cli("recon-summary", "--date", "2026-11-04", "--tenant", "acme")
    blocks = out.split("\n\n")
    assert [b.splitlines()[0] for b in blocks] == ["# recon_summary", "# recon_match_rate", "# recon_breaks"]
    rates = list(csv.DictReader(io.StringIO(blocks[1].split("\n", 1)[1])))
    internal = next(r for r in rates if r["source"] == "internal")
    assert (internal["count_rate"], internal["amount_rate"], internal["matched_minor"]) == (
        "71.43%", "82.26%", "510.00")


def test_xlsx_money_cells_are_decimals_with_a_number_format(cli, tmp_path):
    from openpyxl import load_workbook

    out = tmp_path / "tb.xlsx"
    cli("trial-balance", "--date", "2026-11-04", "--tenant", "globex", "--format", "xlsx", "--out", str(out))
    sheet = load_workbook(out)["Trial balance"]
    header = [c.value for c in sheet[1]]
    cash = next(r for r in sheet.iter_rows(min_row=2) if r[0].value == "cash:987654321")
    cell = cash[header.index("debit_minor")]
    # 6206.60 - 5000.00 = 1206.60, stored in the file as the decimal text "1206.6"
    assert Decimal(str(cell.value)) == Decimal("1206.60") and cell.number_format == "#,##0.00"
    import zipfile
    xml = zipfile.ZipFile(out).read("xl/worksheets/sheet1.xml").decode()
    assert "<v>1206.6</v>" in xml


def test_html_report_and_tenant_isolation(cli):
    page = cli("fees", "--date", "2026-11-04", "--tenant", "globex", "--format", "html")
    assert page.startswith("<!doctype html>") and '<td class="n">2.25</td>' in page   # 0.95+0.25+0.80+0.25
    assert "stripe" not in page   # globex has no Stripe; acme's rows are not visible to globex's role


def test_drill_down_lists_the_postings_and_source_records_behind_a_line(cli):
    out = cli("trial-balance", "--date", "2026-11-04", "--tenant", "acme", "--account", "cash:123456789")
    postings = list(csv.DictReader(io.StringIO(out)))
    # -25.00 fee, +1.23 interest (11-02); +231.25 Stripe payout, +77.00 unknown (11-03); +233.06, +117.65 (11-04)
    assert [p["amount_minor"] for p in postings] == ["-25.00", "1.23", "231.25", "77.00", "233.06", "117.65"]
    assert sum(Decimal(p["amount_minor"]) for p in postings) == Decimal("635.19")   # = the trial-balance line
    unknown = postings[3]
    assert unknown["source_kind"] == "bank" and unknown["source_file"] == "camt053_2026-11-03.xml"
    record = json.loads(unknown["source_record"])
    assert record["acct_svcr_ref"] == "ACME-BANK-20261103-002" and record["amount_minor"] == 7700
    # an income-statement line drills into the day's movement only: Stripe fees of 11-04 = 1.75 + 2.62 + 7.55
    out = cli("income-statement", "--date", "2026-11-04", "--tenant", "acme", "--account", "processor_fees:stripe")
    fees = list(csv.DictReader(io.StringIO(out)))
    assert sum(Decimal(p["amount_minor"]) for p in fees) == Decimal("11.92")
    assert {json.loads(p["source_record"])["line_id"] for p in fees} == {
        "txn_3Q0016AcmeSample", "txn_3Q0017AcmeSample", "txn_3Q0021AcmeSample"}


def test_income_statement_for_any_period(cli):
    out = cli("income-statement", "--from", "2026-11-03", "--date", "2026-11-04", "--tenant", "acme")
    got = {r["account_code"]: r["period_minor"] for r in csv.DictReader(io.StringIO(out))}
    assert got == {
        "revenue": "1000.00",                 # payments 470.00 (11-03) + 530.00 (11-04)
        "refunds": "110.00",                  # 80.00 + 30.00
        "chargebacks": "100.00",              # T0012 on 11-03
        "processor_fees:stripe": "38.86",     # 26.94 + 11.92
        "processor_fees:adyen": "4.15",       # 2.35 + 1.80
        "net_income": "746.99",               # 1000.00 - 110.00 - 100.00 - 38.86 - 4.15
    }
    # from the first of the month it is the stored month to date (1241.87, worked out in test_reports.py)
    out = cli("income-statement", "--from", "2026-11-01", "--date", "2026-11-04", "--tenant", "acme")
    assert [r["period_minor"] for r in csv.DictReader(io.StringIO(out)) if r["account_code"] == "net_income"] == [
        "1241.87"]
    result = CliRunner().invoke(main, ["report", "balance-sheet", "--from", "2026-11-03", "--date", "2026-11-04",
                                       "--tenant", "acme"])
    assert result.exit_code == 2 and "--from is for income-statement" in result.output
