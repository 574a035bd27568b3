"""Actions on breaks, four eyes and the audit log: the one implementation behind the web pages and the CLI.

Every function runs on a tenant connection (row-level security confines it) for an `Actor` whose role in the
tenant was looked up at sign-in. Proposals that need no second person take effect at once ("applied"); the others
wait for an approver who is not the proposer. Every proposal, decision, assignment, comment and reference is an
event of workbench.events (append-only). A decision that takes effect returns the days to re-reconcile
(`refresh.refresh_days`), so the break's new state shows at once.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from typing import Any

import psycopg

from financeops_pipeline.ledger.adjustments import Adjustment, legs_of, post_adjustments
from financeops_pipeline.ledger.rules import describe_account
from financeops_pipeline.money import format_minor
from financeops_pipeline.sqlfiles import load_named_sql
from financeops_pipeline.workbench.config import WorkbenchConfig, load_config
from financeops_pipeline.workbench.daylock import next_open_day
from financeops_pipeline.workbench.resolutions import fingerprint
from financeops_pipeline.workbench.users import role_at_least

LOOKBACK_DAYS = 35


class ActionRefused(ValueError):
    """An action that the rules do not allow (role, four eyes, state of the break, bad input)."""


@dataclass(frozen=True)
class Actor:
    user_id: int
    username: str
    tenant: str
    role: str


@dataclass
class Outcome:
    """What an action did: the proposal (if any), whether it took effect now, and the days to refresh."""

    message: str
    proposal_id: int | None = None
    effective: bool = False
    refresh_from: dt.date | None = None
    entry_key: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _q(name: str) -> str:
    return load_named_sql("workbench/sql/breaks.sql")[name]


def rows(conn: psycopg.Connection, name: str, **params: Any) -> list[dict[str, Any]]:
    cur = conn.execute(_q(name), params)
    names = [d.name for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def _require(actor: Actor, role: str, what: str) -> None:
    if not role_at_least(actor.role, role):
        raise ActionRefused(f"{actor.username} is {actor.role} in {actor.tenant}: {what} needs the {role} role")


def record_event(conn: psycopg.Connection, actor: Actor, day: dt.date, kind: str, *, break_id: str | None = None,
                 proposal_id: int | None = None, before: Any = None, after: Any = None,
                 note: str | None = None) -> int:
    """Append one audit event (who, when, what, before and after)."""
    return conn.execute(
        "INSERT INTO workbench.events (tenant, business_date, break_id, proposal_id, kind, actor, actor_name, before,"
        " after, note) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING event_id",
        (actor.tenant, day, break_id, proposal_id, kind, actor.user_id, actor.username,
         None if before is None else json.dumps(before, default=str),
         None if after is None else json.dumps(after, default=str), note)).fetchone()[0]


def _break(conn: psycopg.Connection, actor: Actor, day: dt.date, break_id: str) -> dict[str, Any]:
    found = rows(conn, "break_on_day", tenant=actor.tenant, day=day, break_id=break_id)
    if not found:
        raise ActionRefused(f"no break {break_id} on {day} in {actor.tenant}")
    return found[0]


def _open_break(conn: psycopg.Connection, actor: Actor, day: dt.date, break_id: str) -> dict[str, Any]:
    found = _break(conn, actor, day, break_id)
    if found["lifecycle"] == "resolved":
        raise ActionRefused(f"break {break_id} is resolved on {day}")
    waiting = [p for p in rows(conn, "proposals_of_break", tenant=actor.tenant, break_id=break_id)
               if p["decision"] is None and p["needs_approval"]]
    if waiting:
        raise ActionRefused(f"break {break_id} already has proposal {waiting[0]['proposal_id']} "
                            f"({waiting[0]['action']}) awaiting approval")
    return found


def _items(conn: psycopg.Connection, actor: Actor, day: dt.date, break_id: str) -> list[dict[str, Any]]:
    return [i for i in rows(conn, "break_items", tenant=actor.tenant, day=day, break_id=break_id)
            if i["status"] == "break"]


def _item_fields(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"source": i["source"], "source_ref": i["source_ref"], "currency": i["currency"].strip(),
             "amount_minor": int(i["amount_minor"]), **({"side": i["side"]} if "side" in i else {})} for i in items]


# --- assignment, comments, references (no approval: they change no figure) -------------------------------------

def assign(conn: psycopg.Connection, actor: Actor, day: dt.date, break_id: str, assignee: str | None) -> Outcome:
    _require(actor, "preparer", "assigning a break")
    _break(conn, actor, day, break_id)
    if assignee:
        members = {r[0]: r[1] for r in conn.execute(
            "SELECT username, role FROM workbench.tenant_members WHERE active").fetchall()}
        if not role_at_least(members.get(assignee), "preparer"):
            raise ActionRefused(f"{assignee} is not a preparer, approver or admin of {actor.tenant}")
    current = conn.execute("SELECT after->>'assignee' FROM workbench.events WHERE break_id = %s AND kind = 'assigned'"
                           " ORDER BY event_id DESC LIMIT 1", (break_id,)).fetchone()
    with conn.transaction():
        record_event(conn, actor, day, "assigned", break_id=break_id,
                     before={"assignee": current[0] if current else None}, after={"assignee": assignee or None})
    return Outcome(f"break {break_id} assigned to {assignee or 'nobody'}")


def comment(conn: psycopg.Connection, actor: Actor, day: dt.date, break_id: str, text: str) -> Outcome:
    _require(actor, "preparer", "commenting")
    _break(conn, actor, day, break_id)
    if not text.strip():
        raise ActionRefused("a comment needs text")
    with conn.transaction():
        record_event(conn, actor, day, "commented", break_id=break_id, note=text.strip())
    return Outcome(f"comment added to break {break_id}")


_REFERENCE = re.compile(r"^(https?://\S+|[A-Za-z0-9][A-Za-z0-9._:/#-]{0,99})$")


def attach_reference(conn: psycopg.Connection, actor: Actor, day: dt.date, break_id: str, reference: str) -> Outcome:
    """A ticket id (e.g. FIN-123) or an http(s) URL."""
    _require(actor, "preparer", "attaching a reference")
    _break(conn, actor, day, break_id)
    reference = reference.strip()
    if not _REFERENCE.match(reference):
        raise ActionRefused(f"a reference is a ticket id or an http(s) URL, not {reference!r}")
    with conn.transaction():
        record_event(conn, actor, day, "referenced", break_id=break_id, after={"reference": reference})
    return Outcome(f"reference {reference} attached to break {break_id}")


# --- proposals -------------------------------------------------------------------------------------------------

def _propose(conn: psycopg.Connection, actor: Actor, day: dt.date, action: str, *, break_id: str | None,
             payload: dict[str, Any], currency: str, amount_minor: int, posts_entry: bool, closes: bool,
             note: str | None, config: WorkbenchConfig, before: Any = None) -> Outcome:
    """Record a proposal; without need of a second person it takes effect at once (in the same transaction)."""
    _require(actor, "preparer", f"proposing {action}")
    needs_approval = posts_entry or (closes and abs(amount_minor) > config.four_eyes_above(currency))
    with conn.transaction():
        proposal_id = conn.execute(
            "INSERT INTO workbench.proposals (tenant, business_date, break_id, action, payload, currency, amount_minor,"
            " posts_entry, needs_approval, proposed_by, note) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
            " RETURNING proposal_id",
            (actor.tenant, day, break_id, action, json.dumps(payload, default=str), currency, abs(amount_minor),
             posts_entry, needs_approval, actor.user_id, note)).fetchone()[0]
        record_event(conn, actor, day, "proposed", break_id=break_id, proposal_id=proposal_id, before=before,
                     after={"action": action, **payload, "needs_approval": needs_approval}, note=note)
        if needs_approval:
            return Outcome(f"proposal {proposal_id} ({action}) awaits an approver's decision", proposal_id)
        _decide(conn, actor, proposal_id, "applied", note=None)
    return Outcome(f"proposal {proposal_id} ({action}) applied", proposal_id, effective=True, refresh_from=day)


def accept(conn: psycopg.Connection, actor: Actor, day: dt.date, break_id: str, reason: str, note: str,
           until: dt.date | None = None, config: WorkbenchConfig | None = None) -> Outcome:
    """Accept a break with a configured reason code and a note, optionally until a day after which it reopens."""
    config = config or load_config()
    if reason not in config.reason_codes or reason == "written_off":
        raise ActionRefused(f"reason must be one of {', '.join(r for r in config.reason_codes if r != 'written_off')}")
    if not (note or "").strip():
        raise ActionRefused("accepting a break needs a note")
    if until is not None and until < day:
        raise ActionRefused(f"until {until} is before the day {day}")
    found = _open_break(conn, actor, day, break_id)
    items = _items(conn, actor, day, break_id)
    payload = {"reason": reason, "until": until.isoformat() if until else None, "items": _item_fields(items),
               "fingerprint": fingerprint(items)}
    return _propose(conn, actor, day, "accept", break_id=break_id, payload=payload, currency=found["currency"],
                    amount_minor=found["amount_minor"], posts_entry=False, closes=True, note=note.strip(),
                    config=config, before={"lifecycle": found["lifecycle"]})


def _processor_of(conn: psycopg.Connection, actor: Actor, day: dt.date, items: list[dict[str, Any]]) -> str | None:
    for item in items:
        if item["source"] in ("processor", "payout"):
            return item["source_ref"].split(":", 1)[0]
    for item in items:
        if item["source"] == "internal":
            found = conn.execute(_q("internal_processor"), {"tenant": actor.tenant, "ref": item["source_ref"],
                                                             "since": day - dt.timedelta(days=LOOKBACK_DAYS),
                                                             "day": day}).fetchone()
            if found:
                return found[0]
    return None


def write_off_default(conn: psycopg.Connection, actor: Actor, day: dt.date, found: dict[str, Any],
                      items: list[dict[str, Any]], config: WorkbenchConfig) -> tuple[str, int]:
    """The account the break's difference sits in, and the signed amount a write-off posts (config write_off)."""
    rule = config.write_off_rule(found["break_type"])
    if rule is None:
        raise ActionRefused(f"a {found['break_type']} break has no write-off rule (workbench.yaml write_off)")
    processor = _processor_of(conn, actor, day, items)
    try:
        counter = rule["counter_account"].format(processor=processor or "")
    except KeyError as exc:
        raise ActionRefused(f"write-off rule of {found['break_type']} names an unknown part {exc}") from None
    if "{processor}" in rule["counter_account"] and not processor:
        raise ActionRefused(f"break {found['break_id']}: no processor known for its items")
    if rule["basis"] == "difference":
        basis = int((json.loads(found["details"] or "{}") or {}).get("difference", 0))
    else:
        basis = int(found["amount_minor"])
    return counter, int(rule["sign"]) * basis


