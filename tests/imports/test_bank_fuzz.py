"""Property tests: whatever bytes arrive, a bank parser returns a ParsedFile or raises FileRejected."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from financeops_pipeline.errors import FileRejected, RecordError
from financeops_pipeline.imports import bai2, camt053, mt940
from financeops_pipeline.imports.records import (
    BANK_LINE_SCHEMA,
    BANK_STATEMENT_SCHEMA,
    REPORT_KINDS,
    ParsedFile,
    to_table,
)
from financeops_pipeline.imports.textenc import decode_bank_text

SAMPLES = Path(__file__).resolve().parents[2] / ".." / "shared" / "samples"
PARSERS = {"camt053": camt053, "bai2": bai2, "mt940": mt940}
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow],
                database=None)


def _samples(folder: str) -> list[bytes]:
    """The public samples of a format, with the broken ones of that format (both sets)."""
    path = SAMPLES / folder
    if not path.is_dir():
        return []
    files = [p for p in sorted(path.iterdir()) if p.is_file()]
    broken = SAMPLES / "broken"
    if broken.is_dir():
        files += [p for p in sorted(broken.iterdir()) if p.is_file() and PARSERS[folder].sniff(p.read_bytes())]
    return [p.read_bytes() for p in files]


def _check(module, data: bytes) -> None:
    try:
        parsed = module.parse(data, "fuzz.dat")
    except FileRejected as exc:
        assert exc.error.file == "fuzz.dat"
        # the parsers' last-resort net turns a bug into a rejection; in tests it must never fire
        assert "unexpected parser failure" not in exc.error.message, exc.error.message
        return
    assert isinstance(parsed, ParsedFile)
    assert all(isinstance(e, RecordError) and e.file == "fuzz.dat" for e in parsed.errors)
    for row in parsed.records():
        assert set(row) == set(BANK_LINE_SCHEMA.names)
        assert type(row["amount_minor"]) is int
    to_table(parsed.records(), BANK_LINE_SCHEMA)
    to_table(parsed.statements, BANK_STATEMENT_SCHEMA)
    for stmt in parsed.statements:
        assert set(stmt) == set(BANK_STATEMENT_SCHEMA.names)
    # each statement's totals are the sum of the lines emitted for it that count (booked status or none)
    by_stmt: dict[tuple, tuple[int, int]] = {}
    for row in parsed.records():
        assert row["report_kind"] in REPORT_KINDS and (not row["booked"] or row["report_kind"] == "statement")
        if row["entry_status"] not in (None, "BOOK"):
            continue
        key = (row["statement_id"], row["account_id"], row["currency"])
        n, total = by_stmt.get(key, (0, 0))
        by_stmt[key] = (n + 1, total + row["amount_minor"])
    for stmt in parsed.statements:
        key = (stmt["statement_id"], stmt["account_id"], stmt["currency"])
        if sum(1 for s in parsed.statements if (s["statement_id"], s["account_id"], s["currency"]) == key) == 1:
            assert (stmt["entry_count"], stmt["entries_total_minor"]) == by_stmt.get(key, (0, 0))
        # a derived balance is exactly the other balance and the entries
        if stmt["closing_derived"]:
            assert stmt["closing_balance_minor"] == stmt["opening_balance_minor"] + stmt["entries_total_minor"]
        if stmt["opening_derived"]:
            assert stmt["opening_balance_minor"] == stmt["closing_balance_minor"] - stmt["entries_total_minor"]


@st.composite
def _mutated(draw, samples: list[bytes]) -> bytes:
    data = draw(st.sampled_from(samples))
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["flip", "truncate", "delete_line", "duplicate_line", "insert"]))
        if not data:
            break
        if op == "flip":
            i = draw(st.integers(0, len(data) - 1))
            data = data[:i] + bytes([data[i] ^ draw(st.integers(1, 255))]) + data[i + 1:]
        elif op == "truncate":
            data = data[: draw(st.integers(0, len(data)))]
        elif op == "insert":
            i = draw(st.integers(0, len(data)))
            data = data[:i] + draw(st.binary(min_size=1, max_size=8)) + data[i:]
        else:
            lines = data.splitlines(keepends=True)
            i = draw(st.integers(0, len(lines) - 1))
            if op == "delete_line":
                del lines[i]
            else:
                lines.insert(i, lines[i])
            data = b"".join(lines)
    return data


@pytest.mark.parametrize("name", sorted(PARSERS))
@FUZZ
@given(data=st.binary(max_size=512))
def test_random_bytes(name, data):
    _check(PARSERS[name], data)
    PARSERS[name].sniff(data)


@pytest.mark.parametrize("name", sorted(PARSERS))
@FUZZ
@given(data=st.data())
def test_mutated_samples(name, data):
    samples = _samples(name)
    if not samples:
        pytest.skip(f"public samples not available in {SAMPLES / name}")
    blob = data.draw(_mutated(samples))
    _check(PARSERS[name], blob)
    assert PARSERS[name].sniff(blob) in (True, False)


@pytest.mark.parametrize("name", sorted(PARSERS))
@FUZZ
@given(text=st.text(alphabet=":0123456789CDRFMN,./\n{}?-EURS", max_size=300))
def test_format_alphabet_soup(name, text):
    """Text made of the formats' own punctuation reaches deeper than random bytes."""
    prefix = {"bai2": "01,S,R,240102,0800,F1,80,,3/\n02,R,B,1,240101,,EUR,3/\n03,A,,010,",
              "mt940": ":20:X\n:25:A\n:60F:C240101EUR1,00\n:61:", "camt053": ""}[name]
    _check(PARSERS[name], (prefix + text).encode())


