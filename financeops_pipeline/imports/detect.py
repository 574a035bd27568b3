"""Content-based format detection and dispatch for every import format.

`detect` asks each format's `sniff(data)` in a fixed order and returns the first that says yes; the file
name's extension is never used (a '.txt' that holds a Stripe report is a Stripe report). The bank-statement
modules are imported lazily by name, so this module works while one of them is not there yet: a format
whose module does not exist is skipped, and named as unavailable if nothing matches.

Bank CSV has no content of its own to detect: a file no format claims is offered to the bank-CSV mappings
given (`bankcsv.choose`: a tenant's `bank_mappings/` folder, then the shipped ones), and a mapping given
explicitly (`financeops import --mapping`) reads the file whatever it looks like.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Sequence
from functools import partial
from types import ModuleType

from financeops_pipeline.errors import FileRejected
from financeops_pipeline.imports import bankcsv
from financeops_pipeline.imports.bankcsv import BankMapping
from financeops_pipeline.imports.records import ParsedFile

_PACKAGE = "financeops_pipeline.imports"
_BLANK = re.compile(rb"\s*\Z")   # what bytes.strip() empties (without copying a large file to find out)

# format name -> (module, sniff function, parse function), in detection order. XML and the bank formats'
# record markers are checked before the CSV formats; internal_csv goes last because its header test is
# the loosest.
FORMATS: tuple[tuple[str, str, str, str], ...] = (
    ("camt053", "camt053", "sniff", "parse"),
    ("camt052", "camt053", "sniff_camt052", "parse"),    # the camt.053 parser reads all three
    ("camt054", "camt053", "sniff_camt054", "parse"),
    ("bai2", "bai2", "sniff", "parse"),
    ("mt940", "mt940", "sniff", "parse"),
    ("ofx", "ofx", "sniff", "parse"),
    ("stripe", "stripe", "sniff", "parse"),
    ("adyen", "adyen", "sniff", "parse"),
    ("paypal", "paypal", "sniff", "parse"),
    ("internal_parquet", "internal", "sniff_parquet", "parse_parquet"),
    ("internal_csv", "internal", "sniff_csv", "parse_csv"),
)
FORMAT_NAMES = tuple(name for name, *_ in FORMATS)


def _module(name: str) -> ModuleType | None:
    """financeops_pipeline.imports.<name>, or None if that module does not exist (yet)."""
    full = f"{_PACKAGE}.{name}"
    try:
        return importlib.import_module(full)
    except ModuleNotFoundError as exc:
        if exc.name in (full, _PACKAGE):
            return None
        raise  # the module exists but one of its own imports is missing: a real bug, say so


def available_formats() -> list[str]:
    """The formats whose module can be imported right now."""
    return [name for name, module, _, _ in FORMATS if _module(module) is not None]


def _describe(data: bytes) -> str:
    head = bytes(data[:60])
    return f"{len(data)} bytes starting {head!r}"


def _match(data: bytes) -> tuple[str, Callable[[bytes, str], ParsedFile]] | tuple[None, list[str]]:
    unavailable: list[str] = []
    for name, module_name, sniff_name, parse_name in FORMATS:
        module = _module(module_name)
        if module is None:
            unavailable.append(name)
            continue
        if getattr(module, sniff_name)(data):
            return name, getattr(module, parse_name)
    return None, unavailable


def detect(data: bytes, filename: str, mappings: Sequence[BankMapping] = ()) -> str:
    """The format name of `data` (one of FORMAT_NAMES, or 'bankcsv' when one of `mappings` fits), or
    FileRejected 'unrecognised format: ...'."""
    return _detect(data, filename, mappings)[0]


def _detect(data: bytes, filename: str, mappings: Sequence[BankMapping] = (),
            mapping: BankMapping | None = None) -> tuple[str, Callable[[bytes, str], ParsedFile]]:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise FileRejected(filename, f"unrecognised format: expected bytes, got {type(data).__name__}")
    data = bytes(data)
    if _BLANK.match(data):
        raise FileRejected(filename, "unrecognised format: empty file")
    if mapping is not None:
        return bankcsv.FORMAT, partial(_parse_bankcsv, mapping=mapping)
    name, found = _match(data)
    if name is None and (chosen := bankcsv.choose(data, mappings)) is not None:
        return bankcsv.FORMAT, partial(_parse_bankcsv, mapping=chosen)
    if name is None:
        assert isinstance(found, list)
        note = f" (formats unavailable: {', '.join(found)})" if found else ""
        raise FileRejected(filename, f"unrecognised format: {_describe(data)}{note}")
    assert callable(found)
    return name, found


def _parse_bankcsv(data: bytes, filename: str, mapping: BankMapping) -> ParsedFile:
    return bankcsv.parse(data, filename, mapping)


def parse_file(data: bytes, filename: str, mappings: Sequence[BankMapping] = (),
               mapping: BankMapping | None = None) -> ParsedFile:
    """Detect the format from the content and parse with that format's parser; `mapping` forces a bank-CSV
    mapping, `mappings` are the bank-CSV mappings tried when no format claims the file."""
    _name, parse = _detect(data, filename, mappings, mapping)
    return parse(bytes(data), filename)