def adjust(conn: psycopg.Connection, actor: Actor, day: dt.date, break_id: str, adjust_account: str, note: str,
           amount_minor: int | None = None, config: WorkbenchConfig | None = None) -> Outcome:
    """Write off / adjust a break: an adjusting entry (rule recon_adjustment) from `adjust_account` against the
    account the break sits in. Posts to the ledger, so it always waits for an approver."""
    config = config or load_config()
    if adjust_account not in config.adjust_accounts:
        raise ActionRefused(f"the account must be one of {', '.join(config.adjust_accounts)}")
    if not (note or "").strip():
        raise ActionRefused("an adjustment needs a note")
    found = _open_break(conn, actor, day, break_id)
    items = _items(conn, actor, day, break_id)
    counter, default_amount = write_off_default(conn, actor, day, found, items, config)
    amount = default_amount if amount_minor is None else int(amount_minor)
    if amount == 0:
        raise ActionRefused("the adjustment amount is zero: nothing to post (accept the break instead)")
    currency = found["currency"].strip()
    describe_account(counter)
    payload = {"adjust_account": adjust_account, "counter_account": counter, "amount_minor": amount,
               "rule_id": "recon_adjustment", "items": _item_fields(items), "fingerprint": fingerprint(items)}
    # The legs are checked now (accounts in the chart), not only when the approver posts it.
    legs_of(_adjustment(actor.tenant, 0, day, currency, payload, note, {}))
    return _propose(conn, actor, day, "adjust", break_id=break_id, payload=payload, currency=currency,
                    amount_minor=abs(amount), posts_entry=True, closes=True, note=note.strip(), config=config,
                    before={"lifecycle": found["lifecycle"]})


