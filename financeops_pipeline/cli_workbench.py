"""`financeops breaks ...`, `financeops users ...` and `financeops workbench`: the workbench from the command line,
through the same domain code as the web pages (financeops_pipeline.workbench)."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

import click

from financeops_pipeline.landing import validate_tenant

DATE = click.DateTime(formats=["%Y-%m-%d"])
PASSWORD_ENV = "FINANCEOPS_PASSWORD"


@contextmanager
def _signed_in(tenant: str, username: str | None) -> Iterator[tuple]:
    """The runtime, a tenant connection and the actor: a person signs in with their password (from
    FINANCEOPS_PASSWORD or a prompt), so four eyes holds on the command line too."""
    from financeops_pipeline.runtime import runtime
    from financeops_pipeline.workbench.actions import Actor
    from financeops_pipeline.workbench.service import tenant_workbench
    from financeops_pipeline.workbench.users import AuthError, auth_connection, authenticate

    validate_tenant(tenant)
    username = username or os.environ.get("FINANCEOPS_USER")
    if not username:
        raise click.UsageError("name the user: --user NAME (or FINANCEOPS_USER)")
    password = os.environ.get(PASSWORD_ENV) or click.prompt(f"password of {username}", hide_input=True)
    with runtime() as rt:
        try:
            with auth_connection(rt.db_url) as conn:
                user = authenticate(conn, username, password)
        except AuthError as exc:
            raise click.ClickException(str(exc)) from None
        role = user.role_in(tenant)
        if role is None:
            raise click.ClickException(f"{username} has no role in {tenant}")
        with tenant_workbench(rt.db_url, tenant) as conn:
            yield rt, conn, Actor(user.user_id, user.username, tenant, role)


def _perform(tenant: str, username: str | None, action, *args, **kwargs) -> None:
    from financeops_pipeline.workbench.actions import ActionRefused
    from financeops_pipeline.workbench.service import perform

    with _signed_in(tenant, username) as (rt, conn, actor):
        try:
            outcome = perform(rt.settings.archive_dir, conn, actor, action, *args, **kwargs)
        except ActionRefused as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(outcome.message)
    if outcome.extra.get("refreshed"):
        click.echo("re-reconciled: " + ", ".join(str(d) for d in outcome.extra["refreshed"]))


_user = click.option("--user", "username", help="Who acts (default FINANCEOPS_USER); the password is asked, or "
                                                 "read from FINANCEOPS_PASSWORD.")
_tenant = click.option("--tenant", required=True)
_date = click.option("--date", "day", type=DATE, required=True, help="The business day the break is on.")


@click.group("breaks", invoke_without_command=True)
@click.option("--date", "day", type=DATE, help="As-of business day (listing).")
@click.option("--tenant", help="Tenant (listing).")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@click.pass_context
def breaks(ctx: click.Context, day: dt.datetime | None, tenant: str | None, fmt: str) -> None:
    """Print the open breaks as of a day (with --date and --tenant), or act on one (the subcommands)."""
    if ctx.invoked_subcommand is not None:
        return
    if not (day and tenant):
        raise click.UsageError("financeops breaks --date D --tenant T lists the open breaks; or use a subcommand")
    from financeops_pipeline.db.connect import tenant_connection
    from financeops_pipeline.runtime import runtime
    from financeops_pipeline.sqlfiles import load_sql

    validate_tenant(tenant)
    with runtime() as rt, tenant_connection(rt.db_url, tenant) as conn:
        cur = conn.execute(load_sql("reconciliation/sql/open_breaks.sql"), {"tenant": tenant, "day": day.date()})
        columns = [d.name for d in cur.description]
        rows = [dict(zip(columns, r, strict=True)) for r in cur.fetchall()]
    if fmt == "json":
        click.echo(json.dumps(rows, default=str, indent=2))
    else:
        writer = csv.DictWriter(sys.stdout, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


@breaks.command("work")
@_date
@_tenant
@_user
def work_cmd(day: dt.datetime, tenant: str, username: str | None) -> None:
    """The workbench view of a day: priority, due date, state and assignee of every open break."""
    from financeops_pipeline.workbench import views

    with _signed_in(tenant, username) as (_, conn, _actor):
        listed = views.open_breaks(conn, tenant, day.date())
    for b in listed["breaks"]:
        click.echo(f"{b['break_id']}  {b['priority']:<8} due {b['due']}{' OVERDUE' if b['overdue'] else ''}  "
                   f"{b['break_type']:<20} {b['amount']:>12} {b['currency']}  {b['state']:<17} "
                   f"{b['assignee'] or '-':<12} {b['source']} {b['source_ref']}")
    for t in listed["totals"]:
        click.echo(f"total {t['count']} break(s) {t['amount']} {t['currency']}")


@breaks.command("assign")
@click.argument("break_id")
@click.option("--to", "assignee", required=True, help="User to assign to ('' for nobody).")
@_date
@_tenant
@_user
def assign_cmd(break_id: str, assignee: str, day: dt.datetime, tenant: str, username: str | None) -> None:
    """Assign a break to a person."""
    from financeops_pipeline.workbench import actions

    _perform(tenant, username, actions.assign, day.date(), break_id, assignee or None)


@breaks.command("comment")
@click.argument("break_id")
@click.argument("text")
@_date
@_tenant
@_user
def comment_cmd(break_id: str, text: str, day: dt.datetime, tenant: str, username: str | None) -> None:
    """Comment on a break."""
    from financeops_pipeline.workbench import actions

    _perform(tenant, username, actions.comment, day.date(), break_id, text)


@breaks.command("reference")
@click.argument("break_id")
@click.argument("reference")
@_date
@_tenant
@_user
def reference_cmd(break_id: str, reference: str, day: dt.datetime, tenant: str, username: str | None) -> None:
    """Attach a ticket id or URL to a break."""
    from financeops_pipeline.workbench import actions

    _perform(tenant, username, actions.attach_reference, day.date(), break_id, reference)


@breaks.command("accept")
@click.argument("break_id")
@click.option("--reason", required=True, help="A reason code of workbench.yaml (timing, customer_dispute, ...).")
@click.option("--note", required=True)
@click.option("--until", type=DATE, help="Reopen the break after this day.")
@_date
@_tenant
@_user
def accept_cmd(break_id: str, reason: str, note: str, until: dt.datetime | None, day: dt.datetime, tenant: str,
               username: str | None) -> None:
    """Accept a break with a reason code and a note (an approver must approve above the four-eyes amount)."""
    from financeops_pipeline.workbench import actions

    _perform(tenant, username, actions.accept, day.date(), break_id, reason, note, until.date() if until else None)


@breaks.command("adjust")
@click.argument("break_id")
@click.option("--account", "adjust_account", required=True, help="write_offs, bank_fees, suspense, ...")
@click.option("--note", required=True)
@click.option("--amount", help="Signed decimal amount (default: the break's difference, see workbench.yaml).")
@_date
@_tenant
@_user
def adjust_cmd(break_id: str, adjust_account: str, note: str, amount: str | None, day: dt.datetime, tenant: str,
               username: str | None) -> None:
    """Propose a write-off / adjusting entry for a break (an approver must approve it)."""
    from financeops_pipeline.money import to_minor
    from financeops_pipeline.workbench import actions, views

    amount_minor = None
    if amount:
        with _signed_in(tenant, username) as (_, conn, _actor):
            currency = views.break_page(conn, tenant, day.date(), break_id).brk["currency"]
        amount_minor = to_minor(Decimal(amount), currency)
    _perform(tenant, username, actions.adjust, day.date(), break_id, adjust_account, note, amount_minor)


@breaks.command("match")
@click.option("--left", multiple=True, required=True, help="SOURCE|SOURCE_REF of an item (repeatable).")
@click.option("--right", multiple=True, required=True, help="SOURCE|SOURCE_REF of an item (repeatable).")
@click.option("--note", required=True)
@click.option("--adjust-account", help="Take a difference beyond the tolerance to this account (needs approval).")
@click.option("--break", "break_id", help="The break this match resolves (for its history).")
@_date
@_tenant
@_user
def match_cmd(left: tuple[str, ...], right: tuple[str, ...], note: str, adjust_account: str | None,
              break_id: str | None, day: dt.datetime, tenant: str, username: str | None) -> None:
    """Match items by hand (1:1, 1:N, N:M)."""
    from financeops_pipeline.workbench import actions

    _perform(tenant, username, actions.match, day.date(), list(left), list(right), note, adjust_account, break_id)


def _noted_command(name: str, argument: click.Argument, action_name: str, doc: str) -> None:
    """A subcommand `breaks NAME ARG --note ... --date --tenant --user` that runs one action with (day, ARG, note)."""

    def command(note: str, day: dt.datetime, tenant: str, username: str | None, **kwargs: object) -> None:
        from financeops_pipeline.workbench import actions

        _perform(tenant, username, getattr(actions, action_name), day.date(), *kwargs.values(), note)

    command.__doc__ = doc
    breaks.command(name)(_user(_tenant(_date(click.option("--note", required=True)(argument(command))))))


_noted_command("unmatch", click.argument("proposal_id", type=int), "unmatch", "Undo a manual match (its proposal id).")
_noted_command("confirm", click.argument("item"), "confirm_suggestion",
               "Confirm the suggested match of ITEM (SOURCE|SOURCE_REF).")
_noted_command("reject-suggestion", click.argument("item"), "reject_suggestion",
               "Reject the suggested match of ITEM (SOURCE|SOURCE_REF).")


@breaks.command("approve")
@click.argument("proposal_id", type=int)
@click.option("--note")
@_tenant
@_user
def approve_cmd(proposal_id: int, note: str | None, tenant: str, username: str | None) -> None:
    """Approve someone else's proposal (approver role)."""
    from financeops_pipeline.workbench import actions

    _perform(tenant, username, actions.approve, proposal_id, note)


