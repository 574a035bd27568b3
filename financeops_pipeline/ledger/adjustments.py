"""Adjusting entries: differences that a matching rule accepted or a person approved, posted through the rules.

One interface for every adjustment, whatever decided it (a tolerance or FX rule of the reconciliation, a
write-off approved in the workbench): the caller names a posting rule of `posting_rules.yaml` and fills its
account templates; the rule gives the legs, so an adjustment balances by construction, and the ledger refuses
one that does not. Each adjustment has its own idempotency key, so posting it again posts nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field

import psycopg
import pyarrow as pa

from financeops_pipeline.ledger.posting import ID_SPAN, UNDATED, key_slice, lock_tenant, write_batch
from financeops_pipeline.ledger.rules import RuleBook, describe_account, load_rules
from financeops_pipeline.money import normalize_currency


@dataclass(frozen=True)
class Adjustment:
    """One adjusting entry to post.

    `amount_minor` is signed: > 0 moves it along the rule's legs as written (debit leg debited), < 0 the other
    way. `accounts` fills the rule's account templates (e.g. {"adjust_account": "bank_fees",
    "counter_account": "cash_in_transit:stripe"}). `audit` is what decided it (matching rule id and version,
    proposal and approval ids, users): it is kept with the entry for the auditor.
    """

    idempotency_key: str          # unique per tenant, e.g. "recon:tolerance:<match group>"
    rule_id: str                  # a rule of posting_rules.yaml, e.g. "recon_adjustment"
    business_date: dt.date        # the day it is booked on (an open day)
    currency: str
    amount_minor: int
    accounts: Mapping[str, str]
    description: str
    source_kind: str              # recon | workbench
    source_ref: str               # match group, break id
    audit: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class AdjustmentResult:
    posted: int                   # entries posted now
    already_posted: int           # keys that were posted before (nothing posted again)


def legs_of(adjustment: Adjustment, book: RuleBook | None = None) -> list[tuple[str, int]]:
    """The adjustment's postings as (account code, signed amount: debit > 0), from its posting rule."""
    book = book or load_rules()
    try:
        rule = book.rules[adjustment.rule_id]
    except KeyError:
        raise ValueError(f"adjustment {adjustment.idempotency_key}: no posting rule {adjustment.rule_id!r}") from None
    if not isinstance(adjustment.amount_minor, int) or isinstance(adjustment.amount_minor, bool):
        raise TypeError(f"adjustment {adjustment.idempotency_key}: amount_minor must be an int of minor units")
    legs = []
    for leg in rule.legs:
        try:
            account = leg.account.format_map(dict(adjustment.accounts))
        except KeyError as exc:
            raise ValueError(f"adjustment {adjustment.idempotency_key}: rule {rule.rule_id} needs account "
                             f"{exc.args[0]!r}") from None
        describe_account(account)   # refuses an account that is not in the chart of accounts
        legs.append((account, leg.sign * adjustment.amount_minor))
    return legs


def post_adjustments(conn: psycopg.Connection, tenant: str, adjustments: Iterable[Adjustment],
                     run_id: str) -> AdjustmentResult:
    """Post adjustments as balanced entries on a tenant connection; keys already posted are skipped.

    Runs in the caller's transaction when one is open (so that an approval and its entry commit together),
    else in a transaction of its own. Zero amounts post nothing. The entries go through the transfer layout like
    a day's posting: one batch (a fresh partition of ledger.transfers) per business date, keys in
    ledger.entry_keys under the key date of keys without a date of their own (posting.UNDATED).
    """
    book = load_rules()
    todo: dict[str, Adjustment] = {}
    for adjustment in adjustments:
        if adjustment.amount_minor != 0:
            todo.setdefault(adjustment.idempotency_key, adjustment)
    idle = conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    posted = 0
    with conn.transaction() if idle else nullcontext():
        lock_tenant(conn, tenant)
        done = {r[0] for r in conn.execute(
            "SELECT idempotency_key FROM ledger.entry_keys WHERE tenant = %s AND key_date = %s"
            " AND idempotency_key = ANY (%s)", (tenant, UNDATED, list(todo))).fetchall()} if todo else set()
        by_day: dict[dt.date, list[Adjustment]] = {}
        for adjustment in todo.values():
            if adjustment.idempotency_key not in done:
                by_day.setdefault(adjustment.business_date, []).append(adjustment)
        for day, batch in sorted(by_day.items()):
            batch_id = conn.execute("SELECT nextval('ledger.batch_id_seq')").fetchone()[0]
            transfers, keys, notes = _batch_rows(tenant, day, batch_id, batch, book)
            write_batch(conn, tenant, day, batch_id, "adjustments", transfers, keys, run_id, book.version)
            # after the batch's row (their foreign key): what decided each adjustment, for the auditor
            conn.cursor().executemany("INSERT INTO ledger.entry_notes (entry_id, batch_id, tenant, business_date,"
                                      " description) VALUES (%s, %s, %s, %s, %s)", notes)
            posted += len(batch)
    return AdjustmentResult(posted=posted, already_posted=len(todo) - posted)


