"""ISO 20022 camt.053 (BankToCustomerStatement) parser, versions .001.02 to .001.08.

One streaming pass with lxml ``iterparse`` (entities never resolved, no network, no DTD): each
``Ntry`` is turned into bank lines as soon as it is complete and then dropped from the tree, so
memory stays flat on large files. Amounts are exact integer minor units, signed from the account
holder's view (CRDT > 0, DBIT < 0).
"""

from __future__ import annotations

import io
import re
from datetime import date
from typing import Any

from lxml import etree

from financeops_pipeline.errors import FieldError, FileRejected, RecordError
from financeops_pipeline.imports.records import ParsedFile, statement_record
from financeops_pipeline.money import MoneyError, normalize_currency, to_minor

FORMAT = "camt053"
_NS_PREFIX = "urn:iso:std:iso:20022:tech:xsd:camt.053.001."
_SUPPORTED_VERSIONS = {"02", "03", "04", "05", "06", "07", "08"}
_NS_RE = re.compile(rb"urn:iso:std:iso:20022:tech:xsd:camt\.053\.001\.\d\d")
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_AMOUNT_RE = re.compile(r"\d+(\.\d+)?")
_SKIPPED_STATUSES = {"PDNG", "INFO", "FUTR"}


def sniff(data: bytes) -> bool:
    """True when ``data`` is XML whose root element is in a camt.053.001.NN namespace."""
    try:
        head = bytes(data[:4096])
        if head[:2] in (b"\xff\xfe", b"\xfe\xff"):  # UTF-16 with a byte-order mark
            head = head.decode("utf-16", errors="ignore").encode()
        if b"<" not in head or not _NS_RE.search(head):
            return False
        parser = etree.iterparse(
            io.BytesIO(bytes(data)), events=("start",), resolve_entities=False, no_network=True,
            load_dtd=False,
        )
        for _event, elem in parser:
            return isinstance(elem.tag, str) and elem.tag.startswith("{" + _NS_PREFIX)
    except Exception:  # noqa: BLE001 - sniffing must never raise
        return False
    return False


class _Paths:
    """Clark-notation paths for one namespace, built once."""

    def __init__(self, ns: str) -> None:
        self.ns = ns
        self._cache: dict[str, str] = {}

    def __call__(self, path: str) -> str:
        got = self._cache.get(path)
        if got is None:
            got = "/".join(f"{{{self.ns}}}{part}" for part in path.split("/"))
            self._cache[path] = got
        return got


def _text(elem: Any, path: str, p: _Paths) -> str | None:
    """Stripped text at ``path`` under ``elem``, or None when absent or empty."""
    value = elem.findtext(p(path))
    if value is None:
        return None
    value = value.strip()
    return value or None


def _parse_date(text: str | None) -> date | None:
    """ISO date or date-time text to a date (the date as written, no time-zone shifting)."""
    if text is None:
        return None
    if not _DATE_RE.match(text):
        raise ValueError(f"not an ISO date: {text!r}")
    return date.fromisoformat(text[:10])


def _date_of(elem: Any, path: str, p: _Paths) -> date | None:
    """Date from ``path/Dt`` or ``path/DtTm``."""
    return _parse_date(_text(elem, f"{path}/Dt", p) or _text(elem, f"{path}/DtTm", p))


def _amount(amt_elem: Any, default_ccy: str | None) -> tuple[int, str]:
    """(unsigned minor units, currency) of an ``Amt``-like element with a ``Ccy`` attribute."""
    return _amount_of({"Amt": (amt_elem.text or "").strip(), "Amt@Ccy": amt_elem.get("Ccy") or ""},
                      "Amt", default_ccy)


def _amount_of(flat: dict[str, str], key: str, default_ccy: str | None) -> tuple[int, str]:
    """(unsigned minor units, currency) of the amount at ``key`` of a flattened element."""
    raw = flat.get(key, "")
    ccy_attr = flat.get(key + "@Ccy") or default_ccy
    if not ccy_attr:
        raise MoneyError("amount has no Ccy attribute")
    ccy = normalize_currency(ccy_attr)
    if not _AMOUNT_RE.fullmatch(raw):
        raise MoneyError(f"amount {raw!r} is not an unsigned decimal")
    return to_minor(raw, ccy), ccy


def _sign(indicator: str | None, field: str) -> int:
    if indicator == "CRDT":
        return 1
    if indicator == "DBIT":
        return -1
    raise FieldError(field, f"CdtDbtInd must be CRDT or DBIT, got {indicator!r}")


# Repeated leaves whose values are all kept (joined by a space); other repeated leaves keep the first.
_MULTI = frozenset({"RmtInf/Ustrd", "RmtInf/Strd/CdtrRefInf/Ref"})


