"""Bank statements as CSV, read through a per-bank mapping file (YAML), because many banks offer only CSV.

A mapping says where the table is, which column is what and how numbers and dates are written; the parser
then gives canonical bank lines and one statement per (account, currency) with the balances the file states.
Shipped mappings live in `financeops_pipeline/imports/bank_mappings/`; a tenant's own in
`<data_dir>/<tenant>/bank_mappings/*.yaml` (read by the daily import beside the shipped ones, tenant's first);
`financeops import --mapping FILE` forces one. A mapping with a `match` section is chosen by content for files
that no other format claims. Keys (every key is checked: an unknown key or a bad value is an error naming the
mapping file, its line and the key):

```yaml
name: my-bank                  # default: the file name without .yaml
match:                         # how a file is recognised (all given must hold)
  header: [Date, Label, Debit, Credit]   # the header row's cells, in order (extra cells after them allowed)
  contains: "Bank code :"      # text in the first 64 KB
encoding: utf-8                # any Python codec (cp1252, latin-1, ...); a BOM is dropped
delimiter: ","                 # one character; default ','
skip_lines: 4                  # lines before the header row (default: the first line that is match.header,
                               #   else 0)
date_format: "%d/%m/%y"        # strptime format of date and value_date (default ISO 8601 %Y-%m-%d)
decimal: ","                   # decimal mark (default '.')
thousands: "."                 # thousands separator ('' for none; default: the other mark)
columns:                       # header names of the table
  date: Date                   # required: booking date
  amount: Amount               # a signed amount, or
  debit: Debit                 #   debit and credit columns (a debit cell is money out whatever its sign)
  credit: Credit
  value_date: Value date
  reference: Operation Number  # the bank's reference (acct_svcr_ref); unique per account keeps posting exact
  end_to_end_id: E2E
  text: [Label, Detail]        # remittance text: one column or several, joined by ' '
  counterparty: Payee
  bank_tx_code: Type
  currency: Currency           # a currency column, else `currency` below
  account_id: IBAN             # an account column, else `account_id` below
currency: EUR                  # the account's currency, or {pattern: 'regex with one group'} over the
account_id: "0808"             #   lines outside the table; the same for account_id
opening_balance: {pattern: 'Balance at start of period,+"?([-+0-9.,]+)'}   # optional, as the file writes it
closing_balance: {pattern: 'Balance at end of period,+"?([-+0-9.,]+)'}
ignore_rows: ['^Balance at']   # regexes: matching table lines are not records (footers, sub-totals)
```

A table line that is blank, or whose date cell is empty and every other mapped cell too, is skipped; any
other line that cannot be read is a quarantined record naming its line and column. Balances are dated with the
first and last entry dates; a file without stated balances loads its entries with null balances.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from financeops_pipeline.errors import FieldError, FileRejected
from financeops_pipeline.imports import csvutil
from financeops_pipeline.imports.records import ParsedFile, statement_record
from financeops_pipeline.money import MoneyError, normalize_currency

FORMAT = "bankcsv"
SHIPPED_DIR = Path(__file__).with_name("bank_mappings")
TENANT_DIR = "bank_mappings"   # <data_dir>/<tenant>/bank_mappings/*.yaml

TOP_KEYS = {"name", "match", "encoding", "delimiter", "skip_lines", "date_format", "decimal", "thousands",
            "columns", "currency", "account_id", "opening_balance", "closing_balance", "ignore_rows"}
MATCH_KEYS = {"header", "contains"}
COLUMN_KEYS = {"date", "amount", "debit", "credit", "value_date", "reference", "end_to_end_id", "text",
               "counterparty", "bank_tx_code", "currency", "account_id"}


@dataclass
class BankMapping:
    """A validated mapping (see the module doc)."""

    name: str
    path: str
    columns: dict[str, list[str]]
    match_header: list[str] | None = None
    match_contains: str | None = None
    encoding: str = "utf-8"
    delimiter: str = ","
    skip_lines: int | None = None
    date_format: str = "%Y-%m-%d"
    decimal: str = "."
    thousands: str = ","
    currency: str | re.Pattern[str] | None = None
    account_id: str | re.Pattern[str] | None = None
    opening_balance: re.Pattern[str] | None = None
    closing_balance: re.Pattern[str] | None = None
    ignore_rows: list[re.Pattern[str]] = field(default_factory=list)

    def matches(self, data: bytes) -> bool:
        """Whether `data` looks like this mapping's files (only mappings with a `match` section say yes)."""
        if self.match_header is None and self.match_contains is None:
            return False
        try:
            text = bytes(data[:65536]).decode(self.encoding, errors="replace").lstrip("\ufeff")
        except LookupError:
            return False
        if self.match_contains is not None and self.match_contains not in text:
            return False
        return self.match_header is None or self._header_line(text.splitlines()) is not None

    def _header_line(self, lines: list[str]) -> int | None:
        """0-based index of the header row among `lines`."""
        if self.skip_lines is not None:
            return self.skip_lines if self.skip_lines < len(lines) else None
        if self.match_header is None:
            return 0
        want = [csvutil.header_key(c) for c in self.match_header]
        for i, line in enumerate(lines[:200]):
            cells = next(csv.reader([line], delimiter=self.delimiter), [])
            if [csvutil.header_key(c) for c in cells[:len(want)]] == want:
                return i
        return None


