"""The second set of public bank files (../shared/samples/SOURCES.md, "real-world variety"), one test each.

Every count, total and balance below was worked out by hand from the file itself; the arithmetic is in the
comments. The files in broken/ must be refused with an error naming the file, the record and the field.
"""

from __future__ import annotations

from datetime import date

import pytest

from financeops_pipeline.errors import FileRejected
from financeops_pipeline.imports import bai2, camt053, detect, mt940
from tests.conftest import shared_sample
from tests.imports.bank_shapes import check_bank_shapes


def _parse(module, relative: str, fmt: str):
    data = shared_sample(relative)
    name = relative.rsplit("/", 1)[-1]
    assert detect.detect(data, name) == fmt
    parsed = module.parse(data, name)
    check_bank_shapes(parsed, fmt)
    return parsed


# ------------------------------------------------------------------------------------------------ camt.053
def test_subite_one_line_document_two_statements_no_indicators_no_dates():
    parsed = _parse(camt053, "camt053/Subite-eu__2024-04-11.xml", "camt053")
    assert parsed.errors == [] and parsed.encoding == "utf-8"
    s1, s2 = parsed.statements
    # Stmt 1: 15 entries, no BookgDt/ValDt: they book on the statement's date (its balances: 2024-04-11).
    # credits 46840 + 891017.25 + 2648 = 940505.25
    # debits  388645 + 46840 + 88667.80 + 3086 + 556633.95 + 2680339.12 + 58.42 + 474367.36 + 858626.92
    #         + 90190.85 + 7661.59 + 14568 = 5209685.01
    # net -4269179.76; OPBD 21463830.35 (no CdtDbtInd: a credit balance) - 4269179.76 = 17194650.59 = CLBD
    assert (s1["account_id"], s1["currency"], s1["statement_id"]) == ("LT625883379695428516", "EUR",
                                                                      "MSG25684197-NAEUXI")
    assert (s1["entry_count"], s1["entries_total_minor"]) == (15, -426917976)
    assert (s1["opening_balance_minor"], s1["closing_balance_minor"]) == (2146383035, 1719465059)
    assert s1["opening_balance_minor"] + s1["entries_total_minor"] == s1["closing_balance_minor"]
    assert (s1["opening_type"], s1["closing_type"]) == ("OPBD", "CLBD")
    assert not s1["opening_derived"] and not s1["closing_derived"]
    # Stmt 2: OPBD = CLBD = 2801.55, no entries
    assert (s2["account_id"], s2["entry_count"], s2["opening_balance_minor"], s2["closing_balance_minor"]) == (
        "LT414319056143772570", 0, 280155, 280155)
    rows = parsed.records()
    assert len(rows) == 15 and all(r["booking_date"] == date(2024, 4, 11) for r in rows)
    # "388645" has no decimals: 388645.00 EUR; "88667.8" is 88667.80
    assert rows[0]["amount_minor"] == -38864500 and rows[4]["amount_minor"] == -8866780
    assert rows[0]["acct_svcr_ref"] == "REF000003643800" and rows[0]["bank_tx_code"] == "ATSISK"
    assert rows[3]["amount_minor"] == 89101725     # a batch of 134 with one aggregated TxDtls: one line
    assert all(r["booked"] and r["entry_status"] is None for r in rows)


def test_oca_sftp_camt053_without_declaration_extension_or_closing():
    parsed = _parse(camt053, "camt053/OCA__camt053", "camt053")
    assert parsed.errors == []
    (stmt,) = parsed.statements
    (row,) = parsed.records()
    # one DBIT entry of 1200.00 (salary), booked 2024-03-02
    assert (row["amount_minor"], row["booking_date"], row["counterparty_name"]) == (-120000, date(2024, 3, 2),
                                                                                  "Employee X")
    assert row["end_to_end_id"] == "1234567890-NEWBNL2X" and row["remittance_info"] == "Salary payment for March"
    # only OPBD 75000.00: the closing is derived, 75000.00 - 1200.00 = 73800.00, dated the statement's end
    # (FrToDt/ToDtTm 2024-03-03T23:59:59.999Z: more fractional digits than microseconds, the date as written)
    assert (stmt["opening_balance_minor"], stmt["opening_type"]) == (7500000, "OPBD")
    assert (stmt["closing_balance_minor"], stmt["closing_derived"], stmt["closing_type"]) == (7380000, True, None)
    assert stmt["closing_date"] == date(2024, 3, 3)