_CAMT_PIECES = [
    "<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp><Amt Ccy=\"{ccy}\">{amount}</Amt>{ind}"
    "<Dt><{dt}>{date}</{dt}></Dt></Bal>",
    "<Ntry><Amt Ccy=\"{ccy}\">{amount}</Amt>{ind}<Sts>{sts}</Sts><BookgDt><{dt}>{date}</{dt}></BookgDt>"
    "<NtryDtls><TxDtls><Amt Ccy=\"{ccy}\">{amount}</Amt></TxDtls><TxDtls><Amt Ccy=\"{ccy}\">0</Amt></TxDtls>"
    "</NtryDtls></Ntry>",
]


@st.composite
def _camt_document(draw) -> bytes:
    """camt.052/053/054 documents built from the elements banks vary: kinds, versions, balance codes,
    currencies (with and without minor units), amounts with extra digits, indicators present or not, DtTm."""
    kind = draw(st.sampled_from(["052", "053", "054"]))
    element = {"052": ("BkToCstmrAcctRpt", "Rpt"), "053": ("BkToCstmrStmt", "Stmt"),
               "054": ("BkToCstmrDbtCdtNtfctn", "Ntfctn")}[kind]
    parts = []
    for _ in range(draw(st.integers(0, 6))):
        piece = draw(st.sampled_from(_CAMT_PIECES))
        parts.append(piece.format(
            code=draw(st.sampled_from(["OPBD", "CLBD", "ITBD", "PRCD", "CLAV", "XXXX"])),
            ccy=draw(st.sampled_from(["EUR", "JPY", "XXX", "DEM", "BHD", "ZZZ", ""])),
            amount=draw(st.from_regex(r"-?[0-9]{1,6}(\.[0-9]{0,5})?", fullmatch=True)),
            ind=draw(st.sampled_from(["<CdtDbtInd>CRDT</CdtDbtInd>", "<CdtDbtInd>DBIT</CdtDbtInd>", "",
                                      "<CdtDbtInd>X</CdtDbtInd>"])),
            sts=draw(st.sampled_from(["BOOK", "PDNG", "INFO"])),
            dt=draw(st.sampled_from(["Dt", "DtTm"])),
            date=draw(st.sampled_from(["2024-01-02", "2024-02-30", "2024-01-02T10:00:00.123456789", "x"])),
        ))
    version = draw(st.sampled_from(["02", "04", "08", "13"]))
    doc = (f'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.{kind}.001.{version}"><{element[0]}>'
           f"<{element[1]}><Id>S</Id><Acct><Id><IBAN>DE1</IBAN></Id></Acct>{''.join(parts)}</{element[1]}>"
           f"</{element[0]}></Document>")
    return (doc * draw(st.integers(1, 2))).encode()


@FUZZ
@given(data=_camt_document())
def test_generated_camt_documents(data):
    _check(camt053, data)


@FUZZ
@given(data=st.binary(max_size=300))
def test_text_decoding_never_fails(data):
    text, encoding = decode_bank_text(data)
    assert isinstance(text, str) and encoding
