"""OFX bank and credit-card statements, 1.x (SGML, tags without end tags) and 2.x (XML), read with ofxtools.

ofxtools reads the header (OFXHEADER:100 or <?OFX OFXHEADER="200"?>), decodes the text by the header's charset
and builds the element tree; each aggregate (account, transaction, balance) is then validated and typed by
ofxtools' own models one at a time, so one bad transaction is a quarantined record, not a lost file.

* One statement per STMTRS (bank) or CCSTMTRS (card): account_id = ACCTID, currency = CURDEF (a transaction
  with its own CURRENCY/CURSYM is in that currency), statement_id = '<DTSTART>..<DTEND>' of its BANKTRANLIST.
* Lines: booking_date = DTPOSTED's date *as written* (ofxtools would turn '20090401220000[-5:EST]' into the
  2nd in UTC), value_date = DTAVAIL, amount_minor = TRNAMT exactly (more decimals than the currency has is a
  quarantined record, never a rounding), bank_tx_code = TRNTYPE, acct_svcr_ref = FITID (the bank's unique
  id), instr_id = CHECKNUM or REFNUM, remittance_info = MEMO, counterparty_name = NAME (or PAYEE/NAME).
  Signed as OFX signs them: a card purchase is negative, a payment to the card positive.
* Balances: LEDGERBAL is the closing balance at DTASOF; AVAILBAL goes to available_balance_minor. OFX gives no
  opening balance: it stays null (the statement-integrity policy derives it: closing - entries).
* Positions are 'STMTRS[1]/STMTTRN[2]' (CCSTMTRS for cards), 1-based in document order.
"""

from __future__ import annotations

import io
import re
import warnings
from datetime import date
from decimal import Decimal
from typing import Any
from xml.etree.ElementTree import Element

from financeops_pipeline.errors import FileRejected, RecordError
from financeops_pipeline.imports.records import ParsedFile, statement_record
from financeops_pipeline.money import MoneyError, normalize_currency, to_minor

FORMAT = "ofx"
STATEMENT_TAGS = {"STMTRS": "BANKACCTFROM", "CCSTMTRS": "CCACCTFROM"}
_HEAD = re.compile(rb"^\s*(OFXHEADER\s*:|<\?xml[^>]*>\s*<\?OFX|<\?OFX|<OFX>)", re.IGNORECASE)
_DATE = re.compile(r"\s*([0-9]{4})([0-9]{2})([0-9]{2})")


