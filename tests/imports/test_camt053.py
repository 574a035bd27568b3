"""camt.053 parser: the public OCA samples (figures checked by hand) and small hand-made documents."""

from __future__ import annotations

from datetime import date

import pytest

from financeops_pipeline.errors import FileRejected
from financeops_pipeline.imports import camt053
from tests.conftest import shared_sample
from tests.imports.bank_shapes import check_bank_shapes


def _sample(name: str) -> bytes:
    return shared_sample(f"camt053/{name}")


def _check_shapes(parsed) -> None:
    check_bank_shapes(parsed, "camt053")


def test_oca_test_camt053_lines_and_unbalanced_statement():
    data = _sample("oca__test-camt053.xml")
    assert camt053.sniff(data)
    parsed = camt053.parse(data, "oca__test-camt053.xml")
    _check_shapes(parsed)
    assert parsed.errors == []
    # Ntry1 DBIT 754.25 (one TxDtls -> one line); Ntry2 DBIT 664.05 batch, RvslInd=true, two TxDtls
    # with TxAmt 564.05 + 100.00 = 664.05 -> two lines; Ntry3 CRDT 1405.31 -> one line.
    amounts = [r["amount_minor"] for r in parsed.records()]
    assert amounts == [-75425, -56405, -10000, 140531]
    # -754.25 - 564.05 - 100.00 + 1405.31 = -12.99
    assert sum(amounts) == -1299
    assert [r["source_position"] for r in parsed.records()] == [
        "Stmt[1]/Ntry[1]", "Stmt[1]/Ntry[2]/TxDtls[1]", "Stmt[1]/Ntry[2]/TxDtls[2]", "Stmt[1]/Ntry[3]",
    ]
    (stmt,) = parsed.statements
    assert stmt["statement_id"] == "1234Test/1"
    assert stmt["account_id"] == "NL77ABNA0574908765"
    assert stmt["currency"] == "EUR"
    assert stmt["opening_balance_minor"] == 1556827      # OPBD CRDT 15568.27
    assert stmt["closing_balance_minor"] == 1512112      # CLBD CRDT 15121.12
    assert stmt["opening_date"] == stmt["closing_date"] == date(2014, 1, 5)
    assert stmt["entry_count"] == 4 and stmt["entries_total_minor"] == -1299
    # SOURCES.md: this statement does not balance. 15568.27 - 12.99 = 15555.28 != 15121.12
    assert stmt["opening_balance_minor"] + stmt["entries_total_minor"] != stmt["closing_balance_minor"]

    first, batch1, batch2, credit = parsed.records()
    assert first["end_to_end_id"] == "435005714488-ABNO33052620"
    assert first["instr_id"] == "INNDNL2U20141231000142300002844"
    assert first["counterparty_name"] == "INSURANCE COMPANY TESTX"       # debit -> Cdtr/Nm
    assert first["bank_tx_code"] == "PMNT/RDDT/ESDD"
    assert first["booking_date"] == first["value_date"] == date(2014, 1, 5)
    assert first["is_reversal"] is False
    assert batch1["is_reversal"] is True and batch2["is_reversal"] is True
    assert batch2["end_to_end_id"] == "TESTBANK/NL/20141229/01206407"
    assert batch1["remittance_info"] == "Direct Debit S14 0410"
    assert credit["counterparty_name"] == "3rd party Media"              # credit -> Dbtr/Nm
    assert credit["end_to_end_id"] == "115"


def test_oca_txdtls_batch_split_and_structured_remittance():
    data = _sample("oca__test-camt053-txdtls.xml")
    parsed = camt053.parse(data, "oca__test-camt053-txdtls.xml")
    _check_shapes(parsed)
    assert parsed.errors == []
    # One CRDT entry of 3483.00 with two TxDtls/Amt: 2187.00 + 1296.00 = 3483.00
    assert [r["amount_minor"] for r in parsed.records()] == [218700, 129600]
    (stmt,) = parsed.statements
    assert stmt["currency"] == "CHF"
    assert stmt["opening_balance_minor"] == 7596015 and stmt["opening_date"] == date(2017, 3, 22)
    assert stmt["closing_balance_minor"] == 7944315 and stmt["closing_date"] == date(2017, 3, 23)
    # 75960.15 + 3483.00 = 79443.15: this one balances
    assert stmt["opening_balance_minor"] + stmt["entries_total_minor"] == stmt["closing_balance_minor"]
    a, b = parsed.records()
    assert a["remittance_info"] == "302388292000011111111111111"   # Strd/CdtrRefInf/Ref
    assert b["remittance_info"] == "302388292000022222222222222"
    assert a["acct_svcr_ref"] == "123456CHCAFEBABE"
    assert a["counterparty_name"] == "Banque Cantonale Vaudoise"
    assert a["booking_date"] == date(2017, 3, 22) and a["value_date"] == date(2017, 3, 23)
    assert a["source_position"] == "Stmt[1]/Ntry[1]/TxDtls[1]"