def _flatten(elem: Any, strip: int, prefix: str, out: dict[str, str],
             txs: list[dict[str, str]] | None) -> None:
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
    return _parse_date(flat.get(path + "/Dt") or flat.get(path + "/DtTm"))


def _bank_tx_code(flat: dict[str, str]) -> str | None:
    domain = flat.get("BkTxCd/Domn/Cd")
    if domain:
        parts = [domain, flat.get("BkTxCd/Domn/Fmly/Cd"), flat.get("BkTxCd/Domn/Fmly/SubFmlyCd")]
        return "/".join(x for x in parts if x)
    return flat.get("BkTxCd/Prtry/Cd")


def _remittance(tx: dict[str, str]) -> str | None:
    return tx.get("RmtInf/Ustrd") or tx.get("RmtInf/Strd/CdtrRefInf/Ref")


def _party_name(tx: dict[str, str], role: str) -> str | None:
    return tx.get(f"RltdPties/{role}/Nm") or tx.get(f"RltdPties/{role}/Pty/Nm")


def _counterparty(tx: dict[str, str], sign: int) -> str | None:
    # Credit: the payer (Dbtr) is the counterparty; debit: the payee (Cdtr). Fall back to the other.
    first, second = ("Dbtr", "Cdtr") if sign > 0 else ("Cdtr", "Dbtr")
    return _party_name(tx, first) or _party_name(tx, second)


def _end_to_end(tx: dict[str, str]) -> str | None:
    value = tx.get("Refs/EndToEndId")
    return None if value is None or value.upper() == "NOTPROVIDED" else value


class _Statement:
    """Header of one Stmt (ids, currency, balances) plus running totals of the lines emitted."""

    __slots__ = ("index", "statement_id", "account_id", "currency", "opening", "closing",
                 "count", "total")

    def __init__(self, index: int) -> None:
        self.index = index
        self.statement_id: str | None = None
        self.account_id: str | None = None
        self.currency: str | None = None
        self.opening: tuple[date | None, int] | None = None
        self.closing: tuple[date | None, int] | None = None
        self.count = 0
        self.total = 0


def _read_header(stmt_elem: Any, st: _Statement, p: _Paths, filename: str) -> None:
    pos = f"Stmt[{st.index}]"
    st.statement_id = _text(stmt_elem, "Id", p)
    if not st.statement_id:
        raise FileRejected(filename, "statement has no Stmt/Id", pos, "Id")
    st.account_id = _text(stmt_elem, "Acct/Id/IBAN", p) or _text(stmt_elem, "Acct/Id/Othr/Id", p)
    if not st.account_id:
        raise FileRejected(filename, "statement has no Acct/Id/IBAN nor Acct/Id/Othr/Id", pos, "Acct/Id")
    acct_ccy = _text(stmt_elem, "Acct/Ccy", p)
    if acct_ccy:
        try:
            st.currency = normalize_currency(acct_ccy)
        except MoneyError as exc:
            raise FileRejected(filename, str(exc), pos, "Acct/Ccy") from None
    balances: dict[str, tuple[date | None, int]] = {}
    for b_index, bal in enumerate(stmt_elem.iterfind(p("Bal")), start=1):
        code = _text(bal, "Tp/CdOrPrtry/Cd", p)
        if code not in ("OPBD", "PRCD", "CLBD") or code in balances:
            continue
        bpos = f"{pos}/Bal[{b_index}]"
        amt = bal.find(p("Amt"))
        if amt is None:
            raise FileRejected(filename, f"{code} balance has no Amt", bpos, "Amt")
        try:
            minor, ccy = _amount(amt, st.currency)
        except MoneyError as exc:
            raise FileRejected(filename, f"{code} balance: {exc}", bpos, "Amt") from None
        if st.currency is None:
            st.currency = ccy
        elif ccy != st.currency:
            raise FileRejected(filename, f"{code} balance in {ccy}, account in {st.currency}", bpos, "Amt")
        indicator = _text(bal, "CdtDbtInd", p)
        if indicator not in ("CRDT", "DBIT"):
            raise FileRejected(filename, f"{code} balance CdtDbtInd {indicator!r}", bpos, "CdtDbtInd")
        try:
            when = _date_of(bal, "Dt", p)
        except ValueError as exc:
            raise FileRejected(filename, f"{code} balance: {exc}", bpos, "Dt") from None
        balances[code] = (when, minor if indicator == "CRDT" else -minor)
    st.opening = balances.get("OPBD") or balances.get("PRCD")
    st.closing = balances.get("CLBD")
    if st.opening is None:
        raise FileRejected(filename, "statement has no OPBD (nor PRCD) balance", pos, "Bal")
    if st.closing is None:
        raise FileRejected(filename, "statement has no CLBD balance", pos, "Bal")


