"""Bank CSV mappings (a bad one is a clear error naming file, line and key) and `financeops import --dry-run`
through the CLI (no database)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from financeops_pipeline.cli import main
from financeops_pipeline.errors import FileRejected
from financeops_pipeline.imports import bankcsv
from tests.conftest import SAMPLES, shared_sample_path

GOOD = """name: b
columns:
  date: Date
  amount: Amount
currency: EUR
account_id: A1
"""


@pytest.mark.parametrize(("text", "line", "key", "words"), [
    (GOOD + "colums: {}\n", 7, "colums", "unknown key 'colums'"),
    (GOOD.replace("  amount: Amount", "  amount: Amount\n  debit: Debit"), 4, "columns.amount", "not both"),
    (GOOD.replace("  amount: Amount", "  amout: Amount"), 4, "columns.amout", "unknown column key"),
    (GOOD.replace("currency: EUR", "currency: EUX"), 5, "currency", "unknown currency"),
    (GOOD + "decimal: ';'\n", 7, "decimal", "decimal is"),
    (GOOD + "opening_balance: {pattern: 'no group'}\n", 7, "opening_balance.pattern", "exactly one (group)"),
    (GOOD + "date_format: dd/mm/yyyy\n", 7, "date_format", "strptime"),
    (GOOD.replace("account_id: A1\n", ""), 1, "account_id", "give account_id"),
    ("columns: [a\n", 2, "-", "bad YAML"),
])
def test_a_bad_mapping_names_the_file_line_and_key(tmp_path, text, line, key, words):
    path = tmp_path / "bank.yaml"
    path.write_text(text)
    with pytest.raises(FileRejected) as info:
        bankcsv.load_mapping(path)
    err = info.value.error
    assert (err.file, err.position, err.field) == (str(path), f"line {line}", key)
    assert words in err.message


def test_a_bad_line_is_quarantined_and_the_others_load(tmp_path):
    mapping = bankcsv.parse_mapping(GOOD + "decimal: ','\n", "m.yaml")
    data = b"Date,Amount\n2026-11-02,\"1.234,50\"\n2026-11-31,\"2,00\"\n2026-11-03,x\n2026-11-03,\"-0,50\"\n"
    parsed = bankcsv.parse(data, "s.csv", mapping)
    assert [r["amount_minor"] for r in parsed.records()] == [123450, -50]
    assert [(e.position, e.field) for e in parsed.errors] == [("line 3", "Date"), ("line 4", "Amount")]
    (stmt,) = parsed.statements
    assert (stmt["entry_count"], stmt["entries_total_minor"]) == (2, 123400)


def test_dry_run_prints_what_would_load_without_a_database(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")   # would fail if used
    files = [shared_sample_path("ofx/jseutter__bank_medium.ofx"),
             shared_sample_path("bankcsv/OCA__meta_data_separated_credit_debit.csv"),
             SAMPLES / "acme" / "2026-11-02" / "internal" / "transactions.csv"]
    result = CliRunner().invoke(main, ["import", "--dry-run", *map(str, files)])
    out = result.output
    # exit 1: the bank CSV's own balances do not add up (by 0.02, see test_new_format_samples)
    assert result.exit_code == 1, out
    assert "jseutter__bank_medium.ofx: ofx, 3 records, 0 bad; 1 statements; accounts 12300 000012345678; " \
           "currencies CAD" in out
    assert "opening 727.61 CAD (derived), closing 382.34 CAD (given); integrity: derived" in out
    assert "bankcsv (mapping oca-separated-credit-debit), 4 records" in out
    assert "integrity: does not add up: opening + entries = 31070.09 EUR, closing 31070.11 EUR" in out
    assert "transactions.csv: internal_csv, 8 records, 0 bad" in out and "totals (amount): 569.99 USD" in out


def test_dry_run_with_a_mapping_and_a_rejected_file(tmp_path):
    mapping = SAMPLES / "_more" / "paypal" / "initech" / "bank_mappings" / "initech_bank.yaml"
    statement = SAMPLES / "_more" / "paypal" / "initech" / "2026-11-02" / "bank" / "statement_2026-11-02.csv"
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00\x01 nothing")
    runner = CliRunner()
    ok = runner.invoke(main, ["import", "--dry-run", "--mapping", str(mapping), str(statement)])
    assert ok.exit_code == 0, ok.output
    assert "opening 1000.00 USD (given), closing 1097.50 USD (given); integrity: ok" in ok.output
    bad = runner.invoke(main, ["import", "--dry-run", str(junk)])
    assert bad.exit_code == 1 and "junk.bin: REJECTED:" in bad.output and "unrecognised format" in bad.output
    broken = tmp_path / "bad.yaml"
    broken.write_text(GOOD + "colums: {}\n")
    refused = runner.invoke(main, ["import", "--dry-run", "--mapping", str(broken), str(statement)])
    assert refused.exit_code == 1 and f"{broken}: line 7: field 'colums': unknown key" in refused.output
    assert "Traceback" not in refused.output
    assert runner.invoke(main, ["import", str(statement)]).exit_code == 2   # --tenant needed to load
