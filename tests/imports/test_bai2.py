"""BAI2 parser: the public moov-io samples (figures checked by hand) and small hand-made files."""

from __future__ import annotations

from datetime import date

import pytest

from financeops_pipeline.errors import FileRejected
from financeops_pipeline.imports import bai2
from tests.conftest import shared_sample
from tests.imports.bank_shapes import check_bank_shapes


def _sample(name: str) -> bytes:
    return shared_sample(f"bai2/{name}")


def _check_shapes(parsed) -> None:
    check_bank_shapes(parsed, "bai2")


def test_moov_sample1():
    data = _sample("moov__sample1.bai2")
    assert bai2.sniff(data)
    parsed = bai2.parse(data, "moov__sample1.bai2")
    _check_shapes(parsed)
    # All trailers agree: 49 +834000 / 14 records, 49 +446000 / 9, 98 1280000 / 2 accounts / 25, 99 / 27.
    assert parsed.errors == []
    assert len(parsed.records()) == 17                              # 11 + 6 records '16'
    credits = sum(r["amount_minor"] for r in parsed.records() if r["amount_minor"] > 0)
    debits = sum(r["amount_minor"] for r in parsed.records() if r["amount_minor"] < 0)
    # account 1: 108 = 203500 + 2500 + 2500 = 208500;
    #            409 = 2500 + 90000 + 500 + 20000 + 90000 + 2000 + 2500 + 1000 = 208500
    # account 2: 108 = 11500 + 100000 = 111500; 409 = 100000 + 9000 + 2000 + 500 = 111500
    assert credits == 208500 + 111500 == 320000
    assert debits == -320000
    first = parsed.records()[0]
    assert first["amount_minor"] == -2500 and first["bank_tx_code"] == "409"   # 409 = debit
    assert first["currency"] == "CAD"                                          # from the 03 record
    assert first["booking_date"] == date(2006, 3, 17)                          # 02 as-of date 060317
    assert first["value_date"] == date(2006, 3, 16)                            # funds type V 060316
    assert first["remittance_info"] == "RETURNED CHEQUE"
    assert first["source_position"] == "line 5"
    assert parsed.records()[3]["amount_minor"] == 203500                            # 108 = credit
    a1, a2 = parsed.statements
    assert a1["account_id"] == a2["account_id"] == "10200123456"
    assert a1["statement_id"] != a2["statement_id"]
    # no 010 / 015 summary in this file: ledger balances unknown
    assert a1["opening_balance_minor"] is None and a1["closing_balance_minor"] is None
    assert (a1["entry_count"], a1["entries_total_minor"]) == (11, 0)
    assert (a2["entry_count"], a2["entries_total_minor"]) == (6, 0)
    assert a2["source_position"] == "line 17"


def test_moov_sample2_continuations_and_funds_types():
    parsed = bai2.parse(_sample("moov__sample2.bai2"), "moov__sample2.bai2")
    _check_shapes(parsed)
    # The 03 records continue on 88 lines after a '/', e.g. '...,190/' + '88,500000,...': every
    # control total matches (9150000, 4000000, 180000000, 140500000, 11800000; file 345450000).
    assert parsed.errors == []
    # 115 450000 (S availability 100000/200000/150000), 115 500000, 218 20000000, 195 10000000
    assert [r["amount_minor"] for r in parsed.records()] == [450000, 500000, 20000000, 10000000]
    assert sum(r["amount_minor"] for r in parsed.records()) == 30950000
    assert all(r["currency"] == "USD" for r in parsed.records())                    # 02 and 03 leave it blank
    lc = parsed.records()[2]
    assert lc["acct_svcr_ref"] == "SP4738" and lc["instr_id"] == "YRC065321"
    assert lc["remittance_info"] == "PROCEEDS OF LETTER OF CREDIT FROM THE ARAMCO OIL CO"   # 88 text
    assert lc["value_date"] == date(2004, 6, 22) and lc["booking_date"] == date(2004, 6, 20)
    assert parsed.records()[1]["remittance_info"] == "LOCK BOX NO.68751"
    assert [s["opening_balance_minor"] for s in parsed.statements] == [
        4350000, -500000, 10000000, 500000, 800000]                          # type 010, signed
    # no 015 anywhere: each closing is derived as opening + entries and marked so
    # 43500.00 + 4500.00 = 48000.00; -5000.00 + 5000.00 = 0; 100000.00 + 200000.00 + 100000.00 = 400000.00
    assert [s["closing_balance_minor"] for s in parsed.statements] == [
        4800000, 0, 40000000, 500000, 800000]
    assert all(s["closing_derived"] and s["closing_type"] is None for s in parsed.statements)
    assert all(s["opening_type"] == "010" and not s["opening_derived"] for s in parsed.statements)
    assert [s["entry_count"] for s in parsed.statements] == [1, 1, 2, 0, 0]