def _line(st: _Statement, *, booking: date, value: date | None, amount: int, reversal: bool,
          code: str | None, e2e: str | None, svcr_ref: str | None, instr: str | None,
          remittance: str | None, counterparty: str | None, position: str) -> dict[str, Any]:
    return {
        "statement_id": st.statement_id,
        "account_id": st.account_id,
        "currency": st.currency,
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
    }


def _entry_lines(entry: dict[str, str], txs: list[dict[str, str]], st: _Statement,
                 n_index: int) -> list[dict[str, Any]]:
    """Bank lines of one flattened Ntry (one per TxDtls for a batch with amounts, else one)."""
    pos = f"Stmt[{st.index}]/Ntry[{n_index}]"
    if "Amt" not in entry:
        raise FieldError("Amt", "entry has no Amt")
    try:
        entry_minor, ccy = _amount_of(entry, "Amt", st.currency)
    except MoneyError as exc:
        raise FieldError("Amt", str(exc)) from None
    if ccy != st.currency:
        raise FieldError("Amt", f"entry currency {ccy} differs from statement currency {st.currency}")
    sign = _sign(entry.get("CdtDbtInd"), "CdtDbtInd")
    reversal = entry.get("RvslInd", "").lower() in ("true", "1")
    try:
        booking = _flat_date(entry, "BookgDt")
    except ValueError as exc:
        raise FieldError("BookgDt", str(exc)) from None
    try:
        value = _flat_date(entry, "ValDt")
    except ValueError as exc:
        raise FieldError("ValDt", str(exc)) from None
    if booking is None:
        booking = value
    if booking is None:
        raise FieldError("BookgDt", "entry has neither BookgDt nor ValDt")
    entry_code = _bank_tx_code(entry)
    entry_ref = entry.get("AcctSvcrRef")

    if len(txs) >= 2:
        parts: list[tuple[int, dict[str, str]]] = []
        for tx in txs:
            key = "Amt" if "Amt" in tx else "AmtDtls/TxAmt/Amt" if "AmtDtls/TxAmt/Amt" in tx else None
            if key is None:
                parts = []
                break
            try:
                tx_minor, tx_ccy = _amount_of(tx, key, st.currency)
            except MoneyError as exc:
                raise FieldError("TxDtls/Amt", str(exc)) from None
            if tx_ccy != ccy:  # amounts in another currency cannot split the entry
                parts = []
                break
            tx_ind = tx.get("CdtDbtInd")
            tx_sign = _sign(tx_ind, "TxDtls/CdtDbtInd") if tx_ind else sign
            parts.append((tx_sign * tx_minor, tx))
        if parts:
            split_total = sum(a for a, _ in parts)
            if split_total != sign * entry_minor:
                raise FieldError(
                    "TxDtls/Amt",
                    f"TxDtls amounts sum to {split_total} minor units, entry amount is {sign * entry_minor}",
                )
            return [
                _line(
                    st, booking=booking, value=value, amount=a, reversal=reversal,
                    code=_bank_tx_code(tx) or entry_code, e2e=_end_to_end(tx),
                    svcr_ref=tx.get("Refs/AcctSvcrRef") or entry_ref, instr=tx.get("Refs/InstrId"),
                    remittance=_remittance(tx), counterparty=_counterparty(tx, 1 if a >= 0 else -1),
                    position=f"{pos}/TxDtls[{t_index}]",
                )
                for t_index, (a, tx) in enumerate(parts, start=1)
            ]
    if len(txs) != 1:
        return [_line(st, booking=booking, value=value, amount=sign * entry_minor, reversal=reversal,
                      code=entry_code, e2e=None, svcr_ref=entry_ref, instr=None, remittance=None,
                      counterparty=None, position=pos)]
    tx = txs[0]
    return [_line(
        st, booking=booking, value=value, amount=sign * entry_minor, reversal=reversal,
        code=entry_code or _bank_tx_code(tx), e2e=_end_to_end(tx),
        svcr_ref=tx.get("Refs/AcctSvcrRef") or entry_ref, instr=tx.get("Refs/InstrId"),
        remittance=_remittance(tx), counterparty=_counterparty(tx, sign), position=pos,
    )]


def _statement_dict(st: _Statement) -> dict[str, Any]:
    assert st.opening is not None and st.closing is not None
    return statement_record(st.statement_id, st.account_id, st.currency, st.opening, st.closing, st.count,
                            st.total, f"Stmt[{st.index}]")