@breaks.command("reject")
@click.argument("proposal_id", type=int)
@click.option("--note", required=True)
@_tenant
@_user
def reject_cmd(proposal_id: int, note: str, tenant: str, username: str | None) -> None:
    """Reject someone else's proposal, saying why (approver role)."""
    from financeops_pipeline.workbench import actions

    _perform(tenant, username, actions.reject, proposal_id, note)


@breaks.command("waiting")
@_tenant
@_user
def waiting_cmd(tenant: str, username: str | None) -> None:
    """Proposals waiting for your approval."""
    from financeops_pipeline.workbench import views

    with _signed_in(tenant, username) as (_, conn, actor):
        for p in views.waiting_for(conn, actor):
            click.echo(f"{p['proposal_id']}  {p['business_date']}  {p['action']:<18} {p['break_id'] or '-'}  "
                       f"{p['amount']} {p['currency']}  by {p['proposed_by_name']}: {p['note'] or ''}")


@breaks.command("signoff")
@_date
@_tenant
@click.option("--note")
@_user
def signoff_cmd(day: dt.datetime, tenant: str, note: str | None, username: str | None) -> None:
    """Sign off (and lock) a tenant-day (approver role; every break above materiality explained)."""
    from financeops_pipeline.workbench import views

    _perform(tenant, username, views.sign_off, day.date(), note)