def _adjustment(tenant: str, proposal_id: int, booked_on: dt.date, currency: str, payload: dict[str, Any],
                note: str | None, audit: dict[str, Any]) -> Adjustment:
    adj = payload.get("adjustment", payload)
    return Adjustment(
        idempotency_key=f"workbench:proposal:{proposal_id}", rule_id="recon_adjustment", business_date=booked_on,
        currency=currency, amount_minor=int(adj["amount_minor"]),
        accounts={"adjust_account": adj["adjust_account"], "counter_account": adj["counter_account"]},
        description=f"workbench proposal {proposal_id}: {note or ''}".strip(), source_kind="workbench",
        source_ref=payload.get("break_id") or f"proposal:{proposal_id}", audit=audit)


def match(conn: psycopg.Connection, actor: Actor, day: dt.date, left: list[str], right: list[str], note: str,
          adjust_account: str | None = None, break_id: str | None = None, action: str = "match",
          extra: dict[str, Any] | None = None, config: WorkbenchConfig | None = None) -> Outcome:
    """Match items by hand: `left` and `right` are 'source|source_ref' of the day's unmatched items (1:1, 1:N, N:M,
    any sources, one currency). The difference right - left must be zero, within the tolerance, or taken by an
    adjusting entry to `adjust_account` (which then needs an approver)."""
    config = config or load_config()
    if not left or not right:
        raise ActionRefused("a match needs items on both sides")
    if set(left) & set(right):
        raise ActionRefused("an item cannot be on both sides")
    found = {f"{i['source']}|{i['source_ref']}": i
             for i in rows(conn, "items_by_ref", tenant=actor.tenant, day=day, refs=[*left, *right])}
    missing = [r for r in [*left, *right] if r not in found]
    if missing:
        raise ActionRefused(f"not items of {day}: {', '.join(missing)}")
    done = [r for r in found if found[r]["status"] in ("matched", "explained")]
    if done:
        raise ActionRefused(f"already matched or explained: {', '.join(done)}")
    held = {r["ref"]: r["proposal_id"] for r in rows(conn, "matched_items", tenant=actor.tenant)}
    taken = [f"{r} (proposal {held[r]})" for r in found if r in held]
    if taken:
        raise ActionRefused(f"already in a manual match: {', '.join(taken)}")
    currencies = {i["currency"].strip() for i in found.values()}
    if len(currencies) != 1:
        raise ActionRefused(f"a manual match is in one currency, these items are in {', '.join(sorted(currencies))}")
    currency = currencies.pop()
    left_total = sum(int(found[r]["amount_minor"]) for r in left)
    right_total = sum(int(found[r]["amount_minor"]) for r in right)
    difference = right_total - left_total
    items = [{**found[r], "side": "left"} for r in left] + [{**found[r], "side": "right"} for r in right]
    payload: dict[str, Any] = {"items": _item_fields(items), "left_minor": left_total, "right_minor": right_total,
                               "difference_minor": difference, "break_id": break_id, **(extra or {})}
    posts = False
    if difference and abs(difference) > config.tolerance(currency):
        if not adjust_account:
            raise ActionRefused(f"the sides differ by {format_minor(difference, currency)} {currency}, more than the "
                                f"tolerance of {format_minor(config.tolerance(currency), currency)}: name an account "
                                "for the adjusting entry")
        if adjust_account not in config.adjust_accounts:
            raise ActionRefused(f"the account must be one of {', '.join(config.adjust_accounts)}")
        counter = _counter_of_match(conn, actor, day, items, config)
        payload["adjustment"] = {"adjust_account": adjust_account, "counter_account": counter,
                                 "amount_minor": difference}
        legs_of(_adjustment(actor.tenant, 0, day, currency, payload, note, {}))
        posts = True
    if not (note or "").strip():
        raise ActionRefused("a manual match needs a note")
    return _propose(conn, actor, day, action, break_id=break_id, payload=payload, currency=currency,
                    amount_minor=max(left_total, right_total), posts_entry=posts, closes=True, note=note.strip(),
                    config=config)


