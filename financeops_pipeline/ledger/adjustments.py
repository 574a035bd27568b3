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

from financeops_pipeline.audit import code_version
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
    else in a transaction of its own. Zero amounts post nothing. (The entries-and-postings layout refuses
    postings made inside a savepoint: call it in a top-level transaction.)
    """
    book = load_rules()
    todo = [a for a in adjustments if a.amount_minor != 0]
    posted = 0
    idle = conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    with conn.transaction() if idle else nullcontext():
        for adjustment in todo:
            legs = legs_of(adjustment, book)
            currency = normalize_currency(adjustment.currency)
            for account, _ in legs:
                meta = describe_account(account)
                conn.execute("INSERT INTO ledger.accounts (tenant, account_code, name, account_type, normal_balance)"
                             " VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                             (tenant, meta.code, meta.name, meta.type, meta.normal))
            description = adjustment.description
            if adjustment.audit:
                description += " " + json.dumps(dict(adjustment.audit), sort_keys=True, default=str)
            row = conn.execute(
                "WITH entry AS ("
                " INSERT INTO ledger.journal_entries (entry_id, tenant, idempotency_key, business_date, rule_id,"
                "  rule_version, description, source_kind, source_ref, run_id, code_version)"
                " VALUES (nextval('ledger.entry_id_seq'), %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (tenant, idempotency_key) DO NOTHING RETURNING entry_id, tenant, business_date)"
                " INSERT INTO ledger.postings (entry_id, line_no, tenant, business_date, account_code, currency,"
                "  amount_minor)"
                " SELECT entry.entry_id, leg.line_no, entry.tenant, entry.business_date, leg.account, %s, leg.amount"
                " FROM entry, unnest(%s::text[], %s::bigint[]) WITH ORDINALITY AS leg(account, amount, line_no)"
                " RETURNING entry_id",
                (tenant, adjustment.idempotency_key, adjustment.business_date, adjustment.rule_id, book.version,
                 description, adjustment.source_kind, adjustment.source_ref, run_id, code_version(),
                 currency, [a for a, _ in legs], [m for _, m in legs]),
            ).fetchone()
            posted += row is not None
    return AdjustmentResult(posted=posted, already_posted=len(todo) - posted)

