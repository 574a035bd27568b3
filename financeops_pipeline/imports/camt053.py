"""ISO 20022 camt.05x bank-to-customer messages: camt.053 statements, camt.052 intraday account reports and
camt.054 debit/credit notifications, every version (.001.01 to .001.13; tested .02 to .08), one parser.

One streaming pass with lxml ``iterparse`` (entities never resolved, no network, no DTD): each ``Ntry`` is
turned into bank lines as soon as it is complete and then dropped from the tree, so memory stays flat on large
files. Amounts are exact integer minor units, signed from the account holder's view (CRDT > 0, DBIT < 0).

What banks really send, and how it is read (policy: parse what is there, flag what does not add up, refuse
only what cannot be read):

* several ``Stmt`` (``Rpt``, ``Ntfctn``) in one message, several documents concatenated in one file, a
  ``Document`` inside an envelope (business application header), a namespace prefix or none at all, no XML
  declaration, a declared non-UTF-8 encoding, UTF-16 with a byte-order mark;
* multi-currency accounts: every line and every balance has its own currency, and a statement gives one
  statement record per currency (``Stmt[1]`` for the first, ``Stmt[1][SEK]`` for the others);
* balances: opening OPBD > PRCD (> the first ITBD of a page), closing CLBD (> the last ITBD); a missing one is
  derived from the other and the entries (marked derived); CLAV / ITAV are kept as the available balance;
  a balance without ``CdtDbtInd`` is a credit balance unless written with a minus sign; an unreadable
  balance is a quarantined record, never a rejected file;
* ``Dt`` or ``DtTm`` (any number of fractional digits, with or without offset: the date as written); an entry
  without any date books on the statement's own date (``FrToDt/ToDtTm``, its balances, its creation date);
* amounts with more decimals than the currency has are exact when the extra digits are zeros, otherwise a
  quarantined record saying so (never a rounding); codes without minor units (XXX) take whole units;
* reversals (``RvslInd``: the indicator already gives the reversal's direction) and batches: an entry with
  several ``TxDtls`` whose amounts add up to it gives one line per transaction, else one line for the entry;
* camt.052 / camt.054 lines, and entries whose ``Sts`` is not BOOK, are loaded with ``booked = false``
  (``report_kind`` intraday / notification): posting and balances skip them, the reconciliation reads them
  until the booked statement line supersedes them (see ``reconciliation/sql/inputs.sql``).
"""

from __future__ import annotations

import io
import re
from datetime import date
from typing import Any

from lxml import etree

from financeops_pipeline.errors import FieldError, FileRejected, RecordError, unexpected_failure
from financeops_pipeline.imports.records import ParsedFile, statement_record
from financeops_pipeline.money import MoneyError, normalize_currency, to_minor