def _counter_of_match(conn: psycopg.Connection, actor: Actor, day: dt.date, items: list[dict[str, Any]],
                      config: WorkbenchConfig) -> str:
    """Where a matched difference sits: the write-off account of the first break among the items, else suspense."""
    for item in items:
        if item.get("break_type") and config.write_off_rule(item["break_type"]):
            rule = config.write_off_rule(item["break_type"])
            processor = _processor_of(conn, actor, day, items) or ""
            if "{processor}" not in rule["counter_account"] or processor:
                return rule["counter_account"].format(processor=processor)
    return "suspense"


def unmatch(conn: psycopg.Connection, actor: Actor, day: dt.date, match_proposal_id: int, note: str,
            config: WorkbenchConfig | None = None) -> Outcome:
    """Undo a manual match (or a confirmed suggestion); its items go back to what the engine makes of them. A match
    that posted an entry is not undone here: post the reverse adjustment instead."""
    config = config or load_config()
    original = rows(conn, "proposal", tenant=actor.tenant, proposal_id=match_proposal_id)
    if not original or original[0]["action"] not in ("match", "confirm_suggestion"):
        raise ActionRefused(f"no manual match {match_proposal_id}")
    original = original[0]
    if original["decision"] not in ("approved", "applied"):
        raise ActionRefused(f"manual match {match_proposal_id} is not in force ({original['decision'] or 'waiting'})")
    if original["posts_entry"]:
        raise ActionRefused(f"manual match {match_proposal_id} posted an adjusting entry: reverse it with an "
                            "adjustment instead of unmatching")
    if not (note or "").strip():
        raise ActionRefused("unmatching needs a note")
    return _propose(conn, actor, day, "unmatch", break_id=original["break_id"],
                    payload={"match_proposal_id": match_proposal_id}, currency=original["currency"], amount_minor=0,
                    posts_entry=False, closes=False, note=note.strip(), config=config)


