"""What the pages and the CLI show: a tenant-day's open breaks with priority and filters, one break with its items
side by side, candidates and history, the approvals waiting for a person, the day's sign-off status; and the
sign-off itself (the day lock)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import psycopg

from financeops_pipeline.money import from_minor, to_minor
from financeops_pipeline.workbench.actions import LOOKBACK_DAYS, ActionRefused, Actor, Outcome, record_event, rows
from financeops_pipeline.workbench.config import WorkbenchConfig, load_config
from financeops_pipeline.workbench.daylock import day_locked
from financeops_pipeline.workbench.users import role_at_least


def _amount(amount_minor: int, currency: str) -> str:
    """Exact decimal text of minor units (the currency is shown beside it)."""
    return str(from_minor(int(amount_minor), currency.strip()))


FILTERS = ("break_type", "currency", "assignee", "priority", "state", "min_age", "max_age", "min_amount", "max_amount")


def _state(b: dict[str, Any]) -> str:
    if b["waiting_proposal"]:
        return "awaiting approval"
    return "reopened" if b["reopened"] else "open"


def open_breaks(conn: psycopg.Connection, tenant: str, day: dt.date, filters: dict[str, str] | None = None,
                config: WorkbenchConfig | None = None) -> dict[str, Any]:
    """The open breaks of the day, overdue first then by priority and age, filtered; with totals per currency."""
    config = config or load_config()
    filters = {k: v for k, v in (filters or {}).items() if k in FILTERS and v not in (None, "")}
    order = config.priority_names
    breaks = []
    for b in rows(conn, "day_breaks", tenant=tenant, day=day):
        b["currency"] = b["currency"].strip()
        prio = config.priority(b["amount_minor"], b["currency"], b["first_seen"], day)
        b.update(priority=prio.name, due=prio.due, overdue=prio.overdue, state=_state(b),
                 amount=_amount(b["amount_minor"], b["currency"]))
        breaks.append(b)
    shown = [b for b in breaks if _passes(b, filters)]
    shown.sort(key=lambda b: (not b["overdue"], order.index(b["priority"]), -b["age_days"], b["break_type"],
                              b["source_ref"]))
    totals: dict[str, dict[str, Any]] = {}
    for b in shown:
        t = totals.setdefault(b["currency"], {"currency": b["currency"], "count": 0, "amount_minor": 0})
        t["count"] += 1
        t["amount_minor"] += abs(b["amount_minor"])
    for t in totals.values():
        t["amount"] = _amount(t["amount_minor"], t["currency"])
    return {"breaks": shown, "totals": sorted(totals.values(), key=lambda t: t["currency"]), "all": len(breaks),
            "filters": filters, "options": {
                "break_type": sorted({b["break_type"] for b in breaks}),
                "currency": sorted({b["currency"] for b in breaks}),
                "assignee": sorted({b["assignee"] for b in breaks if b["assignee"]}),
                "priority": order, "state": ["open", "reopened", "awaiting approval"]}}


def critical_overdue(conn: psycopg.Connection, tenant: str, day: dt.date,
                     config: WorkbenchConfig | None = None) -> list[dict[str, Any]]:
    """Critical breaks past their deadline on the day (what the asset check warns about)."""
    listed = open_breaks(conn, tenant, day, {"priority": "critical"}, config)["breaks"]
    return [{k: b[k] for k in ("break_id", "break_type", "source_ref", "amount", "currency", "first_seen", "due",
                               "assignee", "state")} for b in listed if b["overdue"]]


def _passes(b: dict[str, Any], f: dict[str, str]) -> bool:
    def money(key: str) -> int:
        try:
            return to_minor(Decimal(f[key]).copy_abs(), b["currency"])
        except Exception:
            raise ActionRefused(f"filter {key}: not an amount: {f[key]!r}") from None

    checks = [
        "break_type" not in f or b["break_type"] == f["break_type"],
        "currency" not in f or b["currency"] == f["currency"].upper(),
        "assignee" not in f or (b["assignee"] or "") == ("" if f["assignee"] == "-" else f["assignee"]),
        "priority" not in f or b["priority"] == f["priority"],
        "state" not in f or b["state"] == f["state"],
        "min_age" not in f or b["age_days"] >= int(f["min_age"]),
        "max_age" not in f or b["age_days"] <= int(f["max_age"]),
        "min_amount" not in f or abs(b["amount_minor"]) >= money("min_amount"),
        "max_amount" not in f or abs(b["amount_minor"]) <= money("max_amount"),
    ]
    return all(checks)


def _records(conn: psycopg.Connection, tenant: str, day: dt.date, refs: list[str]) -> dict[str, dict[str, Any]]:
    found = rows(conn, "records", tenant=tenant, day=day, since=day - dt.timedelta(days=LOOKBACK_DAYS), refs=refs)
    return {f"{r['source']}|{r['source_ref']}": r["record"] for r in found}


@dataclass
class BreakPage:
    brk: dict[str, Any]
    items: list[dict[str, Any]]
    differences: list[dict[str, Any]]
    candidates: list[dict[str, Any]]
    history: list[dict[str, Any]]
    days: list[dict[str, Any]]
    proposals: list[dict[str, Any]]
    reopened: list[str] = field(default_factory=list)
    item_days: list[dict[str, Any]] = field(default_factory=list)   # the items' states day by day


def break_page(conn: psycopg.Connection, tenant: str, day: dt.date, break_id: str,
               config: WorkbenchConfig | None = None) -> BreakPage:
    config = config or load_config()
    found = rows(conn, "break_on_day", tenant=tenant, day=day, break_id=break_id)
    days = rows(conn, "break_days", tenant=tenant, break_id=break_id)
    items = rows(conn, "break_items", tenant=tenant, day=day, break_id=break_id)
    if not found and not days and not items:
        raise ActionRefused(f"no break {break_id} in {tenant}")
    if found:
        brk = found[0]
    else:   # closed on the day it appeared (its items are explained), or not seen on this day
        first = items[0] if items else {}
        brk = {**(days[-1] if days else {}), "break_id": break_id, "break_type": first.get("break_type"),
               "source": first.get("source"), "source_ref": first.get("source_ref"), "first_seen": None,
               "currency": first.get("currency") or (days[-1]["currency"] if days else ""),
               "amount_minor": first.get("amount_minor", days[-1]["amount_minor"] if days else 0),
               "details": None, "lifecycle": "closed" if items else "not on this day"}
    brk["currency"] = (brk.get("currency") or "").strip()
    records = _records(conn, tenant, day, [f"{i['source']}|{i['source_ref']}" for i in items])
    reopened = []
    for item in items:
        item["record"] = records.get(f"{item['source']}|{item['source_ref']}") or {}
        item["amount"] = _amount(item["amount_minor"], item["currency"].strip())
        details = json.loads(item["details"] or "null") or {}
        if "reopened" in details and details["reopened"].get("why", "") not in reopened:   # once per break
            reopened.append(details["reopened"].get("why", ""))
    if brk.get("first_seen"):
        brk.update(priority=config.priority(brk["amount_minor"], brk["currency"], brk["first_seen"], day).__dict__)
    brk["amount"] = _amount(brk["amount_minor"], brk["currency"]) if brk["currency"] else ""
    details = json.loads(brk.get("details") or "null") or {}
    differences = [{"field": k, "value": v} for k, v in details.items() if k != "reopened"] if isinstance(
        details, dict) else []
    mine = {(i["source"], i["source_ref"]) for i in items}
    currency = brk["currency"] or None
    amounts = [abs(i["amount_minor"]) for i in items]
    candidates = [c for c in rows(conn, "open_items", tenant=tenant, day=day, currency=currency)
                  if (c["source"], c["source_ref"]) not in mine]
    for c in candidates:
        c["distance"] = min((abs(abs(c["amount_minor"]) - a) for a in amounts), default=0)
        c["amount"] = _amount(c["amount_minor"], c["currency"].strip())
    candidates.sort(key=lambda c: (c["distance"], c["source"], c["source_ref"]))
    history = rows(conn, "history", tenant=tenant, break_id=break_id)
    proposals = rows(conn, "proposals_of_break", tenant=tenant, break_id=break_id)
    for p in proposals:
        p["amount"] = _amount(p["amount_minor"], p["currency"])
    item_days = rows(conn, "break_item_days", tenant=tenant, break_id=break_id)
    return BreakPage(brk, items, differences, candidates[:15], history, days, proposals, reopened, item_days)


def waiting_for(conn: psycopg.Connection, actor: Actor) -> list[dict[str, Any]]:
    """Proposals awaiting a decision that this person may take (an approver's, not their own)."""
    if not role_at_least(actor.role, "approver"):
        return []
    waiting = [p for p in rows(conn, "waiting_approvals", tenant=actor.tenant) if p["proposed_by"] != actor.user_id]
    for p in waiting:
        p["amount"] = _amount(p["amount_minor"], p["currency"].strip())
    return waiting


def my_proposals_waiting(conn: psycopg.Connection, actor: Actor) -> list[dict[str, Any]]:
    return [p for p in rows(conn, "waiting_approvals", tenant=actor.tenant) if p["proposed_by"] == actor.user_id]


def signoff_status(conn: psycopg.Connection, tenant: str, day: dt.date,
                   config: WorkbenchConfig | None = None) -> dict[str, Any]:
    """Whether the day is signed off, and if not what stands in the way: open breaks above materiality (accepted,
    matched and written-off breaks are explained and no longer open) and proposals still waiting."""
    config = config or load_config()
    signed = rows(conn, "signoff", tenant=tenant, day=day)
    reconciled = conn.execute("SELECT 1 FROM recon.runs WHERE tenant = %s AND business_date = %s",
                              (tenant, day)).fetchone() is not None
    breaks = rows(conn, "day_breaks", tenant=tenant, day=day)
    blockers = [b for b in breaks if abs(b["amount_minor"]) > config.materiality(b["currency"].strip())]
    for b in breaks:
        b["amount"] = _amount(b["amount_minor"], b["currency"].strip())
    waiting = [p for p in rows(conn, "waiting_approvals", tenant=tenant) if p["business_date"] == day]
    return {"day": day, "signed_off": signed[0] if signed else None, "reconciled": reconciled,
            "blockers": blockers, "below_materiality": [b for b in breaks if b not in blockers], "waiting": waiting,
            "can_sign_off": reconciled and not blockers and not waiting and not signed}


def sign_off(conn: psycopg.Connection, actor: Actor, day: dt.date, note: str | None = None,
             config: WorkbenchConfig | None = None) -> Outcome:
    """An approver signs the day off: from now on it is locked (its results and reports stay as signed off, the
    ledger refuses postings dated on it, adjustments for it go to the next open day)."""
    from financeops_pipeline.workbench.actions import _require

    _require(actor, "approver", "signing off a day")
    with conn.transaction():
        # Exclusive: writers of the day in flight finish first; later ones see the day locked.
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('ops.day_lock'), hashtext(%s || ':' || %s::date::text))",
                     (actor.tenant, day))
        status = signoff_status(conn, actor.tenant, day, config)
        if status["signed_off"]:
            raise ActionRefused(f"{actor.tenant} {day} is already signed off")
        if not status["reconciled"]:
            raise ActionRefused(f"{actor.tenant} {day} has not been reconciled")
        if status["blockers"]:
            listed = ", ".join(f"{b['break_id']} ({b['break_type']} {b['amount']} {b['currency'].strip()})"
                               for b in status["blockers"][:5])
            raise ActionRefused(f"{len(status['blockers'])} break(s) above materiality are open without an accepted "
                                f"explanation: {listed}")
        if status["waiting"]:
            raise ActionRefused(f"{len(status['waiting'])} proposal(s) of {day} still await a decision")
        summary = {"open_below_materiality": [{"break_id": b["break_id"], "break_type": b["break_type"],
                                               "currency": b["currency"].strip(), "amount_minor": b["amount_minor"]}
                                              for b in status["below_materiality"]]}
        conn.execute("INSERT INTO workbench.day_signoffs (tenant, business_date, signed_by, note, summary)"
                     " VALUES (%s, %s, %s, %s, %s)", (actor.tenant, day, actor.user_id, note, json.dumps(summary)))
        record_event(conn, actor, day, "signed_off", after={"locked": True, **summary}, note=note)
    return Outcome(f"{actor.tenant} {day} signed off and locked")


def is_locked(conn: psycopg.Connection, tenant: str, day: dt.date) -> bool:
    return day_locked(conn, tenant, day)
