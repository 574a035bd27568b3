"""camt.052 intraday reports, camt.054 notifications and the variety of camt.053 files, through one parser; and
the rule that keeps unbooked lines out of the ledger and out of the reconciliation once the statement books
them (imports -> posting events -> reconciliation inputs)."""

from __future__ import annotations

import datetime as dt
from datetime import date
from pathlib import Path

import pytest

from financeops_pipeline.db.connect import tenant_connection
from financeops_pipeline.errors import FileRejected
from financeops_pipeline.imports import camt053, detect
from financeops_pipeline.imports.loader import import_file
from financeops_pipeline.ledger.posting import post_day
from financeops_pipeline.reconciliation.config import ReconConfig
from financeops_pipeline.reconciliation.engine import bank_items, load_inputs, reconcile
from tests.conftest import SAMPLES
from tests.imports.bank_shapes import check_bank_shapes

NS = "urn:iso:std:iso:20022:tech:xsd:camt.{kind}.001.{version}"
MESSAGE = {"052": ("BkToCstmrAcctRpt", "Rpt"), "053": ("BkToCstmrStmt", "Stmt"), "054": ("BkToCstmrDbtCdtNtfctn",
                                                                                           "Ntfctn")}


def _bal(code: str, amount: str, ind: str | None = "CRDT", ccy: str = "EUR", day: str = "2024-01-02") -> str:
    indicator = f"<CdtDbtInd>{ind}</CdtDbtInd>" if ind else ""
    return (f"<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp><Amt Ccy=\"{ccy}\">{amount}</Amt>{indicator}"
            f"<Dt><Dt>{day}</Dt></Dt></Bal>")


def _ntry(amount: str, ind: str = "CRDT", ccy: str = "EUR", status: str = "BOOK", ref: str = "",
          extra: str = "", booking: str = "<Dt>2024-01-02</Dt>") -> str:
    svcr = f"<AcctSvcrRef>{ref}</AcctSvcrRef>" if ref else ""
    return (f'<Ntry><Amt Ccy="{ccy}">{amount}</Amt><CdtDbtInd>{ind}</CdtDbtInd><Sts>{status}</Sts>'
            f"<BookgDt>{booking}</BookgDt>{svcr}{extra}</Ntry>")


def _doc(body: str, kind: str = "053", version: str = "02", account: str = "<IBAN>DE89370400440532013000</IBAN>",
         declaration: str = '<?xml version="1.0" encoding="UTF-8"?>', group: str = "") -> str:
    message, element = MESSAGE[kind]
    return (f'{declaration}<Document xmlns="{NS.format(kind=kind, version=version)}"><{message}>'
            f"<GrpHdr><MsgId>M1</MsgId><CreDtTm>2024-01-02T10:00:00</CreDtTm></GrpHdr>{group}"
            f"<{element}><Id>S-{kind}</Id><Acct><Id>{account}</Id></Acct>{body}</{element}></{message}></Document>")


# --------------------------------------------------------------------------------------- intraday, notification
def test_camt052_intraday_report_is_loaded_unbooked():
    data = _doc(_bal("OPBD", "100.00") + _bal("ITBD", "130.00") + _ntry("30.00", ref="R1")
                + _ntry("5.00", ind="DBIT", status="PDNG", ref="R2"), kind="052").encode()
    assert detect.detect(data, "intraday.xml") == "camt052"
    parsed = detect.parse_file(data, "intraday.xml")
    check_bank_shapes(parsed, "camt052")
    booked, pending = parsed.records()
    assert (booked["report_kind"], booked["booked"], booked["entry_status"]) == ("intraday", False, "BOOK")
    assert (pending["entry_status"], pending["booked"], pending["amount_minor"]) == ("PDNG", False, -500)
    assert booked["source_position"] == "Rpt[1]/Ntry[1]"
    (report,) = parsed.statements
    # OPBD 100.00 + the booked 30.00 = ITBD 130.00 (the pending 5.00 is not in the interim booked balance)
    assert (report["report_kind"], report["booked"]) == ("intraday", False)
    assert (report["opening_balance_minor"], report["closing_balance_minor"], report["closing_type"]) == (
        10000, 13000, "ITBD")
    assert (report["entry_count"], report["entries_total_minor"]) == (1, 3000)