def _suggested(conn: psycopg.Connection, actor: Actor, day: dt.date, item_ref: str) -> dict[str, Any]:
    found = rows(conn, "items_by_ref", tenant=actor.tenant, day=day, refs=[item_ref])
    if not found or found[0]["status"] != "suggested":
        raise ActionRefused(f"{item_ref} has no suggested match on {day}")
    return found[0]


def suggestion_candidates(item: dict[str, Any]) -> list[str]:
    """The 'source|source_ref' of a suggested item's candidates (from its details, as the matching rules wrote)."""
    details = json.loads(item["details"] or "{}") or {}
    refs = []
    for c in details.get("candidates", []):
        if isinstance(c, dict) and c.get("source") and c.get("source_ref"):
            refs.append(f"{c['source']}|{c['source_ref']}")
        elif isinstance(c, str):
            refs.append(c)
    return refs


def confirm_suggestion(conn: psycopg.Connection, actor: Actor, day: dt.date, item_ref: str, note: str,
                       candidates: list[str] | None = None, config: WorkbenchConfig | None = None) -> Outcome:
    """Confirm a suggested match: a manual match of the item with its (chosen) candidates, same rules."""
    item = _suggested(conn, actor, day, item_ref)
    chosen = candidates or suggestion_candidates(item)
    if not chosen:
        raise ActionRefused(f"{item_ref}: the suggestion names no candidate")
    return match(conn, actor, day, [item_ref], chosen, note, break_id=item["break_id"], action="confirm_suggestion",
                 extra={"match_group": item["match_group"]}, config=config)


def reject_suggestion(conn: psycopg.Connection, actor: Actor, day: dt.date, item_ref: str, note: str,
                      config: WorkbenchConfig | None = None) -> Outcome:
    """Reject a suggested match: the item stays a break of its own type and is not suggested that match again."""
    config = config or load_config()
    item = _suggested(conn, actor, day, item_ref)
    if not (note or "").strip():
        raise ActionRefused("rejecting a suggestion needs a note")
    source, ref = item_ref.split("|", 1)
    return _propose(conn, actor, day, "reject_suggestion", break_id=item["break_id"],
                    payload={"match_group": item["match_group"], "items": [{"source": source, "source_ref": ref}]},
                    currency=item["currency"].strip(), amount_minor=int(item["amount_minor"]), posts_entry=False,
                    closes=False, note=note.strip(), config=config)