def test_oca_no_ntry_statement():
    parsed = camt053.parse(_sample("oca__test-camt053-no-ntry.xml"), "no-ntry.xml")
    _check_shapes(parsed)
    assert parsed.records() == [] and parsed.errors == []
    (stmt,) = parsed.statements
    # OPBD = CLBD = CRDT 1520.76 CHF, no entries
    assert stmt["opening_balance_minor"] == stmt["closing_balance_minor"] == 152076
    assert stmt["currency"] == "CHF" and stmt["entry_count"] == 0 and stmt["entries_total_minor"] == 0


def _doc(entries: str, version: str = "02", balances: str | None = None, acct_ccy: str = "") -> bytes:
    if balances is None:
        balances = (
            '<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">10.00</Amt>'
            "<CdtDbtInd>DBIT</CdtDbtInd><Dt><Dt>2024-01-01</Dt></Dt></Bal>"
            '<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">5.00</Amt>'
            "<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2024-01-02</Dt></Dt></Bal>"
        )
    ccy = f"<Ccy>{acct_ccy}</Ccy>" if acct_ccy else ""
    return (
        f'<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.{version}">'
        "<BkToCstmrStmt><GrpHdr><MsgId>M</MsgId></GrpHdr><Stmt><Id>S1</Id>"
        f"<Acct><Id><Othr><Id>ACC-1</Id></Othr></Id>{ccy}</Acct>{balances}{entries}</Stmt>"
        "</BkToCstmrStmt></Document>"
    ).encode()


def _ntry(amount: str = "1.00", ind: str = "CRDT", booking: str = "<Dt>2024-01-02</Dt>", extra: str = "",
          ccy: str = "EUR") -> str:
    return (f'<Ntry><Amt Ccy="{ccy}">{amount}</Amt><CdtDbtInd>{ind}</CdtDbtInd><Sts>BOOK</Sts>'
            f"<BookgDt>{booking}</BookgDt>{extra}</Ntry>")


def test_debit_balance_is_negative_and_othr_account():
    parsed = camt053.parse(_doc(_ntry()), "x.xml")
    (stmt,) = parsed.statements
    assert stmt["account_id"] == "ACC-1"
    assert stmt["opening_balance_minor"] == -1000 and stmt["closing_balance_minor"] == 500


def test_bad_entries_become_record_errors_and_the_rest_is_kept():
    entries = (
        _ntry("12.345")                                      # too many decimals for EUR
        + _ntry("-3.00")                                     # negative amount
        + _ntry("2.00", booking="<Dt>2024-13-45</Dt>")       # impossible date
        + _ntry("2.00", ind="XXXX")                          # bad indicator
        + _ntry("7.00", ccy="ZZZ")                           # unknown currency
        + _ntry("4.00", ind="DBIT", booking="<DtTm>2024-01-03T23:30:00+01:00</DtTm>")
    )
    parsed = camt053.parse(_doc(entries), "bad.xml")
    assert [(e.position, e.field) for e in parsed.errors] == [
        ("Stmt[1]/Ntry[1]", "Amt"), ("Stmt[1]/Ntry[2]", "Amt"), ("Stmt[1]/Ntry[3]", "BookgDt"),
        ("Stmt[1]/Ntry[4]", "CdtDbtInd"), ("Stmt[1]/Ntry[5]", "Amt"),
    ]
    assert all(e.file == "bad.xml" and e.raw.startswith("<Ntry") for e in parsed.errors)
    (row,) = parsed.records()
    assert row["amount_minor"] == -400 and row["booking_date"] == date(2024, 1, 3)
    assert row["source_position"] == "Stmt[1]/Ntry[6]"
    assert parsed.statements[0]["entry_count"] == 1 and parsed.statements[0]["entries_total_minor"] == -400


def test_txdtls_without_amounts_give_one_line_and_notprovided_is_ignored():
    details = (
        "<NtryDtls><TxDtls><Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs></TxDtls>"
        "<TxDtls><Refs><EndToEndId>E2</EndToEndId></Refs></TxDtls></NtryDtls>"
    )
    parsed = camt053.parse(_doc(_ntry("9.99", extra=details)), "x.xml")
    (row,) = parsed.records()
    assert row["amount_minor"] == 999 and row["source_position"] == "Stmt[1]/Ntry[1]"
    single = "<NtryDtls><TxDtls><Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs></TxDtls></NtryDtls>"
    (row,) = camt053.parse(_doc(_ntry("9.99", extra=single)), "x.xml").records()
    assert row["end_to_end_id"] is None


