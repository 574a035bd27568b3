"""Canonical, exact schemas that every parser produces, one per source.

Parsers return plain Python rows (dicts keyed by these column names); `to_table` turns them into
Arrow with exactly these types so they can be COPYed into Postgres in binary form.
Amounts are int64 minor units, signed from the company's point of view (money in > 0).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from financeops_pipeline.errors import RecordError

# Every processor the pipeline reads: the internal export's `processor` column, the quality suites and the
# posting rules' {processor} all take their values from here.
PROCESSORS = ("stripe", "adyen", "paypal")
# An exchange rate is exact decimal text in the files and NUMERIC in Postgres; 18 decimals hold any real rate
# (a rate with more is refused, never rounded).
EXCHANGE_RATE_TYPE = pa.decimal128(38, 18)

# Position of the record in its file ("line 12", "Stmt[1]/Ntry[3]/TxDtls[2]") and the file's hash are
# added by the loader, not by parsers: parsers only set `source_position`.
BANK_LINE_SCHEMA = pa.schema([
    ("statement_id", pa.string()),      # statement identifier as given by the bank
    ("account_id", pa.string()),        # IBAN or bank account number
    ("currency", pa.string()),
    ("booking_date", pa.date32()),
    ("value_date", pa.date32()),        # may be null
    ("amount_minor", pa.int64()),       # signed: credit > 0, debit < 0
    ("is_reversal", pa.bool_()),
    ("bank_tx_code", pa.string()),      # BAI2 type code, camt BkTxCd, MT940 transaction type
    ("end_to_end_id", pa.string()),
    ("acct_svcr_ref", pa.string()),     # bank's own reference (camt AcctSvcrRef, BAI2 bank ref, MT940 bank ref)
    ("instr_id", pa.string()),          # camt InstrId, BAI2 customer ref, MT940 customer ref
    ("remittance_info", pa.string()),   # Ustrd / Strd / 88 continuation / :86: text
    ("counterparty_name", pa.string()),
    ("source_position", pa.string()),
    # Only booked lines are money that moved (posting, cash, balances read `booked`). camt.052 intraday and
    # camt.054 notification lines, and entries whose status is not booked, are loaded with booked = false.
    ("booked", pa.bool_()),
    ("report_kind", pa.string()),       # statement | intraday | notification (REPORT_KINDS)
    ("entry_status", pa.string()),      # camt Sts as given (BOOK, PDNG, INFO, FUTR); null where the format has none
])

BANK_STATEMENT_SCHEMA = pa.schema([
    ("statement_id", pa.string()),
    ("account_id", pa.string()),
    ("currency", pa.string()),
    ("opening_date", pa.date32()),
    ("opening_balance_minor", pa.int64()),   # signed, OPBD / 60F / BAI2 type 010
    ("closing_date", pa.date32()),
    ("closing_balance_minor", pa.int64()),   # signed, CLBD / 62F / BAI2 type 015
    ("entry_count", pa.int64()),
    ("entries_total_minor", pa.int64()),     # sum of this statement's booked lines as parsed
    ("source_position", pa.string()),
    ("booked", pa.bool_()),                  # a booked statement (false: camt.052 / camt.054 balances)
    ("report_kind", pa.string()),
    ("opening_type", pa.string()),           # balance code as given: OPBD, PRCD, ITBD, 60F, 60M, 010...
    ("closing_type", pa.string()),           # CLBD, ITBD, 62F, 62M, 015...
    ("opening_derived", pa.bool_()),         # not given: closing - entries
    ("closing_derived", pa.bool_()),         # not given: opening + entries
    ("available_type", pa.string()),         # closing available balance when given: CLAV, 64, 045
    ("available_date", pa.date32()),         # OFX AVAILBAL, camt CLAV, :64: (0030 / 0035)
    ("available_balance_minor", pa.int64()),
])

REPORT_KINDS = ("statement", "intraday", "notification")
# Columns a parser may leave out of its rows: to_table fills these values (null stays null for the others).
COLUMN_DEFAULTS: dict[str, Any] = {"booked": True, "report_kind": "statement", "opening_derived": False,
                                   "closing_derived": False}
_INT64_MAX = 2**63 - 1

PROCESSOR_LINE_SCHEMA = pa.schema([
    ("processor", pa.string()),          # one of PROCESSORS
    ("line_id", pa.string()),            # Stripe balance_transaction_id; Adyen '<Psp Reference>:<Type>:<line>'
    ("category", pa.string()),           # charge | refund | dispute | fee | payout | adjustment | other
    ("processor_type", pa.string()),     # the processor's own value (reporting_category, Adyen Type)
    ("reference", pa.string()),          # charge id / PSP reference the internal record points at
    ("merchant_reference", pa.string()),
    ("created_at", pa.timestamp("us", tz="UTC")),
    ("available_on", pa.date32()),
    ("currency", pa.string()),
    ("gross_minor", pa.int64()),         # signed: charge > 0, refund/dispute < 0
    ("fee_minor", pa.int64()),           # fee charged by the processor, >= 0 is a cost
    ("net_minor", pa.int64()),           # gross - fee
    ("payout_id", pa.string()),          # Stripe automatic_payout_id; Adyen '<merchant account>:<Batch Number>'
    ("payout_date", pa.date32()),
    ("extra", pa.string()),              # JSON object of columns we do not model, kept verbatim
    ("source_position", pa.string()),
    # FX (migration 0035): the gross in the currency the customer paid, when that is not `currency` or the
    # processor's rate is not 1 (null otherwise), and the processor's own rate exactly as written.
    ("gross_currency", pa.string()),
    ("gross_gc_minor", pa.int64()),
    ("exchange_rate", EXCHANGE_RATE_TYPE),
])

INTERNAL_TRANSACTION_SCHEMA = pa.schema([
    ("transaction_id", pa.string()),
    ("created_at", pa.timestamp("us", tz="UTC")),
    ("type", pa.string()),               # payment | refund | chargeback
    ("amount_minor", pa.int64()),        # positive as exported
    ("currency", pa.string()),
    ("processor", pa.string()),          # one of PROCESSORS
    ("processor_reference", pa.string()),
    ("customer_id", pa.string()),
    ("description", pa.string()),
    ("source_position", pa.string()),
])


@dataclass
class ParsedFile:
    """What a parser read from one file: canonical rows, statement balances (bank only), record errors."""

    format: str                       # detect.FORMAT_NAMES, or bankcsv
    source: str                       # bank | processor | internal
    rows: list[dict[str, Any]] = field(default_factory=list)
    statements: list[dict[str, Any]] = field(default_factory=list)
    errors: list[RecordError] = field(default_factory=list)
    table: pa.Table | None = None     # parsers may hand back Arrow directly instead of rows (fast CSV paths)
    encoding: str | None = None       # text encoding the file was decoded with (utf-8, iso-8859-1, cp1252...)
    mapping: str | None = None        # the bank-CSV mapping the file was read with (imports.files.mapping)

    def records(self) -> list[dict[str, Any]]:
        """The canonical records as dicts, whichever way the parser returned them."""
        return self.table.to_pylist() if self.table is not None else self.rows

    def to_arrow(self) -> pa.Table:
        """The canonical records as Arrow with the source's exact schema."""
        return self.table if self.table is not None else to_table(self.rows, SCHEMAS[self.source])

    def take_arrow(self) -> pa.Table:
        """`to_arrow`, the records then let go of here: the caller's table is their only reference (the loader
        drops it as soon as the rows are COPYed and written)."""
        table = self.to_arrow()
        self.table, self.rows = None, []
        return table


