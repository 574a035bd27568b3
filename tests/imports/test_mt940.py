"""MT940 parser: the public wolph/mt940 samples (figures checked by hand) and small hand-made files."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from financeops_pipeline.errors import FileRejected
from financeops_pipeline.imports import mt940
from tests.conftest import shared_sample
from tests.imports.bank_shapes import check_bank_shapes


def _sample(name: str) -> bytes:
    return shared_sample(f"mt940/{name}")


def _parse(name: str):
    data = _sample(name)
    assert mt940.sniff(data)
    parsed = mt940.parse(data, name)
    check_bank_shapes(parsed, "mt940")
    return parsed


def test_abnamro():
    parsed = _parse("wolph__jejik_abnamro.sta")
    assert parsed.errors == []
    s1, s2 = parsed.statements
    # statement 1: 60F C3236,28 ; 62F C876,84 ; eight debits
    # 9 + 11.59 + 11.63 + 11.80 + 13.45 + 15.49 + 107 + 141.48 = 321.44
    assert (s1["opening_balance_minor"], s1["closing_balance_minor"]) == (323628, 87684)
    assert (s1["entry_count"], s1["entries_total_minor"]) == (8, -32144)
    assert s1["opening_date"] == date(2011, 5, 22) and s1["closing_date"] == date(2011, 5, 23)
    # statement 2: 60M C2876,84 ; 62M C1849,75 ; 9.49 + 15.00 = 24.49
    assert (s2["opening_balance_minor"], s2["closing_balance_minor"]) == (287684, 184975)
    assert (s2["entry_count"], s2["entries_total_minor"]) == (2, -2449)
    # The sample's figures do not balance (3236.28 - 321.44 = 2914.84 != 876.84): reported as is.
    assert s1["statement_id"] == s2["statement_id"] == "ABN AMRO BANK NV"   # ABN repeats its :20:
    assert len(parsed.records()) == 10 and sum(r["amount_minor"] for r in parsed.records()) == -34593
    second = parsed.records()[1]          # :61:1105210523D11,59N426NONREF on line 12
    assert second["source_position"] == "line 12"
    assert second["value_date"] == date(2011, 5, 21) and second["booking_date"] == date(2011, 5, 23)
    assert second["bank_tx_code"] == "N426" and second["instr_id"] is None     # NONREF -> None
    assert parsed.records()[0]["remittance_info"].startswith("GIRO   428428 KPN - DIGITENNE")
    assert parsed.records()[0]["remittance_info"].endswith("INCL. 1,44 BTW")


def test_ing():
    parsed = _parse("wolph__jejik_ing.sta")
    assert parsed.errors == []
    (stmt,) = parsed.statements
    # 60F C0,00 ; 62F C3,47 ; -25.03 -3.03 -1.11 -20.00 -1.10 +3.68 +1.00 = -45.59
    assert stmt["opening_balance_minor"] == 0 and stmt["closing_balance_minor"] == 347
    assert [r["amount_minor"] for r in parsed.records()] == [-2503, -303, -111, -2000, -110, 368, 100]
    assert stmt["entries_total_minor"] == -4559 and stmt["account_id"] == "0001234567"
    assert parsed.records()[2]["instr_id"] == "TMG TANGO"
    assert parsed.records()[6]["booking_date"] == date(2010, 7, 23)
    # the trailing ':86:' after :62F: is statement information, not appended to the last line
    assert "D000004" not in (parsed.records()[6]["remittance_info"] or "")


def test_rabobank():
    parsed = _parse("wolph__jejik_rabobank.sta")
    assert parsed.errors == []
    assert [s["statement_id"] for s in parsed.statements] == [
        "940A110615", "940A110616", "940A110617", "940A120829"]
    # debits 1213.28 | - | 44.95 + 236.56 | 88.10 + 6.20 ; total 1589.09
    assert [s["entry_count"] for s in parsed.statements] == [1, 0, 2, 2]
    assert sum(r["amount_minor"] for r in parsed.records()) == -158909
    first, _, _, last = parsed.statements
    assert (first["opening_balance_minor"], first["closing_balance_minor"]) == (47317, 39582)
    # 4196.12 - 88.10 - 6.20 = 4101.82: the last statement balances
    assert (last["opening_balance_minor"], last["closing_balance_minor"]) == (419612, 410182)
    assert last["opening_balance_minor"] + last["entries_total_minor"] == last["closing_balance_minor"]
    row = parsed.records()[0]
    assert row["instr_id"] == "0121470966" and row["bank_tx_code"] == "N044"
    # four consecutive :86: tags belong to the same line
    assert row["remittance_info"] == ("Terugboeking\nNIET AKKOORD MET AFSCHRIJVING\n"
                                      "KOSTEN KINDEROPVANG JUNI\n20095731")


def test_mbank():
    parsed = _parse("wolph__mBank_mt940.sta")
    assert parsed.errors == []
    (stmt,) = parsed.statements
    # 60F C0,40 PLN + 3 x 0,01 = 62F C0,43
    assert (stmt["opening_balance_minor"], stmt["entries_total_minor"], stmt["closing_balance_minor"]) == (
        40, 3, 43)
    assert stmt["currency"] == "PLN" and stmt["account_id"] == "PL29114010810000267002001002"
    assert [r["acct_svcr_ref"] for r in parsed.records()] == ["MB170119012058", "MB170119012085", "MB170119012121"]
    assert parsed.records()[0]["source_position"] == "line 6"


def test_betterplace_sepa():
    parsed = _parse("wolph__betterplace_sepa_mt9401.sta")
    assert parsed.errors == []
    # 26 ':20:' blocks and 97 ':61:' lines (grep -c). Grand total, cross-checked with an awk one-liner
    # over the raw ':61:' lines (D and RC negative): -9269135.90 EUR.
    assert len(parsed.statements) == 26 and len(parsed.records()) == 97
    assert sum(r["amount_minor"] for r in parsed.records()) == -926913590
    s1 = parsed.statements[0]
    # 60F D1234718,36 ; credits 300 + 335.33 + 15000 + 66295.08 + 915311.55 = 997241.96 ;
    # debits 999946.95 + RC 204.88 (reversal of a credit = money out) = 1000151.83 ; net -2909.87 ;
    # -1234718.36 - 2909.87 = -1237628.23 = 62F D1237628,23: RC must be negative for this to balance.
    assert s1["opening_balance_minor"] == -123471836 and s1["closing_balance_minor"] == -123762823
    assert s1["entries_total_minor"] == -290987 and s1["entry_count"] == 7
    reversal = parsed.records()[5]         # :61:0709040904RCR204,88NRTINONREF on line 19
    assert reversal["source_position"] == "line 19"
    assert reversal["is_reversal"] is True and reversal["amount_minor"] == -20488
    # An intermediate pair (60F/62M): T089414006000001: -40432.20 + 19990.05 - 57.34 - 2 x 5002.17
    # = -30503.83 = 62M D30503,83
    mid = next(s for s in parsed.statements if s["statement_id"] == "T089414006000001")
    assert mid["opening_balance_minor"] == -4043220 and mid["closing_balance_minor"] == -3050383
    assert mid["entries_total_minor"] == 992837
    # structured :86: (?20..?29 purpose, ?32/?33 name, EREF+ end-to-end id)
    gutschrift = parsed.records()[7]       # :61:0709040904CR15000,05NTRFNONREF//0724710290621954
    assert gutschrift["amount_minor"] == 1500005
    assert gutschrift["acct_svcr_ref"] == "0724710290621954"
    assert gutschrift["end_to_end_id"] == "EndToEndIdTFNR2000400001"
    assert gutschrift["counterparty_name"] == "Richter Renate 70 Zeichen Beginn Fuellzeichen xxxxxxxx"
    last = parsed.statements[-1]      # 60F C070822EUR0, + 50,05 = 62F C50,05
    assert last["opening_date"] == date(2007, 8, 22) and last["opening_balance_minor"] == 0
    assert last["closing_balance_minor"] == 5005 and last["entries_total_minor"] == 5005


def test_betterplace_broken_snippet_is_rejected_with_file_and_position():
    data = _sample("wolph__betterplace_sepa_snippet_broken.sta")
    # line 6 is ':25:' where the ':86:' of the line-5 ':61:' should be
    with pytest.raises(FileRejected) as info:
        mt940.parse(data, "wolph__betterplace_sepa_snippet_broken.sta")
    err = info.value.error
    assert err.file == "wolph__betterplace_sepa_snippet_broken.sta"
    assert err.position == "line 6" and err.field == ":25:"
    assert "wolph__betterplace_sepa_snippet_broken.sta: line 6" in str(info.value)


SWIFT = (
    "{1:F01BANKDEFFAXXX0000000000}{2:O9400000240102BANKDEFFAXXX00000000002401020000N}{4:\r\n"
    ":20:STMT1\r\n:25:DE89370400440532013000\r\n:28C:1/1\r\n:60F:D231231EUR100,00\r\n"
    "<BODY>"
    ":62F:<CLOSING>\r\n-}{5:{CHK:123456789ABC}}\r\n"
)


def _swift(body: str, closing: str = "C240102EUR0,00") -> bytes:
    return SWIFT.replace("<BODY>", body).replace("<CLOSING>", closing).encode()


def test_swift_envelope_reversal_of_debit_and_year_boundary():
    body = (
        ":61:2312310102RD60,00NTRFREF1//B1\r\n:86:refund\r\n"   # reversal of a debit = money in
        ":61:240102C40,NMSCNONREF\r\n"
    )
    parsed = mt940.parse(_swift(body), "s.sta")
    assert parsed.errors == []
    rd, credit = parsed.records()
    assert rd["amount_minor"] == 6000 and rd["is_reversal"] is True
    assert rd["value_date"] == date(2023, 12, 31) and rd["booking_date"] == date(2024, 1, 2)
    assert rd["instr_id"] == "REF1" and rd["acct_svcr_ref"] == "B1" and rd["remittance_info"] == "refund"
    assert credit["amount_minor"] == 4000 and credit["remittance_info"] is None
    (stmt,) = parsed.statements
    # D100,00 + 60,00 + 40,00 = 0,00
    assert stmt["opening_balance_minor"] == -10000 and stmt["closing_balance_minor"] == 0
    assert stmt["opening_balance_minor"] + stmt["entries_total_minor"] == stmt["closing_balance_minor"]


def test_bad_statement_lines_are_record_errors_and_the_rest_is_kept():
    body = (
        ":61:240230C1,00NTRFX\r\n"             # line 6: 30 February
        ":61:240102C1,005NTRFX\r\n"            # line 7: three decimals for EUR
        ":61:240102X1,00NTRFX\r\n"             # line 8: no C/D mark
        ":61:240102C2,50NTRFOK\r\n"            # line 9: fine
    )
    parsed = mt940.parse(_swift(body), "bad.sta")
    assert [(e.position, e.field) for e in parsed.errors] == [
        ("line 6", "value_date"), ("line 7", "amount"), ("line 8", ":61:")]
    assert parsed.errors[0].raw.startswith(":61:240230C1,00")
    (row,) = parsed.records()
    assert row["amount_minor"] == 250 and row["source_position"] == "line 9"


@pytest.mark.parametrize("data, needle", [
    (b"", "no MT940"),
    (b":20:X\n:25:A\n:60F:C240101EUR1,00\n:61:240101C1,00NTRF\n:86:PAYM", "truncated"),
    (b":25:A\n:20:X\n:60F:C240101EUR1,00\n:62F:C240101EUR1,00\n", "before the first :20:"),
    (b":20:X\n\x00\x00", "NUL bytes"),
    (b":20:X\n:25:A\n:25:B\n:60F:C240101EUR1,00\n:62F:C240101EUR1,00\n", "second :25:"),
])
def test_whole_file_problems_are_rejected(data, needle):
    with pytest.raises(FileRejected) as info:
        mt940.parse(data, "f.sta")
    assert "f.sta" in str(info.value) and needle in str(info.value)


def test_sniff():
    assert mt940.sniff(_swift(":61:240102C40,NMSCNONREF\r\n"))
    assert mt940.sniff(b":20:X\n:25:A\n:60F:C240101EUR1,00\n:62F:C240101EUR1,00\n")
    assert not mt940.sniff(b"01,SENDER,RECV,240102,0800,F1,,,2/\n")
    assert not mt940.sniff(b"hello :20: world")


def test_a_statement_without_closing_balance_loads_with_a_derived_one():
    parsed = mt940.parse(b":20:X\n:25:A\n:60F:C240101EUR1,00\n:61:240101C1,00NTRF\n:64:C240101EUR1,50\n", "f.sta")
    (stmt,) = parsed.statements
    # 1.00 + 1.00 = 2.00 derived; the :64: closing available balance is kept beside it
    assert (stmt["closing_balance_minor"], stmt["closing_derived"], stmt["available_type"],
            stmt["available_balance_minor"]) == (200, True, "64", 150)
    only_62m = mt940.parse(b":20:X\n:25:A\n:60M:C240101EUR1,00\n:61:240101D0,25NTRF\n:62M:C240101EUR0,75\n-",
                           "m.sta").statements[0]
    assert (only_62m["opening_type"], only_62m["closing_type"], only_62m["closing_derived"]) == ("60M", "62M", False)


def test_encodings_are_detected_and_recorded_and_control_bytes_dropped():
    text = ":20:X\r\n:25:DE1\r\n:60F:C240101EUR1,00\r\n:61:240101C1,00NTRF\r\n:86:Überweisung Müller Straße\r\n" \
           ":62F:C240101EUR2,00\r\n-\x1a"
    latin1 = mt940.parse(text.encode("iso-8859-1"), "l1.sta")
    assert latin1.encoding == "iso-8859-1" and latin1.records()[0]["remittance_info"] == "Überweisung Müller Straße"
    polish = mt940.parse(text.replace("Überweisung Müller Straße", "Zapłata Łódź").encode("iso-8859-2"), "l2.sta")
    assert polish.encoding == "iso-8859-2" and polish.records()[0]["remittance_info"] == "Zapłata Łódź"
    windows = mt940.parse(text.replace("Straße", "– €5").encode("cp1252"), "w.sta")
    assert windows.encoding == "cp1252" and windows.records()[0]["remittance_info"].endswith("– €5")
    assert mt940.parse(text.encode("utf-8"), "u.sta").encoding == "utf-8"


def test_ns_details_long_references_and_historic_currencies():
    data = (b":20:R\n:25:NL91ABNA0417164300\n:28C:1/1\n:60F:C991231NLG100,00\n"
            b":61:9912311231D10,00NTRFNL47INGB9999999999//BANK1\nSUPPLEMENTARY\n:NS:22 details in NS\n"
            b":61:991231C5,NMSCREF\n:62F:C991231NLG95,00\n-")
    parsed = mt940.parse(data, "nlg.sta")
    first, second = parsed.records()
    # 1999: a two-digit year from 80 on is 19xx; NLG (withdrawn 2002) has 2 decimals: 100.00 - 10.00 + 5.00 = 95.00
    assert first["value_date"] == date(1999, 12, 31) and first["currency"] == "NLG"
    assert (first["instr_id"], first["acct_svcr_ref"], first["remittance_info"]) == (
        "NL47INGB9999999999", "BANK1", "22 details in NS")
    assert second["amount_minor"] == 500
    (stmt,) = parsed.statements
    assert stmt["opening_balance_minor"] + stmt["entries_total_minor"] == stmt["closing_balance_minor"] == 9500


@given(whole=st.integers(0, 10**15), fraction=st.text("0123456789", max_size=4),
       currency=st.sampled_from(["EUR", "JPY", "BHD", "XXX", "DEM"]))
def test_the_amount_fast_path_is_money_to_minor(whole, fraction, currency):
    from financeops_pipeline.errors import FieldError
    from financeops_pipeline.money import MoneyError, to_minor

    text = f"{whole},{fraction}"
    try:
        expected = to_minor(f"{whole}.{fraction}", currency)
    except MoneyError:
        with pytest.raises(FieldError):
            mt940._minor(text, currency, "amount")
        return
    assert mt940._minor(text, currency, "amount") == expected