def _raw(elem: Any) -> str:
    try:
        return etree.tostring(elem, encoding="unicode")
    except Exception:  # noqa: BLE001 - the raw text is best effort
        return ""


def parse(data: bytes, filename: str) -> ParsedFile:
    """Parse a camt.053 file into bank lines, statements and per-entry errors."""
    try:
        return _parse(bytes(data), filename)
    except FileRejected:
        raise
    except etree.XMLSyntaxError as exc:
        line = getattr(exc, "lineno", None)
        raise FileRejected(filename, f"not well-formed XML: {exc.msg if hasattr(exc, 'msg') else exc}",
                           f"line {line}" if line else "file") from None
    except etree.LxmlError as exc:
        raise FileRejected(filename, f"unreadable camt.053 XML: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - safety net: a file we cannot read safely, never a crash
        raise FileRejected(filename, f"unexpected parser failure ({type(exc).__name__}: {exc})") from None


def _parse(data: bytes, filename: str) -> ParsedFile:
    if not data.strip():
        raise FileRejected(filename, "empty file")
    result = ParsedFile(format=FORMAT, source="bank")
    events = etree.iterparse(
        io.BytesIO(data), events=("start", "end"), tag=("{*}Document", "{*}Stmt", "{*}Ntry"),
        resolve_entities=False, no_network=True, load_dtd=False, remove_comments=True,
        remove_pis=True,
    )
    p: _Paths | None = None
    strip = 0
    root_seen = False
    st: _Statement | None = None
    stmt_elem: Any = None
    header_done = False
    stmt_count = 0
    ntry_index = 0
    for event, elem in events:
        if not root_seen:
            root_seen = True
            tag = elem.tag if isinstance(elem.tag, str) else ""
            if event != "start" or elem.getparent() is not None or not tag.startswith("{" + _NS_PREFIX):
                raise FileRejected(filename, "root element is not a camt.053 Document "
                                             f"(urn:iso:std:iso:20022:tech:xsd:camt.053.001.NN), got {tag!r}")
            ns = tag[1:].split("}", 1)[0]
            version = ns[len(_NS_PREFIX):]
            if version not in _SUPPORTED_VERSIONS:
                raise FileRejected(filename, f"camt.053.001.{version} is not supported (.02 to .08 are)",
                                   "Document", "xmlns")
            if etree.QName(tag).localname != "Document":
                raise FileRejected(filename, f"root element is {tag!r}, expected Document")
            p = _Paths(ns)
            strip = len(ns) + 2
            continue
        assert p is not None
        if not isinstance(elem.tag, str) or not elem.tag.startswith("{" + p.ns + "}"):
            continue
        local = elem.tag[len(p.ns) + 2:]
        if local == "Stmt":
            if event == "start":
                stmt_count += 1
                st = _Statement(stmt_count)
                stmt_elem = elem
                header_done = False
                ntry_index = 0
            else:
                if st is None:
                    continue
                if not header_done:
                    _read_header(elem, st, p, filename)
                result.statements.append(_statement_dict(st))
                st, stmt_elem, header_done = None, None, False
                elem.clear()
        elif local == "Ntry" and event == "end" and st is not None and elem.getparent() is stmt_elem:
            if not header_done:
                _read_header(stmt_elem, st, p, filename)
                header_done = True
            ntry_index += 1
            entry: dict[str, str] = {}
            txs: list[dict[str, str]] = []
            _flatten(elem, strip, "", entry, txs)
            status = entry.get("Sts") or entry.get("Sts/Cd") or entry.get("Sts/Prtry")
            if status in _SKIPPED_STATUSES:
                pass  # not booked: not part of the booked balance, reported again once booked
            else:
                try:
                    lines = _entry_lines(entry, txs, st, ntry_index)
                except FieldError as exc:
                    result.errors.append(RecordError(
                        file=filename, position=f"Stmt[{st.index}]/Ntry[{ntry_index}]", field=exc.field,
                        message=exc.message, raw=_raw(elem),
                    ))
                else:
                    for line in lines:
                        st.count += 1
                        st.total += line["amount_minor"]
                    result.rows.extend(lines)
            # Drop the processed entry (and the previous, already cleared one) to keep memory flat.
            elem.clear()
            prev = elem.getprevious()
            if prev is not None and isinstance(prev.tag, str) and prev.tag == elem.tag:
                stmt_elem.remove(prev)
    if not root_seen:
        raise FileRejected(filename, "no XML root element found")
    if stmt_count == 0:
        raise FileRejected(filename, "camt.053 document contains no Stmt", "Document", "Stmt")
    return result