class _Located:
    """Line numbers of a YAML document's keys, so errors can name them."""

    def __init__(self, node: yaml.Node | None) -> None:
        self.lines: dict[tuple[str, ...], int] = {}
        if node is not None:
            self._walk(node, ())

    def _walk(self, node: yaml.Node, path: tuple[str, ...]) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                name = (*path, str(key.value))
                self.lines[name] = key.start_mark.line + 1
                self._walk(value, name)

    def line(self, *path: str) -> int:
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path, 1)


def load_mapping(path: Path | str) -> BankMapping:
    """Read and check a mapping file; FileRejected naming the file, line and key for anything wrong."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FileRejected(str(path), f"cannot read the mapping: {exc}") from None
    return parse_mapping(text, str(path), path.stem)


def parse_mapping(text: str, source: str, default_name: str = "mapping") -> BankMapping:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise FileRejected(source, f"bad YAML: {getattr(exc, 'problem', None) or exc}",
                           position=f"line {mark.line + 1}" if mark else "file") from None
    where = _Located(node)

    def fail(message: str, *key: str) -> FileRejected:
        return FileRejected(source, message, position=f"line {where.line(*key)}", field=".".join(key) or "-")

    if not isinstance(raw, dict):
        raise fail("a mapping is a YAML object of keys (name, columns, ...)")
    for key in raw:
        if key not in TOP_KEYS:
            raise fail(f"unknown key {key!r} (expected one of {', '.join(sorted(TOP_KEYS))})", str(key))

    def text_of(key: str, value: Any, *path: str) -> str:
        if not isinstance(value, str | int) or isinstance(value, bool):
            raise fail(f"{key} must be text", *path)
        return str(value)

    def regex(value: Any, *path: str) -> re.Pattern[str]:
        pattern = value.get("pattern") if isinstance(value, dict) and set(value) == {"pattern"} else None
        if not isinstance(pattern, str):
            raise fail("expected {pattern: 'regex with one group'}", *path)
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            raise fail(f"bad regex {pattern!r}: {exc}", *path, "pattern") from None
        if compiled.groups != 1:
            raise fail(f"the pattern {pattern!r} must have exactly one (group)", *path, "pattern")
        return compiled

    columns_raw = raw.get("columns")
    if not isinstance(columns_raw, dict):
        raise fail("'columns' is required: an object such as {date: Date, amount: Amount}", "columns")
    columns: dict[str, list[str]] = {}
    for key, value in columns_raw.items():
        if key not in COLUMN_KEYS:
            raise fail(f"unknown column key {key!r} (expected one of {', '.join(sorted(COLUMN_KEYS))})",
                       "columns", str(key))
        if value is None:
            continue
        names = value if isinstance(value, list) and key == "text" else [value]
        if not names or not all(isinstance(n, str | int) and not isinstance(n, bool) for n in names):
            raise fail("expected a header name" + (" or a list of them" if key == "text" else ""), "columns", key)
        columns[key] = [str(n) for n in names]
    if "date" not in columns:
        raise fail("columns.date is required", "columns")
    if "amount" in columns and ({"debit", "credit"} & set(columns)):
        raise fail("give either columns.amount or columns.debit/credit, not both", "columns", "amount")
    if "amount" not in columns and not ({"debit", "credit"} <= set(columns)):
        raise fail("columns.amount, or both columns.debit and columns.credit, are required", "columns")

    m = BankMapping(name=text_of("name", raw.get("name", default_name), "name"), path=source, columns=columns)
    match = raw.get("match")
    if match is not None:
        if not isinstance(match, dict) or not match or set(match) - MATCH_KEYS:
            bad = sorted(set(match) - MATCH_KEYS) if isinstance(match, dict) else []
            raise fail(f"match takes {', '.join(sorted(MATCH_KEYS))}" + (f", not {bad[0]!r}" if bad else ""),
                       "match", *(bad[:1]))
        if "header" in match:
            header = match["header"]
            if not isinstance(header, list) or not header or not all(isinstance(h, str) for h in header):
                raise fail("match.header is the list of the header row's cells", "match", "header")
            m.match_header = header
        if "contains" in match:
            m.match_contains = text_of("match.contains", match["contains"], "match", "contains")
    if "encoding" in raw:
        m.encoding = text_of("encoding", raw["encoding"], "encoding")
        try:
            codecs.lookup(m.encoding)
        except LookupError:
            raise fail(f"unknown encoding {m.encoding!r}", "encoding") from None
    if "delimiter" in raw:
        m.delimiter = text_of("delimiter", raw["delimiter"], "delimiter")
        if m.delimiter == "\\t":
            m.delimiter = "\t"
        if len(m.delimiter) != 1:
            raise fail("delimiter is one character (',' ';' '\\t' '|')", "delimiter")
    if "skip_lines" in raw:
        if not isinstance(raw["skip_lines"], int) or isinstance(raw["skip_lines"], bool) or raw["skip_lines"] < 0:
            raise fail("skip_lines is a whole number >= 0", "skip_lines")
        m.skip_lines = raw["skip_lines"]
    if "date_format" in raw:
        m.date_format = text_of("date_format", raw["date_format"], "date_format")
        if "%" not in m.date_format:
            raise fail(f"date_format {m.date_format!r} is a strptime format such as '%d/%m/%Y'", "date_format")
    if "decimal" in raw:
        m.decimal = text_of("decimal", raw["decimal"], "decimal")
        if m.decimal not in (".", ","):
            raise fail("decimal is '.' or ','", "decimal")
        m.thousands = "." if m.decimal == "," else ","
    if "thousands" in raw:
        m.thousands = "" if raw["thousands"] is None else text_of("thousands", raw["thousands"], "thousands")
        if m.thousands not in ("", ".", ",", " ", "'") or m.thousands == m.decimal:
            raise fail("thousands is '', '.', ',', ' ' or \"'\" and not the decimal mark", "thousands")
    for key in ("currency", "account_id"):
        value = raw.get(key)
        if value is None:
            if key not in columns:
                raise fail(f"give {key} (fixed, or {{pattern: ...}}) or columns.{key}", key)
            continue
        setattr(m, key, regex(value, key) if isinstance(value, dict) else text_of(key, value, key))
    if isinstance(m.currency, str):
        try:
            m.currency = normalize_currency(m.currency)
        except MoneyError as exc:
            raise fail(str(exc), "currency") from None
    for key in ("opening_balance", "closing_balance"):
        if raw.get(key) is not None:
            setattr(m, key, regex(raw[key], key))
    ignore = raw.get("ignore_rows") or []
    if not isinstance(ignore, list) or not all(isinstance(p, str) for p in ignore):
        raise fail("ignore_rows is a list of regexes", "ignore_rows")
    for n, pattern in enumerate(ignore):
        try:
            m.ignore_rows.append(re.compile(pattern))
        except re.error as exc:
            raise fail(f"bad regex {pattern!r} (item {n + 1}): {exc}", "ignore_rows") from None
    return m


def mappings_in(folder: Path) -> list[BankMapping]:
    """The mappings of a folder, in name order (a bad one is an error: it names the file)."""
    if not folder.is_dir():
        return []
    return [load_mapping(p) for p in sorted(folder.glob("*.y*ml"))]


def shipped_mappings() -> list[BankMapping]:
    return mappings_in(SHIPPED_DIR)


def tenant_mappings(data_dir: Path, tenant: str) -> list[BankMapping]:
    """The tenant's own mappings first, then the shipped ones."""
    return mappings_in(data_dir / tenant / TENANT_DIR) + shipped_mappings()