def sniff(data: bytes) -> bool:
    """An OFX 1.x header (OFXHEADER:100), an OFX 2.x processing instruction, or an <OFX> root at the start."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        return False
    head = bytes(data[:4096]).lstrip(b"\xef\xbb\xbf")
    return bool(_HEAD.match(head)) or (b"<OFX>" in head.upper() and b"OFXHEADER" in head.upper())


_SGML_HEADER = (b"OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\nSECURITY:NONE\nENCODING:USASCII\nCHARSET:1252\n"
                b"COMPRESSION:NONE\nOLDFILEUID:NONE\nNEWFILEUID:NONE\n\n")


def _with_header(data: bytes) -> bytes:
    """The file as ofxtools wants it: no BOM or blank lines before the header, and an OFX 1.02 header in front
    of a body that has none (banks export '<OFX>...' alone; ofxtools refuses it without one)."""
    data = data.lstrip(b"\xef\xbb\xbf").lstrip()
    if data[:9].upper().startswith(b"OFXHEADER") or data[:5].lower() == b"<?xml" or data[:5].upper() == b"<?OFX":
        return data
    start = data.upper().find(b"<OFX>")
    return _SGML_HEADER + data[start:] if start >= 0 else data


def _date_as_written(text: str | None, what: str) -> date | None:
    """The calendar date of an OFX date-time ('20090401122017.000[-5:EST]') as written, or None if empty."""
    if not text or not text.strip():
        return None
    m = _DATE.match(text)
    if not m:
        raise ValueError(f"{what} {text.strip()!r} is not an OFX date (YYYYMMDD...)")
    return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))


def _text(elem: Element | None, path: str) -> str | None:
    if elem is None:
        return None
    value = elem.findtext(path)
    return value.strip() if value and value.strip() else None


def _model(elem: Element) -> Any:
    from ofxtools.models.base import Aggregate

    return Aggregate.from_etree(elem)


def _minor(amount: Decimal, currency: str, what: str) -> int:
    try:
        return to_minor(amount, currency)
    except MoneyError as exc:
        raise ValueError(f"{what}: {exc}") from None


def parse(data: bytes, filename: str) -> ParsedFile:
    """Parse an OFX file into bank lines and one statement per STMTRS / CCSTMTRS."""
    if not isinstance(data, (bytes, bytearray, memoryview)) or not bytes(data).strip():
        raise FileRejected(filename, "empty file")
    from ofxtools.Parser import OFXTree

    tree = OFXTree()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # ofxtools warns about every private tag (<INTU.BID>)
        try:
            tree.parse(io.BytesIO(_with_header(bytes(data))))
        except Exception as exc:  # noqa: BLE001 - ofxtools raises header, parse and decode errors of many types
            first = (str(exc).strip().splitlines() or [""])[0]
            raise FileRejected(filename, f"not readable as OFX: {type(exc).__name__}: {first}"[:300]) from None
        result = ParsedFile(format=FORMAT, source="bank")
        counters = dict.fromkeys(STATEMENT_TAGS, 0)
        root = tree.getroot()
        if root is None:
            raise FileRejected(filename, "not readable as OFX: a header and no <OFX> body (truncated file?)")
        for stmt in root.iter():
            if stmt.tag in STATEMENT_TAGS:
                counters[stmt.tag] += 1
                _statement(stmt, f"{stmt.tag}[{counters[stmt.tag]}]", filename, result)
    if not result.statements:
        why = f" ({result.errors[0].position}: {result.errors[0].message})" if result.errors else ""
        raise FileRejected(filename, "holds no statement: no STMTRS or CCSTMTRS with an account and a currency"
                           + why, position="OFX")
    return result


def _statement(stmt: Element, position: str, filename: str, result: ParsedFile) -> None:
    """Append one statement's lines, errors and balances to `result` (a statement that cannot be identified is
    one RecordError, its transactions unread)."""
    try:
        # an empty CURDEF (some exports) takes the currency the transactions name
        currency = normalize_currency(_text(stmt, "CURDEF") or _text(stmt, "BANKTRANLIST/STMTTRN/CURRENCY/CURSYM")
                                      or "")
        account_elem = stmt.find(STATEMENT_TAGS[stmt.tag])
        if account_elem is None:
            raise ValueError(f"no {STATEMENT_TAGS[stmt.tag]}")
        try:
            account_id = str(_model(account_elem).acctid).strip()
        except Exception:  # noqa: BLE001 - e.g. an empty <ACCTTYPE></ACCTTYPE>: the account number still is one
            account_id = _text(account_elem, "ACCTID") or ""
            if not account_id:
                raise

        tranlist = stmt.find("BANKTRANLIST")
        start = _date_as_written(_text(tranlist, "DTSTART"), "DTSTART")
        end = _date_as_written(_text(tranlist, "DTEND"), "DTEND")
        closing = _balance(stmt.find("LEDGERBAL"), currency, "LEDGERBAL")
        available = _balance(stmt.find("AVAILBAL"), currency, "AVAILBAL")
    except Exception as exc:  # noqa: BLE001 - ofxtools validation errors are of many types
        result.errors.append(RecordError(filename, position, "-", f"unreadable statement: {exc}"[:500]))
        return
    statement_id = f"{start or ''}..{end or ''}"
    count = total = 0
    for n, trn in enumerate(tranlist.findall("STMTTRN") if tranlist is not None else [], 1):
        where = f"{position}/STMTTRN[{n}]"
        try:
            line = _line(trn, statement_id, account_id, currency, where)
        except Exception as exc:  # noqa: BLE001 - one bad transaction must not lose the others
            field = getattr(exc, "ofx_field", "-")
            raw = " ".join(f"<{c.tag}>{(c.text or '').strip()}" for c in trn)
            result.errors.append(RecordError(filename, where, field, str(exc)[:500], raw=raw))
            continue
        result.rows.append(line)
        if line["currency"] == currency:
            count += 1
            total += line["amount_minor"]
    result.statements.append(statement_record(statement_id, account_id, currency, (None, None), closing, count,
                                              total, position, available=available))


def _balance(elem: Element | None, currency: str, what: str) -> tuple[date | None, int | None]:
    if elem is None or not _text(elem, "BALAMT"):
        return None, None   # absent, or given empty (<BALAMT></BALAMT>): not stated
    model = _model(elem)
    return _date_as_written(_text(elem, "DTASOF"), f"{what}/DTASOF"), _minor(model.balamt, currency,
                                                                                f"{what}/BALAMT")


class _FieldError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.ofx_field = field


def _line(trn: Element, statement_id: str, account_id: str, currency: str, position: str) -> dict[str, Any]:
    try:
        model = _model(trn)
    except Exception as exc:  # noqa: BLE001
        raise _FieldError("STMTTRN", f"invalid STMTTRN: {exc}") from None
    line_currency = currency
    cursym = _text(trn, "CURRENCY/CURSYM")
    if cursym:
        try:
            line_currency = normalize_currency(cursym)
        except MoneyError as exc:
            raise _FieldError("CURRENCY", str(exc)) from None
    try:
        amount = to_minor(model.trnamt, line_currency)
    except MoneyError as exc:
        raise _FieldError("TRNAMT", str(exc)) from None
    try:
        booked = _date_as_written(_text(trn, "DTPOSTED"), "DTPOSTED")
        value = _date_as_written(_text(trn, "DTAVAIL"), "DTAVAIL")
    except ValueError as exc:
        raise _FieldError("DTPOSTED", str(exc)) from None
    payee = _text(trn, "PAYEE/NAME")
    return {
        "statement_id": statement_id,
        "account_id": account_id,
        "currency": line_currency,
        "booking_date": booked,
        "value_date": value,
        "amount_minor": amount,
        "is_reversal": False,
        "bank_tx_code": _text(trn, "TRNTYPE"),
        "end_to_end_id": None,
        "acct_svcr_ref": _text(trn, "FITID"),
        "instr_id": _text(trn, "CHECKNUM") or _text(trn, "REFNUM"),
        "remittance_info": _text(trn, "MEMO"),
        "counterparty_name": _text(trn, "NAME") or payee,
        "source_position": position,
    }