def test_genkgo_v4_balances_and_entries_in_several_currencies():
    parsed = _parse(camt053, "camt053/genkgo__camt053.v4.xml", "camt053")
    assert parsed.errors == []
    (row,) = parsed.records()
    # the entry is EUR 8.85 CRDT; its TxDtls carries SEK 0 (another currency cannot split the entry)
    assert (row["currency"], row["amount_minor"], row["booking_date"]) == ("EUR", 885, date(2014, 12, 31))
    assert row["acct_svcr_ref"] == "AAAASESS-FP-CN_98765/01" and row["remittance_info"] == "4654654654654654"
    eur, sek = parsed.statements
    # EUR: OPBD CRDT 18.15 + 8.85 = 27.00, derived (the CLBD is in SEK)
    assert (eur["source_position"], eur["currency"], eur["opening_balance_minor"]) == ("Stmt[1]", "EUR", 1815)
    assert (eur["closing_balance_minor"], eur["closing_derived"]) == (2700, True)
    # SEK: CLBD DBIT 27.00 and no SEK entries: opening derived -27.00 - 0
    assert (sek["source_position"], sek["currency"]) == ("Stmt[1][SEK]", "SEK")
    assert (sek["closing_balance_minor"], sek["closing_type"], sek["opening_balance_minor"]) == (-2700, "CLBD", -2700)
    assert sek["opening_derived"] and sek["entry_count"] == 0
    # OPAV CHF 35.00 and CLAV JPY 2700 are available balances only, with no lines: no statement of their own


def test_genkgo_v2_without_any_statement_is_refused():
    data = shared_sample("broken/genkgo__camt053.v2.wrong.xml")
    with pytest.raises(FileRejected) as info:
        camt053.parse(data, "genkgo__camt053.v2.wrong.xml")
    err = info.value.error
    assert (err.file, err.position, err.field) == ("genkgo__camt053.v2.wrong.xml", "Document", "Stmt")
    assert "contains no Stmt" in err.message


# ---------------------------------------------------------------------------------------------------- BAI2
def test_svb_summaries_continued_on_88_records_with_an_extra_field():
    parsed = _parse(bai2, "bai2/ministryofjustice__svb_us_example.bai2", "bai2")
    # trailers: 49 138884258 = 010 34726979 + 015 35217175 + 040 32742537 + 045 35217175 + 100 490196
    #           + 16 490196; 7 records (03, three 88, 16, 88, 49); all agree
    assert parsed.errors == []
    day1, day2 = parsed.statements
    # '03,...,015,35217175,,,/' leaves an empty field before '/': the 88 still starts at type code 040
    assert (day1["opening_balance_minor"], day1["closing_balance_minor"]) == (34726979, 35217175)
    assert (day1["available_type"], day1["available_balance_minor"]) == ("045", 35217175)
    # 347269.79 + 4901.96 (16 type 142, a credit) = 352171.75 = the 015 closing
    assert day1["opening_balance_minor"] + day1["entries_total_minor"] == day1["closing_balance_minor"]
    # second group: 352171.75 + 9058.00 = 361229.75
    assert (day2["opening_balance_minor"], day2["entries_total_minor"], day2["closing_balance_minor"]) == (
        35217175, 905800, 36122975)
    assert [s["opening_date"] for s in parsed.statements] == [date(2022, 2, 1), date(2022, 2, 2)]
    first = parsed.records()[0]
    # '16,142,490196,,172629,/' then '88,SOME PAYMENT ACH OFFSET' (text without a '/')
    assert (first["amount_minor"], first["acct_svcr_ref"]) == (490196, "172629")
    assert first["remittance_info"] == "SOME PAYMENT ACH OFFSET"


def test_moov_sample3_several_records_per_line_and_wrapped_lines():
    parsed = _parse(bai2, "bai2/moov-io__sample3.txt", "bai2")
    # every 49/98/99 control total and record count agrees with the records (none quarantined)
    assert parsed.errors == []
    rows = parsed.records()
    # 16 records: 6 + 2 + 6 + 4 + 8 = 26 (grep -o '16,[0-9][0-9][0-9],' counts 26)
    assert len(rows) == 26
    stmts = parsed.statements
    assert len(stmts) == 15
    # account on line 2: 16 142 2500 + 500 + 100 (credits, two of them on line 3) - 451 2500 - 600 - 100
    # = -100; 010 -35.00 - 1.00 = -36.00 = 015
    a = stmts[0]
    assert (a["opening_balance_minor"], a["entries_total_minor"], a["closing_balance_minor"]) == (-3500, -100, -3600)
    # second and third accounts share lines 10 and 11 with a 49 (zero summaries, no details)
    assert (stmts[1]["source_position"], stmts[2]["source_position"]) == ("line 10", "line 11")
    # account on line 12: 451 275.00 + 32.03 on the same line: -557.03 - 307.03 = -864.06 = 015
    b = stmts[3]
    assert (b["opening_balance_minor"], b["entries_total_minor"], b["closing_balance_minor"]) == (
        -55703, -30703, -86406)
    # line 18 wraps onto line 19 ('111111111111111        /' is no record): one 16 record
    wrapped = next(r for r in rows if r["source_position"] == "line 18")
    # its 88 on line 20 goes on with the text
    assert wrapped["amount_minor"] == 2500
    assert wrapped["remittance_info"] == "111111     ACH_SETL           1111111111 111111111111111 1111111111"
    assert sum(r["amount_minor"] for r in rows) == sum(s["entries_total_minor"] for s in stmts)


