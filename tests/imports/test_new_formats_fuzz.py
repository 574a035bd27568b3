"""Property tests for the new and changed parsers (OFX, PayPal, bank CSV by mapping, Adyen and Stripe by header
name): random and mutated inputs give records or a FileRejected naming the file, never another exception."""

from __future__ import annotations

from functools import partial

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from financeops_pipeline.errors import FileRejected
from financeops_pipeline.imports import adyen, bankcsv, ofx, paypal, stripe
from financeops_pipeline.imports.records import (
    BANK_LINE_SCHEMA,
    BANK_STATEMENT_SCHEMA,
    PROCESSOR_LINE_SCHEMA,
    ParsedFile,
    to_table,
)
from tests.conftest import SAMPLES, SHARED_SAMPLES

FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)
MAPPING = bankcsv.shipped_mappings()[0]
INITECH = bankcsv.load_mapping(SAMPLES / "_more" / "paypal" / "initech" / "bank_mappings" / "initech_bank.yaml")
PARSERS = {
    "ofx": (ofx.parse, "bank", ["ofx"]),
    "paypal": (paypal.parse, "processor", ["paypal"]),
    "bankcsv": (partial(bankcsv.parse, mapping=MAPPING), "bank", ["bankcsv"]),
    "bankcsv_initech": (partial(bankcsv.parse, mapping=INITECH), "bank", []),
    "adyen": (adyen.parse, "processor", ["adyen"]),
    "stripe": (stripe.parse, "processor", ["stripe"]),
}


def _samples(name: str) -> list[bytes]:
    folders = PARSERS[name][2]
    found = [p.read_bytes()[:8000] for f in folders if (SHARED_SAMPLES / f).is_dir()
             for p in sorted((SHARED_SAMPLES / f).iterdir()) if p.is_file()]
    if name == "bankcsv_initech":
        found.append((SAMPLES / "_more" / "paypal" / "initech" / "2026-11-02" / "bank" /
                      "statement_2026-11-02.csv").read_bytes())
    return found


def _check(name: str, data: bytes) -> None:
    parse, source, _ = PARSERS[name]
    try:
        parsed = parse(data, "fuzz.dat")
    except FileRejected as exc:
        assert exc.error.file == "fuzz.dat"
        return
    assert isinstance(parsed, ParsedFile)
    for err in parsed.errors:
        assert err.file == "fuzz.dat"
        assert not err.message.startswith("unexpected"), err   # every bad record is a named check
    schema = BANK_LINE_SCHEMA if source == "bank" else PROCESSOR_LINE_SCHEMA
    table = parsed.to_arrow()
    assert table.schema == schema
    for row in table.to_pylist():
        amount = row["amount_minor"] if source == "bank" else row["net_minor"]
        assert type(amount) is int
        if source == "processor":
            assert row["gross_minor"] - row["fee_minor"] == row["net_minor"]   # the table's CHECK
        else:
            assert row["booking_date"] is not None and row["account_id"]
    if source == "bank":
        to_table(parsed.statements, BANK_STATEMENT_SCHEMA)


@st.composite
def _mutated(draw, samples: list[bytes]) -> bytes:
    data = bytearray(draw(st.sampled_from(samples)))
    for _ in range(draw(st.integers(1, 6))):
        if not data:
            break
        pos = draw(st.integers(0, len(data) - 1))
        op = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "duplicate_line"]))
        if op == "flip":
            data[pos] = draw(st.integers(0, 255))
        elif op == "insert":
            data[pos:pos] = draw(st.sampled_from([b",", b'"', b"\n", b";", b"-", b".", b"<", b">", b"\xff",
                                                  b"\x00", b"9", b"</STMTTRN>", b"<TRNAMT>", b"1,5"]))
        elif op == "delete":
            del data[pos:pos + draw(st.integers(1, 40))]
        elif op == "truncate":
            del data[pos:]
        else:
            lines = bytes(data).splitlines(keepends=True)
            i = draw(st.integers(0, len(lines) - 1))
            data = bytearray(b"".join([*lines[:i], lines[i], *lines[i:]]))
    return bytes(data)


@pytest.mark.parametrize("name", sorted(PARSERS))
@FUZZ
@given(data=st.binary(max_size=400))
def test_random_bytes(name, data):
    _check(name, data)


@pytest.mark.parametrize("name", sorted(PARSERS))
@FUZZ
@given(data=st.data())
def test_mutated_samples(name, data):
    samples = _samples(name)
    if not samples:
        pytest.skip(f"no samples for {name} in {SHARED_SAMPLES}")
    _check(name, data.draw(_mutated(samples)))


OFX_SOUP = st.text(alphabet="<>/STMTRNAMFIDCURDEF0123456789.-+ \nXBLAOH:[]", max_size=300)


@FUZZ
@given(text=OFX_SOUP)
def test_ofx_tag_soup(text):
    _check("ofx", ("OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\n\n<OFX><BANKMSGSRSV1><STMTTRNRS><STMTRS>"
                   "<CURDEF>USD<BANKACCTFROM><BANKID>1<ACCTID>2<ACCTTYPE>CHECKING</BANKACCTFROM><BANKTRANLIST>"
                   + text).encode())


@FUZZ
@given(rows=st.lists(st.lists(st.sampled_from(["", "SB", "CH", "CR", "DR", "T0006", "T0400", "5200", "x", "GBP",
                                               "2026/01/06 00:00:30 -0800", "-1", "99999999999999999999"]),
                              min_size=1, max_size=12), max_size=8))
def test_paypal_stl_records(rows):
    header = ('"SH","2026/01/06 00:00:00 -0800"\n"CH","Transaction ID","Invoice ID","Transaction Event Code",'
              '"Transaction Completion Date","Transaction Debit or Credit","Gross Transaction Amount",'
              '"Gross Transaction Currency","Fee Debit or Credit","Fee Amount","Fee Currency","Bank Reference ID"\n')
    body = "\n".join(",".join(r) for r in rows)
    _check("paypal", (header + body).encode())