def test_camt054_notification_is_loaded_unbooked_without_balances():
    data = _doc(_ntry("231.25", ref="N-1", extra="<NtryDtls><TxDtls><RmtInf><Ustrd>STRIPE PAYOUT po_1</Ustrd>"
                      "</RmtInf></TxDtls></NtryDtls>"), kind="054", version="08").encode()
    assert detect.detect(data, "note.xml") == "camt054"
    parsed = detect.parse_file(data, "note.xml")
    check_bank_shapes(parsed, "camt054")
    (row,) = parsed.records()
    assert (row["report_kind"], row["booked"], row["amount_minor"]) == ("notification", False, 23125)
    assert row["remittance_info"] == "STRIPE PAYOUT po_1" and row["source_position"] == "Ntfctn[1]/Ntry[1]"
    (note,) = parsed.statements
    assert note["opening_balance_minor"] is None and note["closing_balance_minor"] is None
    assert not note["closing_derived"] and note["entries_total_minor"] == 23125


# ------------------------------------------------------------------------------------------------- variety
def test_concatenated_documents_of_other_versions_each_with_its_statements():
    first = _doc(_bal("OPBD", "1.00") + _bal("CLBD", "3.00") + _ntry("2.00"), version="02")
    second = _doc(_bal("OPBD", "3.00") + _bal("CLBD", "2.50") + _ntry("0.50", ind="DBIT"), version="08")
    parsed = camt053.parse((first + "\n" + second).encode(), "two.xml")
    assert parsed.errors == []
    assert [s["source_position"] for s in parsed.statements] == ["Stmt[1]", "Document[2]/Stmt[1]"]
    assert [r["amount_minor"] for r in parsed.records()] == [200, -50]
    assert [r["source_position"] for r in parsed.records()] == ["Stmt[1]/Ntry[1]", "Document[2]/Stmt[1]/Ntry[1]"]


def test_envelope_prefix_no_namespace_and_declared_latin1():
    inner = _doc(_bal("OPBD", "1.00") + _bal("CLBD", "2.00") + _ntry("1.00"), declaration="")
    enveloped = f"<BizMsg><AppHdr><Fr>BANK</Fr></AppHdr>{inner}</BizMsg>".encode()
    assert camt053.sniff(enveloped)
    assert len(camt053.parse(enveloped, "env.xml").records()) == 1
    prefixed = inner.replace("<Document xmlns=", "<c:Document xmlns:c=").replace("</Document>", "</c:Document>")
    prefixed = prefixed.replace("<", "<c:").replace("<c:/", "</c:").replace("<c:c:", "<c:").replace("</c:c:", "</c:")
    assert camt053.parse(prefixed.encode(), "prefixed.xml").records()[0]["amount_minor"] == 100
    bare = inner.replace(f' xmlns="{NS.format(kind="053", version="02")}"', "")
    assert camt053.sniff(bare.encode())
    assert camt053.parse(bare.encode(), "bare.xml").records()[0]["amount_minor"] == 100
    latin = _doc(_bal("OPBD", "1.00") + _bal("CLBD", "2.00") + _ntry("1.00", extra="<AddtlNtryInf>Überweisung "
                 "Müller</AddtlNtryInf>"), declaration='<?xml version="1.0" encoding="ISO-8859-1"?>')
    parsed = camt053.parse(latin.encode("iso-8859-1"), "latin.xml")
    assert parsed.encoding == "iso-8859-1" and parsed.records()[0]["remittance_info"] == "Überweisung Müller"
    utf16 = camt053.parse(inner.encode("utf-16"), "utf16.xml")
    assert utf16.encoding == "utf-16" and utf16.records()[0]["amount_minor"] == 100


def test_date_times_decimals_and_codes_without_minor_units():
    body = (
        _bal("OPBD", "0") + _bal("CLBD", "1.5")
        + _ntry("1.2500", booking="<DtTm>2024-01-03T23:59:59.123456789</DtTm>")     # 9 fractional digits, no offset
        + _ntry("0.25", booking="<DtTm>2024-01-04T00:30:00+14:00</DtTm>")          # the date as written
        + _ntry("0.001")                                                           # a digit EUR does not have
        + _ntry("100.00", ccy="XXX") + _ntry("100.50", ccy="XXX") + _ntry("1000.00", ccy="JPY")
    )
    parsed = camt053.parse(_doc(body).encode(), "dec.xml")
    rows = {r["source_position"]: r for r in parsed.records()}
    assert (rows["Stmt[1]/Ntry[1]"]["amount_minor"], rows["Stmt[1]/Ntry[1]"]["booking_date"]) == (125, date(2024, 1, 3))
    assert rows["Stmt[1]/Ntry[2]"]["booking_date"] == date(2024, 1, 4)
    assert (rows["Stmt[1]/Ntry[4]"]["currency"], rows["Stmt[1]/Ntry[4]"]["amount_minor"]) == ("XXX", 100)
    assert (rows["Stmt[1]/Ntry[6]"]["currency"], rows["Stmt[1]/Ntry[6]"]["amount_minor"]) == ("JPY", 1000)
    errors = {e.position: e for e in parsed.errors}
    assert set(errors) == {"Stmt[1]/Ntry[3]", "Stmt[1]/Ntry[5]"}
    assert "more decimals than EUR allows (2); not rounded" in errors["Stmt[1]/Ntry[3]"].message
    assert "XXX has no minor unit" in errors["Stmt[1]/Ntry[5]"].message
    assert errors["Stmt[1]/Ntry[3]"].raw.startswith("<Ntry") and errors["Stmt[1]/Ntry[3]"].field == "Amt"
    # one statement per currency: EUR 0 + 1.25 + 0.25 = 1.50 = CLBD; XXX and JPY have lines but no balances
    eur, xxx, jpy = parsed.statements
    assert (eur["entries_total_minor"], eur["closing_balance_minor"]) == (150, 150)
    assert (xxx["source_position"], xxx["entries_total_minor"], xxx["closing_balance_minor"]) == (
        "Stmt[1][XXX]", 100, None)
    assert jpy["entries_total_minor"] == 1000