FORMAT = "camt053"
_NS_PREFIX = "urn:iso:std:iso:20022:tech:xsd:camt."
_NS_RE = re.compile(rb"urn:iso:std:iso:20022:tech:xsd:camt\.(05[234])\.001\.(\d\d)")
_NS_PARTS = re.compile(r"urn:iso:std:iso:20022:tech:xsd:camt\.(05[234])\.001\.(\d\d)$")
# message element -> kind, for documents without a namespace
_MESSAGES = {"BkToCstmrAcctRpt": "052", "BkToCstmrStmt": "053", "BkToCstmrDbtCdtNtfctn": "054"}
_MESSAGE_RE = re.compile(rb"<(?:\w+:)?(BkToCstmrAcctRpt|BkToCstmrStmt|BkToCstmrDbtCdtNtfctn)(?:V\d\d)?[\s>]")
# kind -> (format name, report kind, statement element)
KINDS = {
    "052": ("camt052", "intraday", "Rpt"),
    "053": ("camt053", "statement", "Stmt"),
    "054": ("camt054", "notification", "Ntfctn"),
}
_STATEMENT_TAGS = frozenset(v[2] for v in KINDS.values())
_DATE_RE = re.compile(r"\s*(\d{4}-\d{2}-\d{2})")
_AMOUNT_RE = re.compile(r"\d+(\.\d*)?|\.\d+")
_XML_DECL = re.compile(rb"<\?xml[^>]*\?>")
_ENCODING_DECL = re.compile(rb"""encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_BOOKED_STATUS = "BOOK"
_SNIFF_BYTES = 65536


# ------------------------------------------------------------------------------------------- detection
def _head_text(data: bytes) -> bytes:
    head = bytes(data[:_SNIFF_BYTES])
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):  # UTF-16 with a byte-order mark
        head = head.decode("utf-16", errors="ignore").encode()
    return head


def sniff_kind(data: bytes) -> str | None:
    """'052', '053' or '054' when ``data`` is XML carrying a camt.05x message, else None. Never raises."""
    try:
        head = _head_text(data)
        start = head.lstrip(b"\xef\xbb\xbf \t\r\n")
        if not start.startswith(b"<"):
            return None
        found = _NS_RE.search(head)
        if found:
            return found.group(1).decode()
        message = _MESSAGE_RE.search(head)
        return _MESSAGES[message.group(1).decode()] if message else None
    except Exception:  # noqa: BLE001 - sniffing must never raise
        return None


def sniff(data: bytes) -> bool:
    """True for a camt.053 statement (camt.052 and camt.054 have their own sniff functions)."""
    return sniff_kind(data) == "053"


def sniff_camt052(data: bytes) -> bool:
    return sniff_kind(data) == "052"


def sniff_camt054(data: bytes) -> bool:
    return sniff_kind(data) == "054"


# ---------------------------------------------------------------------------------------- the XML source
class _Source(io.RawIOBase):
    """The file as one well-formed XML stream for iterparse, without copying it: the XML declarations are left
    out and everything is put inside one synthetic root, so documents concatenated in one file parse as the
    children of that root (a 1 GB statement is served in slices of the original bytes)."""

    def __init__(self, data: bytes, skip: list[tuple[int, int]]) -> None:
        super().__init__()
        self._parts: list[memoryview | bytes] = [b"<financeops-camt>"]
        view, pos = memoryview(data), 0
        for begin, end in skip:
            self._parts.append(view[pos:begin])
            pos = end
        self._parts += [view[pos:], b"</financeops-camt>"]
        self._index = 0
        self._offset = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while self._index < len(self._parts):
            part = self._parts[self._index]
            if self._offset < len(part):
                n = min(len(buffer), len(part) - self._offset)
                buffer[:n] = part[self._offset:self._offset + n]
                self._offset += n
                return n
            self._index += 1
            self._offset = 0
        return 0


def _xml_source(data: bytes, filename: str) -> tuple[_Source, str]:
    """The wrapped XML stream and the file's encoding (declared, from the BOM, or UTF-8)."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") or data[:4] in (b"\x00<\x00?", b"<\x00?\x00"):
        codec = "utf-16" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else (
            "utf-16-be" if data[:1] == b"\x00" else "utf-16-le")
        try:
            data = data.decode(codec).encode("utf-8")
        except UnicodeDecodeError as exc:
            raise FileRejected(filename, f"not valid UTF-16 text: {exc.reason} at byte {exc.start}",
                               f"byte {exc.start}") from None
        encoding = "utf-16"
    else:
        if data[:3] == b"\xef\xbb\xbf":
            data = data[3:]
        first = _XML_DECL.match(data.lstrip())
        declared = _ENCODING_DECL.search(first.group(0)) if first else None
        encoding = declared.group(1).decode().lower() if declared else "utf-8"
        if encoding not in ("utf-8", "utf8"):
            try:
                data = data.decode(encoding).encode("utf-8")
            except (LookupError, UnicodeDecodeError):
                encoding = "utf-8"   # a wrong declaration: read as UTF-8 and let the parser say where it fails
        else:
            encoding = "utf-8"
    skip = [m.span() for m in _XML_DECL.finditer(data)]
    return _Source(data, skip), encoding


# --------------------------------------------------------------------------------------------- helpers
def _parse_date(text: str | None) -> date | None:
    """ISO date or date-time text to a date (the date as written, no time-zone shifting)."""
    if text is None:
        return None
    match = _DATE_RE.match(text)
    if not match:
        raise ValueError(f"not an ISO date: {text!r}")
    return date.fromisoformat(match.group(1))


def _signed_amount(raw: str, ccy_attr: str | None, default_ccy: str | None,
                   indicator: str | None, what: str) -> tuple[int, str]:
    """(signed minor units, currency) of an amount and its CdtDbtInd; FieldError naming the field if unreadable.

    Without an indicator a minus sign means a debit; without either the direction is unknown (entries) or a
    credit (balances: ``what`` == 'balance')."""
    code = ccy_attr or default_ccy
    if not code:
        raise FieldError("Amt", "amount has no Ccy attribute")
    try:
        ccy = normalize_currency(code)
    except MoneyError as exc:
        raise FieldError("Amt", str(exc)) from None
    text = raw.strip()
    negative = text.startswith("-")
    if negative or text.startswith("+"):
        text = text[1:]
    if not _AMOUNT_RE.fullmatch(text):
        raise FieldError("Amt", f"amount {raw!r} is not a decimal number")
    try:
        minor = to_minor(text if not text.startswith(".") else "0" + text, ccy)
    except MoneyError as exc:
        raise FieldError("Amt", str(exc)) from None
    if indicator in ("CRDT", "DBIT"):
        if negative:
            raise FieldError("Amt", f"negative amount {raw!r} with CdtDbtInd {indicator}: camt amounts are unsigned")
        return (minor if indicator == "CRDT" else -minor), ccy
    if indicator:
        raise FieldError("CdtDbtInd", f"CdtDbtInd must be CRDT or DBIT, got {indicator!r}")
    if negative:
        return -minor, ccy
    if what == "balance":
        return minor, ccy
    raise FieldError("CdtDbtInd", "entry has no CdtDbtInd: its direction is unknown")


# Repeated leaves whose values are all kept (joined by a space); other repeated leaves keep the first.
_MULTI = frozenset({"RmtInf/Ustrd", "RmtInf/Strd/CdtrRefInf/Ref", "AddtlNtryInf", "AddtlTxInf"})


def _flatten(elem: Any, strip: int, prefix: str, out: dict[str, str], txs: list[dict[str, str]] | None) -> None:
    """Leaf texts of ``elem`` keyed by their local-name path ('BookgDt/Dt', 'Amt@Ccy').

    One recursive walk instead of a dozen ``findtext`` calls per entry. With ``txs`` given, each
    NtryDtls/TxDtls is flattened into its own dict (paths relative to the TxDtls) appended there.
    """
    for child in elem:
        tag = child.tag
        if not isinstance(tag, str):
            continue  # comment or processing instruction
        name = prefix + tag[strip:]
        if txs is not None and name == "NtryDtls":
            for tx in child:
                if isinstance(tx.tag, str) and tx.tag[strip:] == "TxDtls":
                    flat: dict[str, str] = {}
                    _flatten(tx, strip, "", flat, None)
                    txs.append(flat)
            continue
        if len(child):
            _flatten(child, strip, name + "/", out, txs)
            continue
        text = child.text
        if text is not None:
            text = text.strip()
            if text:
                if name not in out:
                    out[name] = text
                elif name in _MULTI:
                    out[name] += " " + text
        ccy = child.get("Ccy")
        if ccy is not None and name + "@Ccy" not in out:
            out[name + "@Ccy"] = ccy


def _flat_date(flat: dict[str, str], path: str) -> date | None:
    return _parse_date(flat.get(path + "/Dt") or flat.get(path + "/DtTm") or flat.get(path))


def _bank_tx_code(flat: dict[str, str]) -> str | None:
    domain = flat.get("BkTxCd/Domn/Cd")
    if domain:
        parts = [domain, flat.get("BkTxCd/Domn/Fmly/Cd"), flat.get("BkTxCd/Domn/Fmly/SubFmlyCd")]
        return "/".join(x for x in parts if x)
    return flat.get("BkTxCd/Prtry/Cd")


def _remittance(tx: dict[str, str]) -> str | None:
    return tx.get("RmtInf/Ustrd") or tx.get("RmtInf/Strd/CdtrRefInf/Ref") or tx.get("AddtlTxInf")


def _party_name(tx: dict[str, str], role: str) -> str | None:
    return tx.get(f"RltdPties/{role}/Nm") or tx.get(f"RltdPties/{role}/Pty/Nm")


def _counterparty(tx: dict[str, str], sign: int) -> str | None:
    # Credit: the payer (Dbtr) is the counterparty; debit: the payee (Cdtr). Fall back to the other.
    first, second = ("Dbtr", "Cdtr") if sign > 0 else ("Cdtr", "Dbtr")
    return _party_name(tx, first) or _party_name(tx, second)


def _end_to_end(tx: dict[str, str]) -> str | None:
    value = tx.get("Refs/EndToEndId")
    return None if value is None or value.upper() == "NOTPROVIDED" else value


def _raw(elem: Any, limit: int = 20_000) -> str:
    try:
        return etree.tostring(elem, encoding="unicode")[:limit]
    except Exception:  # noqa: BLE001 - the raw text is best effort
        return ""


# ---------------------------------------------------------------------------------------- statements
class _Balance:
    __slots__ = ("code", "currency", "when", "minor")

    def __init__(self, code: str, currency: str, when: date | None, minor: int) -> None:
        self.code, self.currency, self.when, self.minor = code, currency, when, minor


class _Statement:
    """Header of one Stmt / Rpt / Ntfctn (ids, account, balances) plus running totals per currency."""

    __slots__ = ("position", "statement_id", "account_id", "currency", "balances", "totals", "kind",
                 "default_date", "period_end", "currencies")

    def __init__(self, position: str, kind: str) -> None:
        self.position = position
        self.kind = kind                                   # statement | intraday | notification
        self.statement_id: str | None = None
        self.account_id: str | None = None
        self.currency: str | None = None                   # the account's currency when known
        self.balances: list[_Balance] = []
        self.totals: dict[str, list[Any]] = {}             # currency -> [count, total, last booking date]
        self.currencies: list[str] = []                    # in order of appearance
        self.default_date: date | None = None              # the statement's own date, for undated entries
        self.period_end: date | None = None                # FrToDt/ToDtTm

    def see(self, currency: str) -> None:
        if currency not in self.currencies:
            self.currencies.append(currency)


def _first_date(elem: Any, paths: tuple[str, ...]) -> date | None:
    for path in paths:
        value = elem.findtext(path)
        if value and value.strip():
            try:
                return _parse_date(value.strip())
            except ValueError:
                continue
    return None


def _qualifier(ns: str):
    return (lambda path: "/".join(f"{{{ns}}}{part}" for part in path.split("/"))) if ns else (lambda path: path)


def _read_header(stmt_elem: Any, st: _Statement, ns: str, filename: str, errors: list[RecordError],
                 message_date: date | None) -> None:
    """Ids, account, account currency and the statement's own date (for entries without one)."""
    q = _qualifier(ns)

    def text(path: str) -> str | None:
        value = stmt_elem.findtext(q(path))
        return (value.strip() or None) if value is not None else None

    st.statement_id = text("Id") or text("ElctrncSeqNb") or text("LglSeqNb")
    st.account_id = text("Acct/Id/IBAN") or text("Acct/Id/Othr/Id") or text("Acct/Id/PrtryAcct/Id") \
        or text("Acct/Id/BBAN") or text("Acct/Id/UPIC")
    if not st.account_id:   # whose money it is cannot be read
        raise FileRejected(filename, f"{st.position} has no account (Acct/Id/IBAN nor Acct/Id/Othr/Id)",
                           st.position, "Acct/Id")
    acct_ccy = text("Acct/Ccy")
    if acct_ccy:
        try:
            st.currency = normalize_currency(acct_ccy)
            st.see(st.currency)
        except MoneyError as exc:
            errors.append(RecordError(filename, f"{st.position}/Acct/Ccy", "Acct/Ccy", str(exc), acct_ccy))
    st.period_end = _first_date(stmt_elem, (q("FrToDt/ToDtTm"), q("FrToDt/ToDt")))
    st.default_date = (st.period_end
                       or _first_date(stmt_elem, (q("Bal/Dt/Dt"), q("Bal/Dt/DtTm"), q("CreDtTm")))
                       or message_date)
    if st.currency is None:   # no account currency: the first balance's, else the first entry's
        for amt in stmt_elem.iterfind(q("Bal/Amt")):
            try:
                st.currency = normalize_currency(amt.get("Ccy") or "")
                break
            except MoneyError:
                continue


def _read_balances(stmt_elem: Any, st: _Statement, ns: str, filename: str, errors: list[RecordError]) -> None:
    """Every typed balance of the statement; an unreadable one is a quarantined record, not a rejected file."""
    q = _qualifier(ns)
    for b_index, bal in enumerate(stmt_elem.iterfind(q("Bal")), start=1):
        code = (bal.findtext(q("Tp/CdOrPrtry/Cd")) or bal.findtext(q("Tp/Cd")) or "").strip().upper()
        if not code:
            continue   # proprietary balance types say nothing we can rely on
        bpos = f"{st.position}/Bal[{b_index}]"
        amt = bal.find(q("Amt"))
        try:
            if amt is None:
                raise FieldError("Amt", f"{code} balance has no Amt")
            indicator = (bal.findtext(q("CdtDbtInd")) or "").strip() or None
            minor, ccy = _signed_amount(amt.text or "", amt.get("Ccy"), st.currency, indicator, "balance")
            try:
                when = _parse_date((bal.findtext(q("Dt/Dt")) or bal.findtext(q("Dt/DtTm")) or "").strip() or None)
            except ValueError as exc:
                raise FieldError("Dt", str(exc)) from None
        except FieldError as exc:
            errors.append(RecordError(filename, bpos, exc.field, f"{code} balance: {exc.message}", _raw(bal)))
            continue
        st.balances.append(_Balance(code, ccy, when, minor))
        st.see(ccy)


def _statement_rows(st: _Statement) -> list[dict[str, Any]]:
    """One statement record per currency of the statement (balances and booked lines)."""
    rows = []
    for ccy in st.currencies or ([st.currency] if st.currency else []):
        balances = [b for b in st.balances if b.currency == ccy]
        by_code: dict[str, _Balance] = {}
        for b in balances:
            by_code.setdefault(b.code, b)
        interims = [b for b in balances if b.code == "ITBD"]
        opening = by_code.get("OPBD") or by_code.get("PRCD")
        closing = by_code.get("CLBD")
        if closing is None and interims:
            if opening is None and len(interims) >= 2:
                opening = interims[0]
            if opening is not interims[-1]:
                closing = interims[-1]
        available = by_code.get("CLAV") or by_code.get("ITAV")
        count, total, last = st.totals.get(ccy, (0, 0, None))
        if st.account_id is None or (opening is None and closing is None and ccy not in st.totals):
            continue   # no account, or a currency with only available balances and no lines
        # a derived closing is dated the latest of the statement's end (FrToDt), last booking and opening date
        end = max((d for d in (st.period_end, last, opening.when if opening else None) if d), default=None)
        position = st.position if ccy == (st.currency or ccy) else f"{st.position}[{ccy}]"
        rows.append(statement_record(
            st.statement_id, st.account_id, ccy,
            (opening.when, opening.minor) if opening else (None, None),
            (closing.when, closing.minor) if closing else (end or st.default_date, None),
            count, total, position, (available.when, available.minor) if available else (None, None),
            opening_type=opening.code if opening else None, closing_type=closing.code if closing else None,
            available_type=available.code if available else None, report_kind=st.kind,
        ))
    return rows


def _line(st: _Statement, currency: str, *, booking: date, value: date | None, amount: int, reversal: bool,
          code: str | None, e2e: str | None, svcr_ref: str | None, instr: str | None, remittance: str | None,
          counterparty: str | None, position: str, status: str | None, booked: bool) -> dict[str, Any]:
    return {
        "statement_id": st.statement_id,
        "account_id": st.account_id,
        "currency": currency,
        "booking_date": booking,
        "value_date": value,
        "amount_minor": amount,
        "is_reversal": reversal,
        "bank_tx_code": code,
        "end_to_end_id": e2e,
        "acct_svcr_ref": svcr_ref,
        "instr_id": instr,
        "remittance_info": remittance,
        "counterparty_name": counterparty,
        "source_position": position,
        "booked": booked,
        "report_kind": st.kind,
        "entry_status": status,
    }


def _entry_lines(entry: dict[str, str], txs: list[dict[str, str]], st: _Statement, pos: str,
                 status: str | None) -> list[dict[str, Any]]:
    """Bank lines of one flattened Ntry (one per TxDtls for a batch whose amounts add up to it, else one)."""
    if "Amt" not in entry:
        raise FieldError("Amt", "entry has no Amt")
    entry_minor, ccy = _signed_amount(entry["Amt"], entry.get("Amt@Ccy"), st.currency, entry.get("CdtDbtInd"),
                                      "entry")
    sign = -1 if entry_minor < 0 else 1
    reversal = entry.get("RvslInd", "").lower() in ("true", "1")
    try:
        booking = _flat_date(entry, "BookgDt")
    except ValueError as exc:
        raise FieldError("BookgDt", str(exc)) from None
    try:
        value = _flat_date(entry, "ValDt")
    except ValueError as exc:
        raise FieldError("ValDt", str(exc)) from None
    booking = booking or value or st.default_date
    if booking is None:
        raise FieldError("BookgDt", "entry has neither BookgDt nor ValDt, and the statement has no date")
    booked = st.kind == "statement" and (status is None or status == _BOOKED_STATUS)
    entry_code = _bank_tx_code(entry)
    entry_ref = entry.get("AcctSvcrRef")
    common = {"booking": booking, "value": value, "reversal": reversal, "status": status, "booked": booked}

    if len(txs) >= 2:
        parts: list[tuple[int, dict[str, str]]] = []
        for tx in txs:
            key = "Amt" if "Amt" in tx else "AmtDtls/TxAmt/Amt" if "AmtDtls/TxAmt/Amt" in tx else None
            if key is None:
                parts = []
                break
            try:
                tx_minor, tx_ccy = _signed_amount(tx[key], tx.get(key + "@Ccy"), ccy, tx.get("CdtDbtInd") or
                                                  ("CRDT" if sign > 0 else "DBIT"), "entry")
            except FieldError:
                parts = []
                break
            if tx_ccy != ccy:   # amounts in another currency cannot split the entry
                parts = []
                break
            parts.append((tx_minor, tx))
        # Details that do not add up to the booked entry are not the entry: it is loaded whole (one line).
        if parts and sum(a for a, _ in parts) == entry_minor:
            return [
                _line(st, ccy, amount=a, code=_bank_tx_code(tx) or entry_code, e2e=_end_to_end(tx),
                      svcr_ref=tx.get("Refs/AcctSvcrRef") or entry_ref, instr=tx.get("Refs/InstrId"),
                      remittance=_remittance(tx), counterparty=_counterparty(tx, 1 if a >= 0 else -1),
                      position=f"{pos}/TxDtls[{t_index}]", **common)
                for t_index, (a, tx) in enumerate(parts, start=1)
            ]
    if len(txs) != 1:
        return [_line(st, ccy, amount=entry_minor, code=entry_code, e2e=None, svcr_ref=entry_ref, instr=None,
                      remittance=entry.get("AddtlNtryInf"), counterparty=None, position=pos, **common)]
    tx = txs[0]
    return [_line(
        st, ccy, amount=entry_minor, code=entry_code or _bank_tx_code(tx), e2e=_end_to_end(tx),
        svcr_ref=tx.get("Refs/AcctSvcrRef") or entry_ref, instr=tx.get("Refs/InstrId"),
        remittance=_remittance(tx) or entry.get("AddtlNtryInf"), counterparty=_counterparty(tx, sign),
        position=pos, **common,
    )]


# -------------------------------------------------------------------------------------------------- parse
def parse(data: bytes, filename: str) -> ParsedFile:
    """Parse a camt.052 / camt.053 / camt.054 file into bank lines, statements and per-record errors."""
    try:
        return _parse(bytes(data), filename)
    except FileRejected:
        raise
    except etree.XMLSyntaxError as exc:
        line = getattr(exc, "lineno", None)
        message = exc.msg if hasattr(exc, "msg") else str(exc)
        raise FileRejected(filename, f"not well-formed XML (truncated or not XML): {message}",
                           f"line {line}" if line else "file") from None
    except etree.LxmlError as exc:
        raise FileRejected(filename, f"unreadable camt XML: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - safety net: a file we cannot read safely, never a crash
        raise unexpected_failure(filename, exc) from None


def _document_kind(elem: Any, event: str) -> tuple[str, str] | None:
    """(namespace, kind '052'/'053'/'054') of a Document element, or None when it is no camt.05x. A namespaced
    Document is known at its start; one without a namespace by its message element (read at its end)."""
    tag = elem.tag
    ns = tag[1:].split("}", 1)[0] if tag.startswith("{") else ""
    if ns:
        match = _NS_PARTS.match(ns)
        return (ns, match.group(1)) if match else None
    for child in elem:
        if isinstance(child.tag, str):
            name = re.sub(r"V\d\d$", "", child.tag)
            return ("", _MESSAGES[name]) if name in _MESSAGES else None
    return None


class _Reader:
    """State of one pass over the file: the current document and statement, and what was found."""

    def __init__(self, filename: str, result: ParsedFile) -> None:
        self.filename = filename
        self.result = result
        self.documents = 0
        self.statements = 0
        self.kinds: list[str] = []
        self.ns = ""
        self.strip = 0
        self.kind: str | None = None        # '052' / '053' / '054' of the current document
        self.prefix = ""
        self.doc_statements = 0
        self.message_date: date | None = None
        self.st: _Statement | None = None
        self.stmt_elem: Any = None
        self.header_done = False
        self.ntry_index = 0

    def open_document(self, ns: str, kind: str) -> None:
        self.documents += 1
        self.kinds.append(kind)
        self.ns, self.kind = ns, kind
        self.strip = len(ns) + 2 if ns else 0
        self.prefix = "" if self.documents == 1 else f"Document[{self.documents}]/"
        self.doc_statements = 0
        self.message_date = None

    def header(self) -> None:
        assert self.st is not None
        if not self.header_done:
            _read_header(self.stmt_elem, self.st, self.ns, self.filename, self.result.errors, self.message_date)
            self.header_done = True

    def open_statement(self, elem: Any, local: str) -> None:
        assert self.kind is not None
        self.doc_statements += 1
        self.statements += 1
        self.st = _Statement(f"{self.prefix}{local}[{self.doc_statements}]", KINDS[self.kind][1])
        self.stmt_elem, self.header_done, self.ntry_index = elem, False, 0

    def close_statement(self) -> None:
        st = self.st
        assert st is not None
        self.header()
        _read_balances(self.stmt_elem, st, self.ns, self.filename, self.result.errors)
        self.result.statements.extend(_statement_rows(st))
        self.stmt_elem.clear()
        self.st, self.stmt_elem, self.header_done = None, None, False

    def entry(self, elem: Any) -> None:
        st = self.st
        assert st is not None
        self.header()
        self.ntry_index += 1
        pos = f"{st.position}/Ntry[{self.ntry_index}]"
        entry: dict[str, str] = {}
        txs: list[dict[str, str]] = []
        _flatten(elem, self.strip, "", entry, txs)
        status = entry.get("Sts") or entry.get("Sts/Cd") or entry.get("Sts/Prtry")
        status = status.upper() if status else None
        try:
            lines = _entry_lines(entry, txs, st, pos, status)
        except FieldError as exc:
            self.result.errors.append(RecordError(file=self.filename, position=pos, field=exc.field,
                                                  message=exc.message, raw=_raw(elem)))
        else:
            counted = status is None or status == _BOOKED_STATUS
            for line in lines:
                ccy = line["currency"]
                st.see(ccy)
                if counted:
                    totals = st.totals.setdefault(ccy, [0, 0, None])
                    totals[0] += 1
                    totals[1] += line["amount_minor"]
                    if totals[2] is None or line["booking_date"] > totals[2]:
                        totals[2] = line["booking_date"]
            self.result.rows.extend(lines)
        # Drop the processed entry (and the previous, already cleared one) to keep memory flat.
        elem.clear()
        prev = elem.getprevious()
        if prev is not None and isinstance(prev.tag, str) and prev.tag == elem.tag:
            self.stmt_elem.remove(prev)


def _parse(data: bytes, filename: str) -> ParsedFile:
    if not data.strip():
        raise FileRejected(filename, "empty file")
    source, encoding = _xml_source(data, filename)
    result = ParsedFile(format=FORMAT, source="bank", encoding=encoding)
    events = etree.iterparse(
        source, events=("start", "end"),
        tag=("{*}Document", "{*}GrpHdr", "{*}Ntry", *(f"{{*}}{t}" for t in _STATEMENT_TAGS)),
        resolve_entities=False, no_network=True, load_dtd=False, remove_comments=True, remove_pis=True,
        huge_tree=True,
    )
    r = _Reader(filename, result)
    pending: Any = None            # a Document without a namespace, known at its first statement
    doc_elem: Any = None
    for event, elem in events:
        tag = elem.tag
        if tag.endswith("Document") and tag.rpartition("}")[2] == "Document":
            if event == "start" and doc_elem is None:
                found = _document_kind(elem, event)
                if found is not None:
                    doc_elem = elem
                    r.open_document(*found)
                elif not tag.startswith("{"):
                    pending = elem
            elif event == "end" and elem is doc_elem:
                doc_elem = None
                r.kind = None
                elem.clear()
            elif event == "end" and elem is pending:
                pending = None
            continue
        if r.kind is None:
            if pending is None or event != "start":
                continue
            parent = elem.getparent()
            message = re.sub(r"V\d\d$", "", parent.tag) if parent is not None and isinstance(parent.tag, str) else ""
            if message not in _MESSAGES:
                continue
            doc_elem, pending = pending, None
            r.open_document("", _MESSAGES[message])
        if r.ns and not tag.startswith("{" + r.ns + "}"):
            continue
        local = tag[r.strip:]
        if local == "GrpHdr":
            if event == "end":
                q = _qualifier(r.ns)
                r.message_date = _first_date(elem, (q("CreDtTm"),))
            continue
        if local == "Ntry":
            if event == "end" and r.st is not None and elem.getparent() is r.stmt_elem:
                r.entry(elem)
            continue
        if local != KINDS[r.kind][2]:
            continue
        if event == "start":
            if r.st is None:
                r.open_statement(elem, local)
        elif r.st is not None and elem is r.stmt_elem:
            r.close_statement()
    if r.documents == 0:
        raise FileRejected(filename, "no camt.052/053/054 Document (urn:iso:std:iso:20022:tech:xsd:camt.05x.001.NN) "
                                     "found", "Document", "xmlns")
    result.format = KINDS[r.kinds[0]][0]
    if r.statements == 0:
        element = KINDS[r.kinds[0]][2]
        raise FileRejected(filename, f"camt.{r.kinds[0]} document contains no {element}", "Document", element)
    return result