@click.group("users")
def users() -> None:
    """Workbench users and their roles per tenant."""


@users.command("add")
@click.argument("name")
@click.option("--tenant", required=True)
@click.option("--role", required=True, type=click.Choice(["viewer", "preparer", "approver", "admin"]))
@click.option("--display-name")
@click.option("--oidc-only", is_flag=True, help="No password: the user signs in through the OIDC provider.")
def users_add(name: str, tenant: str, role: str, display_name: str | None, oidc_only: bool) -> None:
    """Create a user (or give an existing one a role in another tenant). The password is read from
    FINANCEOPS_USER_PASSWORD or asked twice; there is never a default one."""
    import psycopg

    from financeops_pipeline.runtime import runtime
    from financeops_pipeline.workbench.users import AuthError, add_user

    validate_tenant(tenant)
    password = None
    if not oidc_only:
        password = os.environ.get("FINANCEOPS_USER_PASSWORD")
        with runtime() as rt, psycopg.connect(rt.db_url) as conn:
            exists = conn.execute("SELECT 1 FROM workbench.users WHERE username = %s", (name,)).fetchone()
        if not password and not exists:
            password = click.prompt(f"password for {name}", hide_input=True, confirmation_prompt=True)
    with runtime() as rt, psycopg.connect(rt.db_url) as conn:
        try:
            user = add_user(conn, name, tenant, role, password, display_name)
        except AuthError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"user {user.username}: " + ", ".join(f"{t} {r}" for t, r in user.roles.items()))