def test_balances_without_indicator_pages_and_reversals():
    body = (_bal("ITBD", "-10.00", ind=None) + _bal("ITBD", "5.00", ind=None)   # a page: first opens, last closes
            + _bal("CLAV", "4.00") + _ntry("15.00", extra="<RvslInd>true</RvslInd>"))
    parsed = camt053.parse(_doc(body).encode(), "page.xml")
    (stmt,) = parsed.statements
    # -10.00 (a minus sign and no indicator: a debit balance) + 15.00 = 5.00
    assert (stmt["opening_balance_minor"], stmt["opening_type"]) == (-1000, "ITBD")
    assert (stmt["closing_balance_minor"], stmt["closing_type"]) == (500, "ITBD")
    assert (stmt["available_type"], stmt["available_balance_minor"]) == ("CLAV", 400)
    (row,) = parsed.records()
    # RvslInd: the indicator already gives the reversal's direction (CRDT: money in)
    assert row["is_reversal"] is True and row["amount_minor"] == 1500


def test_bad_balances_are_quarantined_and_a_statement_without_account_refused():
    body = _bal("OPBD", "1.00", ccy="ZZZ") + _bal("CLBD", "2.00") + _ntry("1.00") + _ntry("x")
    parsed = camt053.parse(_doc(body).encode(), "bal.xml")
    assert [(e.position, e.field) for e in parsed.errors] == [("Stmt[1]/Ntry[2]", "Amt"), ("Stmt[1]/Bal[1]", "Amt")]
    (stmt,) = parsed.statements
    # the unreadable OPBD is quarantined; the opening is derived: CLBD 2.00 - entries 1.00 = 1.00
    assert (stmt["opening_balance_minor"], stmt["opening_derived"]) == (100, True)
    with pytest.raises(FileRejected) as info:     # whose money it is cannot be read
        camt053.parse(_doc(_ntry("1.00"), account="<Othr></Othr>").encode(), "noacct.xml")
    assert (info.value.error.position, info.value.error.field) == ("Stmt[1]", "Acct/Id")


@pytest.mark.parametrize("data", [b"<Document/>", b"<?xml version='1.0'?><x/>",
                                  _doc(_ntry("1.00"))[:-40].encode()])
def test_not_camt_or_truncated_is_refused(data):
    with pytest.raises(FileRejected) as info:
        camt053.parse(data, "f.xml")
    assert info.value.error.file == "f.xml" and info.value.error.position


# ------------------------------------------------------------------------------------ the booked-line rule
DAY2, DAY3 = dt.date(2026, 11, 2), dt.date(2026, 11, 3)
STATEMENT = SAMPLES / "acme" / "2026-11-03" / "bank" / "camt053_2026-11-03.xml"
STRIPE = SAMPLES / "acme" / "2026-11-02" / "processor" / "stripe_balance_2026-11-02.csv"


def _import(db_url: str, path: Path, day: dt.date, archive: Path):
    with tenant_connection(db_url, "acme") as conn:
        outcome = import_file(conn, "acme", path, day, "test-run", archive)
    assert outcome.status == "loaded", outcome.summary()
    return outcome


def _bank_events(db_url: str, day: dt.date, archive: Path) -> list[tuple]:
    """Post the day as it stands (a re-run posts only what is new), then every bank entry of the ledger with
    its amount: the booked lines are posted, once each; notifications and intraday lines never."""
    with tenant_connection(db_url, "acme") as conn:
        post_day(conn, "acme", day, "test-camt05x", archive_dir=archive)
        return conn.execute(
            "SELECT j.idempotency_key, sum(p.amount_minor) FILTER (WHERE p.amount_minor > 0)"
            " FROM ledger.journal_entries j JOIN ledger.postings p ON p.entry_id = j.entry_id"
            " WHERE j.idempotency_key LIKE 'bank:%%' GROUP BY 1 ORDER BY 1").fetchall()