# ------------------------------------------------------------------------------------------------ parse
def parse(data: bytes, filename: str, mapping: BankMapping) -> ParsedFile:
    """Parse a bank CSV with `mapping`: canonical bank lines, statements, and a RecordError per bad line."""
    if not isinstance(data, (bytes, bytearray, memoryview)) or not bytes(data).strip():
        raise FileRejected(filename, "empty file")
    try:
        text = bytes(data).decode(mapping.encoding).lstrip("\ufeff")
    except UnicodeDecodeError as exc:
        raise FileRejected(filename, f"not valid {mapping.encoding} (mapping {mapping.name}): byte "
                           f"0x{data[exc.start]:02x} at byte offset {exc.start}",
                           position=f"byte {exc.start}") from None
    lines = text.splitlines()
    start = mapping._header_line(lines)
    if start is None:
        raise FileRejected(filename, f"no header row {mapping.match_header!r} (mapping {mapping.name})",
                           position="line 1")
    reader = csv.reader(io.StringIO("\n".join(lines[start:]), newline=""), delimiter=mapping.delimiter)
    try:
        header = [h.strip() for h in next(reader)]
    except (StopIteration, csv.Error) as exc:
        raise FileRejected(filename, f"unreadable header row: {exc}", position=f"line {start + 1}") from None
    found = csvutil.find_columns(header, {f"{k}:{i}": (n,) for k, names in mapping.columns.items()
                                          for i, n in enumerate(names)})
    missing = [n for k, names in mapping.columns.items() for i, n in enumerate(names) if f"{k}:{i}" not in found]
    if missing:
        raise FileRejected(filename, f"the header row lacks column(s) {', '.join(map(repr, missing))} of mapping "
                           f"{mapping.name}", position=f"line {start + 1}", field=missing[0])
    ix = {k: [header.index(found[f"{k}:{i}"]) for i in range(len(names))] for k, names in mapping.columns.items()}
    outside = lines[:start]   # preamble and, below, the lines after the table: where fixed facts are written
    result = ParsedFile(format=FORMAT, source="bank", mapping=mapping.name)
    amount_reader = csvutil.amount_reader()
    line_no = start + 1
    mapped = sorted({i for v in ix.values() for i in v})

    def cell(r: list[str], key: str) -> str:
        return " ".join(r[i].strip() for i in ix.get(key, []) if i < len(r) and r[i].strip())

    def money(text_: str, currency: str, exp: int, name: str) -> int:
        return amount_reader(csvutil.plain_amount(text_, mapping.decimal, mapping.thousands), exp, currency, name)

    def fixed(value: str | re.Pattern[str] | None, what: str) -> str | None:
        if isinstance(value, re.Pattern):
            for line in outside:
                hit = value.search(line)
                if hit:
                    return hit.group(1).strip()
            return None
        return value

    records: list[tuple[int, str, list[str]]] = []
    while True:
        try:
            r = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise FileRejected(filename, f"unreadable CSV: {exc}", position=f"line {line_no + 1}") from None
        first, line_no = line_no + 1, start + reader.line_num
        raw = "\n".join(lines[first - 1:line_no])
        if any(p.search(raw) for p in mapping.ignore_rows) or not any(c.strip() for c in r):
            outside.append(raw)
            continue
        if not cell(r, "date") and not any(r[i].strip() for i in mapped if i < len(r)):
            outside.append(raw)
            continue
        records.append((first, raw, r))
    account_fixed = fixed(mapping.account_id, "account_id")
    currency_fixed = fixed(mapping.currency, "currency")
    per_statement: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for first, raw, r in records:
        try:
            row = _row(r, cell, money, mapping, account_fixed, currency_fixed, first)
        except Exception as exc:  # noqa: BLE001 - one bad record must not lose the others
            result.errors.append(csvutil.record_error(filename, f"line {first}", exc, raw))
            continue
        result.rows.append(row)
        per_statement.setdefault((row["account_id"], row["currency"]), []).append(row)
    if not result.rows and not result.errors:
        raise FileRejected(filename, f"holds no statement line (mapping {mapping.name})", position=f"line {start + 1}")
    for n, ((account, currency), rows) in enumerate(per_statement.items(), 1):
        dates = sorted(r["booking_date"] for r in rows)
        exp = csvutil.currency_of(currency, "currency")[1]
        opening = closing = None
        balance_errors = []
        for key, pattern in (("opening_balance", mapping.opening_balance),
                             ("closing_balance", mapping.closing_balance)):
            found_text = fixed(pattern, key) if pattern is not None and len(per_statement) == 1 else None
            if found_text is None:
                continue
            try:
                value = money(found_text, currency, exp, key)
            except FieldError as exc:
                balance_errors.append(exc)
                continue
            if key == "opening_balance":
                opening = value
            else:
                closing = value
        for exc in balance_errors:
            result.errors.append(csvutil.record_error(filename, "balances", exc, ""))
        statement_id = f"{dates[0]}..{dates[-1]}"
        for row in rows:
            row["statement_id"] = statement_id
        result.statements.append(statement_record(
            statement_id, account, currency, (dates[0], opening), (dates[-1], closing), len(rows),
            sum(r["amount_minor"] for r in rows), f"statement {n}"))
    return result