SCHEMAS: dict[str, pa.Schema] = {
    "bank": BANK_LINE_SCHEMA,
    "processor": PROCESSOR_LINE_SCHEMA,
    "internal": INTERNAL_TRANSACTION_SCHEMA,
}


def statement_record(statement_id: str | None, account_id: str, currency: str,
                     opening: tuple[date | None, int | None], closing: tuple[date | None, int | None],
                     entry_count: int, entries_total_minor: int, position: str,
                     available: tuple[date | None, int | None] = (None, None), *,
                     opening_type: str | None = None, closing_type: str | None = None,
                     available_type: str | None = None, report_kind: str = "statement",
                     derive: bool = True) -> dict[str, Any]:
    """One BANK_STATEMENT_SCHEMA row: balances as (date, minor units), the entries' count and exact total.

    A missing balance is derived from the other one and the entries when `derive` (and marked so): the closing
    as opening + entries, the opening as closing - entries. The date of a derived balance is the one given with
    it (a parser passes the statement's own date there, e.g. its last booking date), else the other balance's.
    `available` is the available balance (date, minor units) where the format gives one (OFX AVAILBAL, camt
    CLAV, MT940 :64:, BAI2 045), `available_type` its code.
    """
    opening_derived = closing_derived = False
    if derive and opening[1] is not None and closing[1] is None:
        derived = opening[1] + entries_total_minor
        if abs(derived) <= _INT64_MAX:
            closing, closing_derived, closing_type = (closing[0] or opening[0], derived), True, None
    elif derive and closing[1] is not None and opening[1] is None:
        derived = closing[1] - entries_total_minor
        if abs(derived) <= _INT64_MAX:
            opening, opening_derived, opening_type = (opening[0] or closing[0], derived), True, None
    return {
        "statement_id": statement_id,
        "account_id": account_id,
        "currency": currency,
        "opening_date": opening[0],
        "opening_balance_minor": opening[1],
        "closing_date": closing[0],
        "closing_balance_minor": closing[1],
        "entry_count": entry_count,
        "entries_total_minor": entries_total_minor,
        "source_position": position,
        "booked": report_kind == "statement",
        "report_kind": report_kind,
        "opening_type": opening_type if opening[1] is not None else None,
        "closing_type": closing_type if closing[1] is not None else None,
        "opening_derived": opening_derived,
        "closing_derived": closing_derived,
        "available_type": available_type if available[1] is not None else None,
        "available_date": available[0],
        "available_balance_minor": available[1],
    }


def to_table(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    """Rows to an Arrow table with exactly `schema`: missing keys become null, or their COLUMN_DEFAULTS value."""
    table = pa.Table.from_pylist(rows, schema=schema)
    for name, value in COLUMN_DEFAULTS.items():
        index = schema.get_field_index(name)
        if index >= 0 and table.column(index).null_count:
            table = table.set_column(index, schema.field(index),
                                     pc.fill_null(table.column(index), pa.scalar(value, schema.field(index).type)))
    return table
