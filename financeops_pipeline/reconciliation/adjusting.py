"""The adjusting entries of a day's tolerance and FX matches, posted to the ledger through the posting rules.

The match (tolerance.sql, fx.sql) decides them and keeps them on the item that carries them
(`details.adjustments` of a matched item, stored in recon.item_status); this posts those of the day's matches
through ledger/adjustments.post_adjustments (posting rule `recon_adjustment`: the rule's account against its
counter account), each under its own idempotency key, so a re-run posts nothing twice. It runs after the day's
reconciliation and the day's own posting (the ledger/recon_adjustments asset), never beside them.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping

import psycopg

from financeops_pipeline.ledger.adjustments import Adjustment, AdjustmentResult, post_adjustments

POSTING_RULE = "recon_adjustment"


def adjustment_of(entry: Mapping[str, object], day: dt.date) -> Adjustment:
    """One entry of details.adjustments (or a row of ReconResult.adjustments) as the ledger's Adjustment."""
    return Adjustment(
        idempotency_key=str(entry["idempotency_key"]), rule_id=POSTING_RULE, business_date=day,
        currency=str(entry["currency"]), amount_minor=int(entry["amount_minor"]),  # type: ignore[call-overload]
        accounts={"adjust_account": str(entry["adjust_account"]), "counter_account": str(entry["counter_account"])},
        description=str(entry["description"]), source_kind="recon", source_ref=str(entry["match_group"]),
        audit={"matching_rule": entry["rule_id"], "matching_rule_version": entry["rule_version"],
               "match_group": entry["match_group"]})


def stored_adjustments(conn: psycopg.Connection, tenant: str, day: dt.date) -> list[Adjustment]:
    """The adjustments of the matches the stored results of the day made that day."""
    rows = conn.execute(
        "SELECT details -> 'adjustments' FROM recon.item_status WHERE tenant = %s AND business_date = %s"
        " AND status = 'matched' AND matched_on = business_date AND details ? 'adjustments'"
        " ORDER BY source, source_ref", (tenant, day)).fetchall()
    return [adjustment_of(e, day) for (entries,) in rows for e in _entries(entries)]


def _entries(value: object) -> Iterable[Mapping[str, object]]:
    return json.loads(value) if isinstance(value, str) else value  # type: ignore[return-value]


def post_day_adjustments(conn: psycopg.Connection, tenant: str, day: dt.date, run_id: str) -> AdjustmentResult:
    """Post the day's adjusting entries (those already posted are skipped), read and posted in one transaction."""
    with conn.transaction():
        return post_adjustments(conn, tenant, stored_adjustments(conn, tenant, day), run_id)