def _row(r: list[str], cell: Any, money: Any, mapping: BankMapping, account_fixed: str | None,
         currency_fixed: str | None, line: int) -> dict[str, Any]:
    account = cell(r, "account_id") or account_fixed
    if not account:
        raise FieldError("account_id", "no account id (neither a column value nor found by the mapping's pattern)")
    currency_text = cell(r, "currency") or currency_fixed or ""
    currency, exp = csvutil.currency_of(currency_text, "currency")
    if "amount" in mapping.columns:
        text = cell(r, "amount")
        if not text:
            raise FieldError(mapping.columns["amount"][0], "empty amount")
        amount = money(text, currency, exp, mapping.columns["amount"][0])
    else:
        debit_text, credit_text = cell(r, "debit"), cell(r, "credit")
        if not debit_text and not credit_text:
            raise FieldError(mapping.columns["debit"][0], "neither a debit nor a credit amount")
        debit = abs(money(debit_text, currency, exp, mapping.columns["debit"][0])) if debit_text else 0
        credit = money(credit_text, currency, exp, mapping.columns["credit"][0]) if credit_text else 0
        amount = credit - debit
    return {
        "statement_id": None, "account_id": account, "currency": currency,
        "booking_date": _date(cell(r, "date"), mapping.date_format, mapping.columns["date"][0]),
        "value_date": _date(cell(r, "value_date"), mapping.date_format, "value_date") if cell(r, "value_date")
        else None,
        "amount_minor": amount, "is_reversal": False, "bank_tx_code": cell(r, "bank_tx_code") or None,
        "end_to_end_id": cell(r, "end_to_end_id") or None, "acct_svcr_ref": cell(r, "reference") or None,
        "instr_id": None, "remittance_info": cell(r, "text") or None,
        "counterparty_name": cell(r, "counterparty") or None, "source_position": f"line {line}",
    }


def _date(text: str, fmt: str, name: str) -> date:
    try:
        return datetime.strptime(text.strip(), fmt).date()
    except ValueError:
        raise FieldError(name, f"date {text!r} does not match the mapping's date_format {fmt!r}") from None


def choose(data: bytes, mappings: list[BankMapping] | tuple[BankMapping, ...]) -> BankMapping | None:
    """The first mapping whose `match` fits `data`."""
    return next((m for m in mappings if m.matches(data)), None)