def _batch_rows(tenant: str, day: dt.date, batch_id: int, batch: list[Adjustment],
                book: RuleBook) -> tuple[pa.Table, pa.Table, list[tuple[object, ...]]]:
    """The batch's ledger.transfers rows (its rule's transfers, accounts filled, a negative amount flipped), its
    ledger.entry_keys rows and its ledger.entry_notes rows (the description, with the audit, of each entry)."""
    rows: list[dict[str, object]] = []
    keys: list[dict[str, object]] = []
    notes: list[tuple[object, ...]] = []
    for n, adjustment in enumerate(batch, start=1):
        legs_of(adjustment, book)   # validates the rule, the amount and every account
        entry_id = batch_id * ID_SPAN + n
        currency = normalize_currency(adjustment.currency)
        description = adjustment.description
        if adjustment.audit:
            description += " " + json.dumps(dict(adjustment.audit), sort_keys=True, default=str)
        notes.append((entry_id, batch_id, tenant, day, description))
        accounts = dict(adjustment.accounts)
        for leg_no, transfer in enumerate(book.rules[adjustment.rule_id].transfers, start=1):
            debit, credit = transfer.debit.format_map(accounts), transfer.credit.format_map(accounts)
            flipped = adjustment.amount_minor < 0
            rows.append({
                "entry_id": entry_id, "leg_no": leg_no,
                "tenant": tenant, "business_date": day, "batch_id": batch_id,
                "debit_account": credit if flipped else debit, "credit_account": debit if flipped else credit,
                "amount_minor": abs(adjustment.amount_minor), "currency": currency, "flipped": flipped,
                "idempotency_key": adjustment.idempotency_key, "key_date": UNDATED, "rule_id": adjustment.rule_id,
                "source_kind": adjustment.source_kind, "source_ref": adjustment.source_ref,
            })
        keys.append({"tenant": tenant, "key_date": UNDATED, "key_slice": key_slice(adjustment.idempotency_key),
                     "idempotency_key": adjustment.idempotency_key, "entry_id": entry_id})
    return (pa.Table.from_pylist(rows, schema=TRANSFER_SCHEMA), pa.Table.from_pylist(keys, schema=KEY_SCHEMA),
            notes)


TRANSFER_SCHEMA = pa.schema([
    ("entry_id", pa.int64()), ("leg_no", pa.int16()), ("tenant", pa.string()),
    ("business_date", pa.date32()), ("batch_id", pa.int64()), ("debit_account", pa.string()),
    ("credit_account", pa.string()), ("amount_minor", pa.int64()), ("currency", pa.string()),
    ("flipped", pa.bool_()), ("idempotency_key", pa.string()), ("key_date", pa.date32()), ("rule_id", pa.string()),
    ("source_kind", pa.string()), ("source_ref", pa.string()),
])
KEY_SCHEMA = pa.schema([("tenant", pa.string()), ("key_date", pa.date32()), ("key_slice", pa.int16()),
                        ("idempotency_key", pa.string()), ("entry_id", pa.int64())])