def test_moov_sample4_newline_delimited_continuations_and_bad_trailers():
    parsed = bai2.parse(_sample("moov__sample4-continuations-newline-delimited.bai2"), "s4.bai2")
    _check_shapes(parsed)
    assert len(parsed.records()) == 17
    # account 107049932: 447 -60000, 261 +143500, 447 -928650 = -845150
    # account 104108339: credits 1912 + 1125 + 60000 + 931 + 50050 + 527 + 337686 + 5000 = 457231
    #                    debits 200000 + 55555 + 50500 + 10100 + 44250 + 30000000 = 30360405
    #                    net 457231 - 30360405 = -29903174
    assert sum(r["amount_minor"] for r in parsed.records()) == -845150 - 29903174
    acct = parsed.statements[2]
    assert acct["account_id"] == "104108339"
    assert acct["opening_balance_minor"] == 159581194 and acct["closing_balance_minor"] == 159381194
    assert acct["entries_total_minor"] == -29903174 and acct["opening_date"] == date(2023, 9, 6)
    first = parsed.records()[0]
    assert first["acct_svcr_ref"] == "SPB2322984714570" and first["instr_id"] == "1111"
    # text keeps its commas, 88 lines are appended with a space
    assert first["remittance_info"].startswith("ACH Credit Payment,Entry Description: EXP; -, SEC: CCD")
    assert first["remittance_info"].endswith("GS ID: SPB2322984714570 EREF: 1111 DBNM: TEST INC "
                                             "CACT: ACHCONTROLOUTUSD01")
    # The file's own trailers do not add up: 49 on line 22 says -1260161341762 for
    # 060 6865898 + 100 1912 + 60000 + 143500 + 928650 = 7999960, and 26 records for 18.
    errors = {(e.position, e.field) for e in parsed.errors}
    assert ("line 22", "control_total") in errors and ("line 22", "record_count") in errors
    assert ("line 110", "control_total") in errors
    err = next(e for e in parsed.errors if e.position == "line 22" and e.field == "control_total")
    assert "-1260161341762" in err.message and "7999960" in err.message and err.file == "s4.bai2"
    assert err.raw.startswith("49,")


def test_moov_parse_error_sample_is_rejected_with_file_and_position():
    data = _sample("moov__sample-parseError.bai2")
    assert not bai2.sniff(data)
    with pytest.raises(FileRejected) as info:
        bai2.parse(data, "moov__sample-parseError.bai2")
    assert info.value.error.file == "moov__sample-parseError.bai2"
    assert info.value.error.position == "line 1"
    assert "moov__sample-parseError.bai2: line 1" in str(info.value)


HEADER = "01,SENDER,RECV,240102,0800,F1,,,2/\n02,RECV,BANK,1,240101,,{ccy},/\n"
TRAILER = "98,{gt},1,{gn}/\n99,{gt},1,{fn}/\n"


def _file(account: str, body: str, ccy: str = "", control: int = 0, count: int = 0) -> bytes:
    records = 2 + body.count("\n")  # 03 + body + 49
    text = HEADER.format(ccy=ccy) + account + body + f"49,{control},{count or records}/\n"
    text += TRAILER.format(gt=control, gn=records + 2, fn=records + 4)
    return text.encode()