def _superseded(db_url: str) -> list[tuple]:
    with tenant_connection(db_url, "acme") as conn:
        return conn.execute("SELECT source_position, superseded_on, rule FROM imports.bank_superseded").fetchall()


def _bank_states(db_url: str, day: dt.date, archive: Path) -> tuple[list[dict], list[dict]]:
    with tenant_connection(db_url, "acme") as conn:
        inputs = load_inputs(conn, archive, "acme", day, ReconConfig())
    states = reconcile(inputs, day, ReconConfig()).item_status.to_pylist()
    return bank_items(inputs).to_pylist(), [s for s in states if s["source"] == "bank"]


def test_a_notification_matches_the_payout_first_then_the_statement_line_supersedes_it(db_url, tmp_path):
    archive = tmp_path / "archive"
    _import(db_url, STRIPE, DAY2, archive)                      # payout po_acme_20261102, 231.25 USD
    note = tmp_path / "camt054.xml"
    note.write_text(_doc(
        _ntry("231.25", ccy="USD", ref="ACME-BANK-20261103-001", booking="<Dt>2026-11-03</Dt>",
              extra="<NtryDtls><TxDtls><RmtInf><Ustrd>STRIPE PAYOUT po_acme_20261102</Ustrd></RmtInf></TxDtls>"
                    "</NtryDtls>"), kind="054", account="<Othr><Id>123456789</Id></Othr>"))
    _import(db_url, note, DAY3, archive)
    # before the statement: the notification is the bank item, it matches the payout, and posts nothing
    bank, states = _bank_states(db_url, DAY3, archive)
    assert [(b["booked"], b["report_kind"], b["amount_minor"]) for b in bank] == [(False, "notification", 23125)]
    assert [(s["source_ref"], s["status"]) for s in states] == [("123456789:ACME-BANK-20261103-001", "matched")]
    assert _bank_events(db_url, DAY3, archive) == []
    # the day's camt.053 books the credit (same AcctSvcrRef) and an unknown 77.00: the notification is left out
    _import(db_url, STATEMENT, DAY3, archive)
    bank, states = _bank_states(db_url, DAY3, archive)
    assert sorted((b["booked"], b["amount_minor"]) for b in bank) == [(True, 7700), (True, 23125)]
    assert sorted((s["source_ref"], s["status"]) for s in states) == [
        ("123456789:ACME-BANK-20261103-001", "matched"), ("123456789:ACME-BANK-20261103-002", "pending")]
    assert _superseded(db_url) == [("Ntfctn[1]/Ntry[1]", DAY3, "same_reference")]
    # posting: the two booked lines, once each
    assert _bank_events(db_url, DAY3, archive) == [("bank:123456789:ACME-BANK-20261103-001", 23125),
                                          ("bank:123456789:ACME-BANK-20261103-002", 7700)]


def test_an_intraday_report_never_counts_beside_the_statement_that_books_its_day(db_url, tmp_path):
    archive = tmp_path / "archive"
    intraday = tmp_path / "camt052.xml"
    # an intraday line without any reference: only the statement covering its day can supersede it
    intraday.write_text(_doc(_bal("OPBD", "9976.23", ccy="USD", day="2026-11-03")
                             + _ntry("77.00", ccy="USD", booking="<Dt>2026-11-03</Dt>"),
                             kind="052", account="<Othr><Id>123456789</Id></Othr>"))
    _import(db_url, intraday, DAY3, archive)
    bank, _ = _bank_states(db_url, DAY3, archive)
    assert [(b["report_kind"], b["amount_minor"]) for b in bank] == [("intraday", 7700)]
    assert _bank_events(db_url, DAY3, archive) == []
    _import(db_url, STATEMENT, DAY3, archive)
    bank, _ = _bank_states(db_url, DAY3, archive)
    assert sorted((b["report_kind"], b["amount_minor"]) for b in bank) == [("statement", 7700), ("statement", 23125)]
    assert _superseded(db_url) == [("Rpt[1]/Ntry[1]", DAY3, "statement_covers_day")]
    # the cash checks read booked statements only: the intraday report is not a second statement of the day
    with tenant_connection(db_url, "acme") as conn:
        kinds = conn.execute("SELECT report_kind, booked FROM imports.bank_statements ORDER BY report_kind").fetchall()
    assert kinds == [("intraday", False), ("statement", True)]