def test_venturehacks_checksum_failure_is_refused():
    data = shared_sample("broken/venturehacks__invalid_checksum_eod.bai2")
    with pytest.raises(FileRejected) as info:
        bai2.parse(data, "venturehacks__invalid_checksum_eod.bai2")
    err = info.value.error
    # the one 16 record is 8325982; the 49, 98 and 99 all say 8325983 and agree with each other
    assert (err.file, err.position, err.field) == ("venturehacks__invalid_checksum_eod.bai2", "line 15",
                                                   "control_total")
    assert "checksum failure" in err.message and "8325983" in err.message and "8325982" in err.message


# --------------------------------------------------------------------------------------------------- MT940
def test_cmxl_three_statements_historic_currency_dr_cr_funds_codes():
    parsed = _parse(mt940, "mt940/wolph__cmxl_mt940.sta", "mt940")
    assert parsed.errors == [] and parsed.encoding == "utf-8"
    dem, eur, pln = parsed.statements
    # DEM (withdrawn in 2002, still a known ISO 4217 code, 2 decimals): 60F C84349,74
    # credits 18500 + 4200 + 3656.74 + 23040 = 49396.74; debits 6800 + 620.30 + 14220 + 1507 + 19900 + 400
    # + 5862.14 = 49309.44; 84349.74 + 87.30 = 84437.04 = 62F
    assert (dem["currency"], dem["entry_count"], dem["entries_total_minor"]) == ("DEM", 11, 8730)
    assert (dem["opening_balance_minor"], dem["closing_balance_minor"]) == (8434974, 8443704)
    # EUR: DR800, = D + funds code R (not a reversal), CR3000, = C + R: 2187.95 - 800 + 3000 = 4387.95
    assert (eur["entries_total_minor"], eur["closing_balance_minor"]) == (220000, 438795)
    dr, cr = [r for r in parsed.records() if r["currency"] == "EUR"]
    assert (dr["amount_minor"], dr["is_reversal"], dr["acct_svcr_ref"]) == (-80000, False, "55555")
    assert (cr["amount_minor"], cr["is_reversal"]) == (300000, False)
    assert dr["remittance_info"] == "Miete November" and dr["counterparty_name"] == "MUELLER"
    # PLN: 40000.00 + 20000.00 - 10000.00 + 40.00 = 50040.00
    assert (pln["entries_total_minor"], pln["closing_balance_minor"]) == (1004000, 5004000)
    assert [r["amount_minor"] for r in parsed.records()][:2] == [-680000, -62030]    # '6800,' and '620,3'
    assert len(parsed.records()) == 16


def test_sns_three_statements_the_last_without_closing_balance():
    parsed = _parse(mt940, "mt940/OCA__test-sns.940", "mt940")
    assert parsed.errors == []
    s1, s2, s3 = parsed.statements
    # 3026.96 - 713.13 - 10.18 - 13.52 - 25.61 = 2264.52 = 62F
    assert (s1["opening_balance_minor"], s1["entries_total_minor"], s1["closing_balance_minor"]) == (
        302696, -76244, 226452)
    # 2264.52 - 10.95 + 0.00 = 2253.57 = 62F (a 0,00 entry is a line too)
    assert (s2["entry_count"], s2["entries_total_minor"], s2["closing_balance_minor"]) == (2, -1095, 225357)
    # no :62F: before '-}{5:}': 2253.57 - 907.29 - 35.00 = 1311.28, derived and marked so
    assert (s3["entries_total_minor"], s3["closing_balance_minor"], s3["closing_derived"]) == (-94229, 131128, True)
    assert s3["closing_date"] == date(2017, 12, 29)
    first = parsed.records()[0]
    # :61: with the counter IBAN as customer reference (18 characters) and the name on the next line
    assert first["instr_id"] == "NL49RABO0166416932" and first["bank_tx_code"] == "NOVB"
    assert "Factuur 17227/248/20" in first["remittance_info"]
    assert len(parsed.records()) == 8


def test_asn_31_daily_statements_eight_lines():
    parsed = _parse(mt940, "mt940/wolph__ASNB_mt940.txt", "mt940")
    assert parsed.errors == []
    assert len(parsed.statements) == 31 and len(parsed.records()) == 8
    # 444.29 - 65.00 + 1000.00 - 801.55 - 1.65 + 828.72 - 1000.00 + 1000.18 - 903.76 = 501.23 = the last 62F
    assert sum(r["amount_minor"] for r in parsed.records()) == 5694
    assert parsed.statements[0]["opening_balance_minor"] == 44429
    assert parsed.statements[-1]["closing_balance_minor"] == 50123
    # every daily statement adds up and opens at the previous closing
    for before, after in zip(parsed.statements, parsed.statements[1:], strict=False):
        assert after["opening_balance_minor"] == before["closing_balance_minor"]
    assert all(s["opening_balance_minor"] + s["entries_total_minor"] == s["closing_balance_minor"]
               for s in parsed.statements)
    assert parsed.records()[0]["instr_id"] == "NL47INGB9999999999"