def test_txdtls_amounts_that_do_not_add_up_leave_the_booked_entry_whole():
    details = (
        '<NtryDtls><TxDtls><Amt Ccy="EUR">1.00</Amt></TxDtls>'
        '<TxDtls><Amt Ccy="EUR">2.00</Amt></TxDtls></NtryDtls>'
    )
    parsed = camt053.parse(_doc(_ntry("9.99", extra=details)), "x.xml")
    # 1.00 + 2.00 != 9.99: the details are not the entry, so the booked 9.99 is one line, nothing is lost
    assert parsed.errors == []
    (row,) = parsed.records()
    assert row["amount_minor"] == 999 and row["source_position"] == "Stmt[1]/Ntry[1]"


def test_version_08_party_names_status_code_and_pending_entries():
    credit = _ntry("5.00", extra=(
        "<NtryDtls><TxDtls><RltdPties><Dbtr><Pty><Nm>Payer Ltd</Nm></Pty></Dbtr></RltdPties>"
        "<RmtInf><Ustrd>INV 1</Ustrd><Ustrd>INV 2</Ustrd></RmtInf></TxDtls></NtryDtls>"
    )).replace("<Sts>BOOK</Sts>", "<Sts><Cd>BOOK</Cd></Sts>")
    pending = _ntry("3.00").replace("<Sts>BOOK</Sts>", "<Sts><Cd>PDNG</Cd></Sts>")
    parsed = camt053.parse(_doc(credit + pending, version="08", acct_ccy="EUR"), "v8.xml")
    row, waiting = parsed.records()
    assert row["counterparty_name"] == "Payer Ltd"
    assert row["remittance_info"] == "INV 1 INV 2"
    assert (row["booked"], row["entry_status"]) == (True, "BOOK")
    # a pending entry is kept, not booked: outside the statement's entries and never posted
    assert (waiting["booked"], waiting["entry_status"], waiting["amount_minor"]) == (False, "PDNG", 300)
    (stmt,) = parsed.statements
    assert (stmt["entry_count"], stmt["entries_total_minor"]) == (1, 500)


@pytest.mark.parametrize("data, needle", [
    (b"", "empty"),
    (b"<Document", "not well-formed XML"),
    (b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>', "XML"),
    (b'<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.052.001.02"/>', "no Rpt"),
    (b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.12"/>', "no Stmt"),
    (b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"><CstmrCdtTrfInitn/></Document>',
     "no camt.052/053/054 Document"),
    (b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt/></Document>',
     "no Stmt"),
    (b"\xff\xfe\x00garbage", ""),
])
def test_whole_file_problems_are_rejected(data, needle):
    with pytest.raises(FileRejected) as info:
        camt053.parse(data, "f.xml")
    assert "f.xml" in str(info.value) and needle in str(info.value)


def test_truncated_is_rejected_but_a_missing_closing_is_derived_and_a_bad_currency_quarantined():
    full = _doc(_ntry())
    with pytest.raises(FileRejected, match="f.xml: line 1") as info:
        camt053.parse(full[: len(full) // 2], "f.xml")
    assert "truncated" in str(info.value)
    no_closing = (
        '<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">1.00</Amt>'
        "<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2024-01-01</Dt></Dt></Bal>"
    )
    parsed = camt053.parse(_doc(_ntry(), balances=no_closing), "f.xml")
    (stmt,) = parsed.statements
    # OPBD 1.00 + the entry 1.00 = 2.00, derived and marked so
    assert (stmt["closing_balance_minor"], stmt["closing_derived"], stmt["closing_type"]) == (200, True, None)
    assert (stmt["opening_type"], stmt["opening_derived"]) == ("OPBD", False)
    parsed = camt053.parse(_doc(_ntry(), acct_ccy="XYZ"), "f.xml")
    assert [(e.position, e.field) for e in parsed.errors] == [("Stmt[1]/Acct/Ccy", "Acct/Ccy")]
    assert len(parsed.records()) == 1 and parsed.records()[0]["currency"] == "EUR"   # the entry's own Ccy


def test_external_entities_are_not_resolved(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    doc = _doc(_ntry(extra="<AcctSvcrRef>&xxe;</AcctSvcrRef>")).replace(
        b'<?xml version="1.0"?>',
        f'<?xml version="1.0"?><!DOCTYPE Document [<!ENTITY xxe SYSTEM "file://{secret}">]>'.encode(),
    )
    try:
        parsed = camt053.parse(doc, "xxe.xml")
    except FileRejected:
        return
    assert all("TOP-SECRET" not in str(row.values()) for row in parsed.records())


def test_sniff():
    assert camt053.sniff(_doc(_ntry()))
    assert not camt053.sniff(b"01,0004,12345,060321,0829,001,80,1,2/")
    assert not camt053.sniff(b"<Document xmlns='urn:iso:std:iso:20022:tech:xsd:pain.001.001.03'/>")
    assert not camt053.sniff(b"\x00\x01\x02")