# --- decisions -------------------------------------------------------------------------------------------------

def _decide(conn: psycopg.Connection, actor: Actor, proposal_id: int, decision: str, note: str | None) -> Outcome:
    """Insert the decision (the database refuses a second one, and a proposer deciding their own) and, when it takes
    effect, post the proposal's entry in the same transaction."""
    proposal = rows(conn, "proposal", tenant=actor.tenant, proposal_id=proposal_id)
    if not proposal:
        raise ActionRefused(f"no proposal {proposal_id} in {actor.tenant}")
    proposal = proposal[0]
    if proposal["decision"] is not None:
        raise ActionRefused(f"proposal {proposal_id} was already {proposal['decision']}")
    payload = json.loads(proposal["payload"])
    booked_on = entry_key = None
    if decision in ("approved", "applied") and proposal["posts_entry"]:
        booked_on = next_open_day(conn, actor.tenant, proposal["business_date"])
        proposer = conn.execute("SELECT actor_name FROM workbench.events WHERE proposal_id = %s AND kind = 'proposed'",
                                (proposal_id,)).fetchone()
        adjustment = _adjustment(actor.tenant, proposal_id, booked_on, proposal["currency"].strip(),
                                 {**payload, "break_id": proposal["break_id"] or payload.get("break_id")},
                                 proposal["note"],
                                 {"proposal_id": proposal_id, "proposed_by": proposer[0] if proposer else None,
                                  "approved_by": actor.username, "break_id": proposal["break_id"]})
        entry_key = adjustment.idempotency_key
    conn.execute("INSERT INTO workbench.decisions (proposal_id, tenant, decision, decided_by, note, booked_on,"
                 " entry_key) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                 (proposal_id, actor.tenant, decision, actor.user_id, note, booked_on, entry_key))
    if entry_key:
        post_adjustments(conn, actor.tenant, [adjustment], run_id=f"workbench-proposal-{proposal_id}")
    record_event(conn, actor, proposal["business_date"], decision, break_id=proposal["break_id"],
                 proposal_id=proposal_id, before={"state": "awaiting approval" if proposal["needs_approval"]
                                                  else "proposed"},
                 after={"state": decision, "booked_on": booked_on, "entry_key": entry_key}, note=note)
    effective = decision in ("approved", "applied")
    return Outcome(f"proposal {proposal_id} {decision}" + (f", entry {entry_key} booked on {booked_on}"
                                                           if entry_key else ""),
                   proposal_id, effective=effective, refresh_from=proposal["business_date"] if effective else None,
                   entry_key=entry_key)


def approve(conn: psycopg.Connection, actor: Actor, proposal_id: int, note: str | None = None) -> Outcome:
    """A second person with the approver role approves; the proposal takes effect (and posts) now."""
    _require(actor, "approver", "approving")
    with conn.transaction():
        return _decide(conn, actor, proposal_id, "approved", note=(note or "").strip() or None)


def reject(conn: psycopg.Connection, actor: Actor, proposal_id: int, note: str) -> Outcome:
    """A second person with the approver role rejects, saying why."""
    _require(actor, "approver", "rejecting")
    if not (note or "").strip():
        raise ActionRefused("a rejection needs a note")
    with conn.transaction():
        return _decide(conn, actor, proposal_id, "rejected", note=note.strip())


def withdraw(conn: psycopg.Connection, actor: Actor, proposal_id: int, note: str | None = None) -> Outcome:
    """The proposer takes back a proposal nobody decided yet."""
    _require(actor, "preparer", "withdrawing a proposal")
    with conn.transaction():
        return _decide(conn, actor, proposal_id, "withdrawn", note=(note or "").strip() or None)


def explain_refusal(exc: psycopg.Error) -> str:
    """A database refusal (four eyes, append-only, day lock) as the one line a person reads."""
    text = (exc.diag.message_primary if getattr(exc, "diag", None) else None) or str(exc)
    return text.splitlines()[0]
