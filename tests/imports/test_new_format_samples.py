"""One test per public sample of the new formats (../shared/samples: adyen/, stripe/, ofx/, paypal/,
bankcsv/), asserting counts, totals and balances worked out by hand from each file (arithmetic in comments)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from decimal import Decimal

from financeops_pipeline.imports import bankcsv, detect, ofx, paypal
from financeops_pipeline.imports.dryrun import summarize
from tests.conftest import shared_sample
from tests.imports.bank_shapes import check_bank_shapes


def _parse(relative: str, **kw):
    return detect.parse_file(shared_sample(relative), relative.rsplit("/", 1)[-1], **kw)


def test_adyen_donation_reordered_maps_psp_reference_from_the_last_column():
    parsed = _parse("adyen/wikimedia__settlement_detail_report_donation_reordered.csv")
    assert parsed.format == "adyen" and parsed.errors == [] and parsed.table is not None   # the fast path
    settled, payout = parsed.records()
    # Psp Reference is the 30th and last column: 5364893193133131.
    assert settled["reference"] == "5364893193133131" and settled["merchant_reference"] == "33992337.0"
    # Gross Credit 1.00; fees Scheme 0.02 + Interchange 0.22 = 0.24; Net Credit 0.76 = 1.00 - 0.24.
    assert (settled["gross_minor"], settled["fee_minor"], settled["net_minor"]) == (100, 24, 76)
    assert settled["exchange_rate"] == Decimal("1") and settled["gross_currency"] is None
    # 2016-02-18 16:10:51 PST (-08:00) = 2016-02-19 00:10:51 UTC.
    assert settled["created_at"] == datetime(2016, 2, 19, 0, 10, 51, tzinfo=UTC)
    # The MerchantPayout names a Gross Currency (EUR) but has no gross cells: no gross, no FX. Net Debit 0.76
    # pays out exactly the one settled line's net.
    assert (payout["category"], payout["net_minor"], payout["gross_currency"]) == ("payout", -76, None)
    assert payout["payout_date"] == date(2016, 2, 18) and payout["payout_id"] == "WikimediaCOM:2"


def test_adyen_refund_fee_and_payout_in_pst():
    parsed = _parse("adyen/wikimedia__settlement_detail_report_refund.csv")
    assert parsed.errors == []
    rows = parsed.records()
    assert Counter(r["category"] for r in rows) == {"refund": 1, "fee": 1, "payout": 1}
    refund, fee, payout = rows
    # Refunded: Gross Debit 1.00, Net Debit 1.00, no fee.
    assert (refund["gross_minor"], refund["fee_minor"], refund["net_minor"]) == (-100, 0, -100)
    # Fee: Net Debit 1.80; MerchantPayout: Net Debit 4.03 (the batch's lines net -2.80: an extract).
    assert (fee["net_minor"], payout["net_minor"]) == (-180, -403)
    # 2016-02-15 21:29:37 PST = 2016-02-16 05:29:37 UTC; the payout date is the local date.
    assert payout["created_at"] == datetime(2016, 2, 16, 5, 29, 37, tzinfo=UTC)
    assert {r["payout_date"] for r in rows} == {date(2016, 2, 15)}


def test_stripe_settlement_report_by_header_name():
    parsed = _parse("stripe/wikimedia__settlement_report.csv")
    assert parsed.format == "stripe"
    rows = {r["line_id"]: r for r in parsed.records()}
    # 7 data lines; the payout line (line 8) says gross 24 - fee 0 = net 23.05, which does not add up: it is
    # quarantined with that reason and the other 6 load.
    assert len(rows) == 6
    (error,) = parsed.errors
    assert (error.position, error.field) == ("line 8", "net") and "23.05" in error.message
    # gross: 25 - 10 + 10 - 0.5 - 0.5 + 3.35 = 27.35; fee: 0.95 on the first charge only; net 26.40.
    assert sum(r["gross_minor"] for r in rows.values()) == 2735
    assert sum(r["fee_minor"] for r in rows.values()) == 95
    assert sum(r["net_minor"] for r in rows.values()) == 2640
    # `created` (no created_utc in this export) and `available_on` by their names.
    assert rows["txn_001"]["created_at"] == datetime(2026, 1, 30, 10, 11, 12, tzinfo=UTC)
    assert rows["txn_001"]["available_on"] == date(2026, 1, 30)
    assert rows["txn_001"]["payout_id"] == "po_test123" and rows["txn_001"]["payout_date"] == date(2026, 1, 31)
    assert rows["txn_003"]["reference"] == "Re_1234"   # kept as written
    assert rows["txn_1Tj9xrJ"]["category"] == "dispute" and rows["txn_1Tj9xrJ"]["payout_id"] is None
    # unknown columns are kept in extra, e.g. the payment metadata
    assert '"payment_metadata[external_identifier]": "24315.1"' in rows["txn_001"]["extra"]


def test_ofx_2_xml_statement():
    parsed = _parse("ofx/csingley__stmtrs.ofx")
    check_bank_shapes(parsed, "ofx")
    assert parsed.errors == [] and [r["amount_minor"] for r in parsed.records()] == [-20000, -30000]
    (stmt,) = parsed.statements
    # LEDGERBAL 200.29 at 2005-10-29 and AVAILBAL 200.29; the entries: -200.00 - 300.00 = -500.00.
    assert (stmt["account_id"], stmt["currency"], stmt["entry_count"], stmt["entries_total_minor"]) == (
        "999988", "USD", 2, -50000)
    assert (stmt["closing_date"], stmt["closing_balance_minor"], stmt["available_balance_minor"]) == (
        date(2005, 10, 29), 20029, 20029)
    assert stmt["opening_balance_minor"] is None
    # OFX states no opening balance: derived 200.29 + 500.00 = 700.29.
    check = summarize(parsed, "stmtrs.ofx").statements[0]
    assert (check.opening_minor, check.opening_derived, check.integrity) == (70029, True, "derived")


def test_ofx_1_sgml_statement():
    parsed = _parse("ofx/jseutter__bank_medium.ofx")
    check_bank_shapes(parsed, "ofx")
    rows = parsed.records()
    # -6.60 - 316.67 - 22.00 = -345.27 CAD
    assert [r["amount_minor"] for r in rows] == [-660, -31667, -2200]
    (stmt,) = parsed.statements
    assert (stmt["currency"], stmt["entries_total_minor"], stmt["closing_balance_minor"],
            stmt["available_balance_minor"]) == ("CAD", -34527, 38234, 68234)
    # 20090401122017.000[-5:EST] is booked on the 1st as written.
    assert rows[0]["booking_date"] == date(2009, 4, 1) and rows[0]["acct_svcr_ref"] == "0000123456782009040100001"
    assert rows[1]["counterparty_name"] == "Joe's Bald Hairstyles" and rows[1]["instr_id"] == "0"
    assert rows[0]["remittance_info"] == "POS MERCHANDISE;MCDONALD'S #112"


def test_paypal_activity_download():
    parsed = _parse("paypal/OCA__activity_en.csv")
    assert parsed.format == "paypal" and parsed.errors == []
    rows = parsed.records()
    assert len(rows) == 76
    # Types counted with cut | sort | uniq -c: 1 General Payment + 27 Website Payment, of which 2 are payments
    # sent (TID7 -100.00 AUD, TID14 -195.00 USD): 26 charges; 14 General Withdrawals; and 36 balance
    # movements: 30 General + 2 User Initiated Currency Conversions, the 2 payments sent, Payment Hold TID37
    # and Payment Release TID46.
    assert Counter(r["category"] for r in rows) == {"charge": 26, "payout": 14, "adjustment": 36}
    first = rows[0]
    # 29/12/2015 07:45:51 PST: day first (the file has 29/12, 22/06, ...); 15:45:51 UTC.
    assert first["created_at"] == datetime(2015, 12, 29, 15, 45, 51, tzinfo=UTC)
    # 84.00 gross, PayPal fee -4.25 (a cost: fee_minor 425), net 79.75.
    assert (first["gross_minor"], first["fee_minor"], first["net_minor"]) == (8400, 425, 7975)
    by_id = {r["line_id"]: r for r in rows}
    assert by_id["TID4"]["gross_minor"] == 165375   # "1,653.75"
    assert by_id["TID11"]["payout_id"] == "TID11" and by_id["TID11"]["net_minor"] == -1243137
    # AUD: the conversion TID6 +100.00, then the payment sent TID7 -100.00: 0.
    assert sum(r["net_minor"] for r in rows if r["currency"] == "AUD") == 0
    # EUR: each of the 14 withdrawals is funded by a conversion of the same amount (-12,431.37 / +12,431.37,
    # ...), and the first conversion's 43.34 (TID3) stays: 43.34.
    assert sum(r["net_minor"] for r in rows if r["currency"] == "EUR") == 4334


def test_paypal_stl_settlement_report():
    parsed = _parse("paypal/wikimedia__stl.csv")
    assert parsed.format == "paypal" and parsed.errors == []
    rows = {r["line_id"]: r for r in parsed.records()}
    # 5 SB records; SH/CH/SF/RF are control records.
    assert len(rows) == 5
    # 5678: CR 5200 AUD (52.00), fee DR 225: net 49.75.
    assert (rows["5678"]["gross_minor"], rows["5678"]["fee_minor"], rows["5678"]["net_minor"]) == (5200, 225, 4975)
    # 6899 (T1107 refund): DR 134 GBP, fee CR 47 given back: net -134 + 47 = -87.
    assert (rows["6899"]["category"], rows["6899"]["gross_minor"], rows["6899"]["net_minor"]) == ("refund", -134, -87)
    # The withdrawal T0400: DR 100 GBP, its bank reference 1047428557493 for the bank match.
    payout = rows["3MG88942N0662370U"]
    assert (payout["category"], payout["net_minor"], payout["reference"]) == ("payout", -100, "1047428557493")
    assert payout["payout_date"] == date(2026, 1, 6)   # 23:31:39 -0800, the local date
    # The SF footer's gross credits: GBP 834 (= 68C7), AUD 5735 (= 5200 + 535).
    assert sum(r["gross_minor"] for r in rows.values() if r["currency"] == "AUD") == 5735
    assert sum(r["gross_minor"] for r in rows.values() if r["currency"] == "GBP" and r["gross_minor"] > 0) == 834


def test_bank_csv_with_the_shipped_mapping():
    data = shared_sample("bankcsv/OCA__meta_data_separated_credit_debit.csv")
    parsed = detect.parse_file(data, "x.csv", bankcsv.shipped_mappings())
    check_bank_shapes(parsed, "bankcsv")
    assert parsed.mapping == "oca-separated-credit-debit" and parsed.errors == []
    # Debits "-50,00", "-100,00", "-80,68" and one credit "1300,00": 1300.00 - 230.68 = 1069.32.
    assert [r["amount_minor"] for r in parsed.records()] == [-5000, -10000, -8068, 130000]
    (stmt,) = parsed.statements
    assert (stmt["account_id"], stmt["currency"]) == ("08088804068", "EUR")
    # The file's own balances: start +30000,77, end +31070,11. 30000.77 + 1069.32 = 31070.09, not 31070.11:
    # the statement loads, and the integrity check says it does not add up (by 0.02).
    assert (stmt["opening_balance_minor"], stmt["closing_balance_minor"]) == (3000077, 3107011)
    check = summarize(parsed, "x.csv").statements[0]
    assert check.integrity.startswith("does not add up") and "31070.09" in check.integrity
    assert parsed.records()[3]["remittance_info"] == "LABEL 4 DETAILS 3"


def test_every_new_sample_is_detected_as_its_format():
    for relative, fmt in [("ofx/csingley__stmtrs.ofx", "ofx"), ("ofx/jseutter__bank_medium.ofx", "ofx"),
                          ("paypal/OCA__activity_en.csv", "paypal"), ("paypal/wikimedia__stl.csv", "paypal")]:
        assert detect.detect(shared_sample(relative), "no-extension") == fmt
    assert ofx.sniff(shared_sample("ofx/csingley__stmtrs.ofx")) and not paypal.sniff(shared_sample(
        "ofx/csingley__stmtrs.ofx"))
