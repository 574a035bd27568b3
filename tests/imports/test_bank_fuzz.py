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
    ParsedFile,
    to_table,
)

SAMPLES = Path(__file__).resolve().parents[2] / ".." / "shared" / "samples"
PARSERS = {"camt053": camt053, "bai2": bai2, "mt940": mt940}
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow],
                database=None)


def _samples(folder: str) -> list[bytes]:
    path = SAMPLES / folder
    if not path.is_dir():
        return []
    return [p.read_bytes() for p in sorted(path.iterdir()) if p.is_file()]


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
    # each statement's totals are the sum of the lines emitted for it
    by_stmt: dict[tuple, tuple[int, int]] = {}
    for row in parsed.records():
        n, total = by_stmt.get((row["statement_id"], row["account_id"]), (0, 0))
        by_stmt[(row["statement_id"], row["account_id"])] = (n + 1, total + row["amount_minor"])
    for stmt in parsed.statements:
        key = (stmt["statement_id"], stmt["account_id"])
        if sum(1 for s in parsed.statements if (s["statement_id"], s["account_id"]) == key) == 1:
            assert (stmt["entry_count"], stmt["entries_total_minor"]) == by_stmt.get(key, (0, 0))


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
    prefix = {"bai2": "01,S,R,240102,0800,F1,,,2/\n", "mt940": ":20:X\n:25:A\n", "camt053": ""}[name]
    _check(PARSERS[name], (prefix + text).encode())