@users.command("link-oidc")
@click.argument("name")
@click.option("--issuer", required=True)
@click.option("--subject", required=True, help="The provider's `sub` claim for this person.")
def users_link_oidc(name: str, issuer: str, subject: str) -> None:
    """Let a user sign in through the OIDC provider as (issuer, subject)."""
    import psycopg

    from financeops_pipeline.runtime import runtime
    from financeops_pipeline.workbench.users import link_oidc

    with runtime() as rt, psycopg.connect(rt.db_url) as conn:
        link_oidc(conn, name, issuer, subject)
    click.echo(f"user {name} signs in as {subject} of {issuer}")


@click.command("workbench")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
def workbench(host: str, port: int) -> None:
    """Start the breaks workbench (web application) on HOST:PORT."""
    import uvicorn

    from financeops_pipeline.runtime import runtime
    from financeops_pipeline.workbench.web.app import create_app

    with runtime() as rt:
        click.echo(f"workbench on http://{host}:{port} (Ctrl-C stops it)")
        # access log off: paths carry break ids and filters, and the log has no need of them
        uvicorn.run(create_app(rt.db_url, rt.settings.archive_dir), host=host, port=port, log_level="warning",
                    access_log=False)


def print_break_trace(conn, tenant: str, break_id: str) -> bool:
    """A break's whole history: the reconciliation's state day by day, every proposal and decision, every event.
    False when the reference is no break."""
    from financeops_pipeline.workbench.actions import rows

    days = rows(conn, "break_days", tenant=tenant, break_id=break_id)
    events = rows(conn, "history", tenant=tenant, break_id=break_id)
    proposals = rows(conn, "proposals_of_break", tenant=tenant, break_id=break_id)
    item_days = rows(conn, "break_item_days", tenant=tenant, break_id=break_id)
    if not (days or events or proposals or item_days):
        return False
    click.echo(f"break {break_id}")
    for d in item_days:
        click.echo(f"  {d['business_date']} {d['items']} item(s): {d['states']}")
    for d in days:
        details = json.loads(d["details"] or "null") or {}
        why = f"  reopened: {details['reopened']['why']}" if isinstance(details, dict) and "reopened" in details else ""
        click.echo(f"  {d['business_date']} {d['lifecycle']:<10} {d['amount_minor']} {d['currency'].strip()} "
                   f"age {d['age_days']}{why}")
    for p in proposals:
        click.echo(f"  proposal {p['proposal_id']} {p['action']} on {p['business_date']}: "
                   f"{p['decision'] or 'waiting'}" + (f", entry {p['entry_key']} on {p['booked_on']}"
                                                      if p["entry_key"] else ""))
    for e in events:
        click.echo(f"  {e['at']:%Y-%m-%d %H:%M:%S%z} {e['actor_name']:<14} {e['kind']:<10}"
                   + (f" {e['action']} #{e['proposal_id']}" if e["action"] else "")
                   + (f" before {e['before']}" if e["before"] else "") + (f" after {e['after']}" if e["after"] else "")
                   + (f" note: {e['note']}" if e["note"] else ""))
    return True