def test_jpy_amounts_have_no_decimals_and_ledger_balances_are_read():
    body = "16,165,12345,0,BR1,CR1,COLLECTION/\n16,475,45,Z,,,/\n"
    account = "03,ACC9,JPY,010,-100,,,015,12200,,/\n"
    parsed = bai2.parse(_file(account, body, control=-100 + 12200 + 12345 + 45), "jp.bai2")
    assert parsed.errors == []
    assert [(r["amount_minor"], r["currency"]) for r in parsed.records()] == [(12345, "JPY"), (-45, "JPY")]
    (stmt,) = parsed.statements
    assert stmt["opening_balance_minor"] == -100 and stmt["closing_balance_minor"] == 12200
    assert stmt["entries_total_minor"] == 12300


def test_bad_detail_records_are_record_errors_and_the_rest_is_kept():
    body = (
        "16,165,-500,0,,,negative credit/\n"       # line 4: sign inconsistency
        "16,799,500,0,,,loan code/\n"             # line 5: not a credit/debit type code
        "16,165,12A4,0,,,bad amount/\n"           # line 6
        "16,165,100,Q,,,bad funds type/\n"        # line 7
        "16,475,250,V,241399,,,,bad value date/\n"  # line 8
        "16,475,250,D,2,0,200,1,50,REF,,distributed/\n"  # line 9: fine
    )
    parsed = bai2.parse(_file("03,ACC,USD/\n", body, control=0), "bad.bai2")
    assert [(e.position, e.field) for e in parsed.errors if e.field not in ("control_total", "record_count")] == [
        ("line 4", "amount"), ("line 5", "type_code"), ("line 6", "amount"), ("line 7", "funds_type"),
        ("line 8", "value_date"),
    ]
    assert parsed.errors[0].raw == "16,165,-500,0,,,negative credit/"
    (row,) = parsed.records()
    assert row["amount_minor"] == -250 and row["acct_svcr_ref"] == "REF"
    assert row["remittance_info"] == "distributed" and row["source_position"] == "line 9"
    # the 49 (line 10) control total 0 does not match 250: with records quarantined it cannot, so the mismatch
    # is one more quarantined record, not a checksum failure
    assert any(e.position == "line 10" and e.field == "control_total" for e in parsed.errors)


def test_records_without_slash_terminators():
    text = (
        "01,S,R,240102,0800,F1,,,2\n02,R,B,1,240101,,EUR\n03,ACC,,010,1000,,\n"
        "16,195,1500,0,B1,C1,first part\n88,second part\n49,2500,4\n98,2500,1,6\n99,2500,1,8\n"
    )
    parsed = bai2.parse(text.encode(), "noslash.bai2")
    assert parsed.errors == []
    (row,) = parsed.records()
    assert row["currency"] == "EUR" and row["remittance_info"] == "first part second part"


@pytest.mark.parametrize("text, needle", [
    ("", "empty"),
    ("01,S,R,240102,0800,F1,,,2/\n02,R,B,1,240101,,,/\n03,A,,/\n49,0,2/\n98,0,1,4/\n", "99"),
    ("01,S,R,240102,0800,F1,,,2/\n02,R,B,1,240101,,XYZ,/\n98,0,0,2/\n99,0,1,4/\n", "currency"),
    ("01,S,R,240102,0800,F1,,,2/\n02,R,B,1,241301,,,/\n98,0,0,2/\n99,0,1,4/\n", "as_of_date"),
    ("01,S,R,240102,0800,F1,,,2/\n03,A,,/\n49,0,2/\n99,0,1,3/\n", "outside a group"),
    ("01,S,R,240102,0800,F1,,,2/\n77,xx/\n99,0,0,3/\n", "record code"),
    ("01,S,R,240102,0800,F1,,,2/\n99,0,0,2/\n01,again/\n", "after the 99"),
])
def test_whole_file_problems_are_rejected(text, needle):
    with pytest.raises(FileRejected) as info:
        bai2.parse(text.encode(), "f.bai2")
    assert "f.bai2" in str(info.value) and needle in str(info.value)


def test_sniff():
    assert bai2.sniff(b"\n  01,SENDER,RECV,240102,0800,F1,,,2/\n")
    assert not bai2.sniff(b":20:REF\n:60F:C240101EUR1,00\n")
    assert not bai2.sniff(b"<Document/>")
