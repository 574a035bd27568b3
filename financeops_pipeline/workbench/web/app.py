"""The workbench web application (FastAPI, server-rendered Jinja2 pages): thin routes over the domain modules.

Every request of a signed-in person runs as the tenant's own Postgres role (`tenant_workbench`), and a tenant
the person has no role in answers 404, the same as one that does not exist. Forms carry the session's CSRF
token; the session cookie is HttpOnly and SameSite=Lax. Nothing secret or personal is logged.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import logging
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import psycopg
from fastapi import Depends, FastAPI, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from financeops_pipeline.money import to_minor
from financeops_pipeline.workbench import actions, views
from financeops_pipeline.workbench.actions import ActionRefused, Actor
from financeops_pipeline.workbench.config import load_config
from financeops_pipeline.workbench.service import perform, tenant_workbench
from financeops_pipeline.workbench.users import (
    AuthError,
    Session,
    User,
    auth_connection,
    authenticate,
    close_session,
    open_session,
    resume_session,
    role_at_least,
)
from financeops_pipeline.workbench.web import oidc

HERE = Path(__file__).parent
COOKIE = "financeops_session"
LOGIN_CSRF_COOKIE = "financeops_login_csrf"
log = logging.getLogger("financeops.workbench")


@dataclass
class Context:
    """What a tenant route works with: the session, the person's role in the tenant, a tenant connection."""

    session: Session
    actor: Actor
    conn: psycopg.Connection


def create_app(conninfo: str, archive_dir: Path) -> FastAPI:
    """The application for one database (the owner's URL: each request switches to the tenant's role) and its
    archive (record files the re-reconciliation after a resolution reads)."""
    config = load_config()
    secure = os.environ.get("FINANCEOPS_WORKBENCH_SECURE_COOKIES", "") == "1"
    app = FastAPI(title="financeops workbench", docs_url=None, redoc_url=None, openapi_url=None)
    templates = Jinja2Templates(directory=HERE / "templates")
    templates.env.globals["reason_codes"] = config.reason_codes
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    provider = oidc.configure(app)

    def current_session(request: Request) -> Session:
        token = request.cookies.get(COOKIE)
        if token:
            with auth_connection(conninfo) as conn:
                session = resume_session(conn, token)
            if session:
                return session
        if request.url.path.startswith("/api/"):
            raise HTTPException(401, "sign in first")
        raise HTTPException(303, headers={"Location": "/login?" + urlencode({"next": request.url.path})})

    def tenant_context(tenant: str, session: Session = Depends(current_session)) -> Iterator[Context]:
        role = session.user.role_in(tenant)
        if role is None:
            raise HTTPException(404, "not found")
        with tenant_workbench(conninfo, tenant) as conn:
            yield Context(session, Actor(session.user.user_id, session.user.username, tenant, role), conn)

    def check_csrf(request: Request, session: Session, token: str) -> None:
        if not hmac.compare_digest(token or "", session.csrf_token):
            raise HTTPException(403, "the form is stale or forged (CSRF token mismatch): reload the page")
        origin = request.headers.get("origin")
        if origin and origin.rstrip("/") != f"{request.url.scheme}://{request.url.netloc}":
            raise HTTPException(403, "cross-origin form refused")

    def page(request: Request, name: str, ctx: Context | None, **values: Any) -> HTMLResponse:
        user: User | None = ctx.session.user if ctx else None
        common = {"user": user, "tenant": ctx.actor.tenant if ctx else None, "role": ctx.actor.role if ctx else None,
                  "csrf": ctx.session.csrf_token if ctx else "", "tenants": sorted(user.roles) if user else [],
                  "flash": request.query_params.get("msg"), "error": request.query_params.get("err"),
                  "oidc": provider is not None}
        if ctx:
            common["waiting_count"] = len(views.waiting_for(ctx.conn, ctx.actor))
        return templates.TemplateResponse(request, name, {**common, **values})

    def back(url: str, outcome: actions.Outcome | None = None, error: str | None = None) -> RedirectResponse:
        query = {"msg": outcome.message} if outcome else {"err": error} if error else {}
        return RedirectResponse(url + ("?" + urlencode(query) if query else ""), status_code=303)

    def run(ctx: Context, url: str, action, *args: Any, **kwargs: Any) -> RedirectResponse:
        try:
            return back(url, perform(archive_dir, ctx.conn, ctx.actor, action, *args, **kwargs))
        except ActionRefused as exc:
            return back(url, error=str(exc))
        except (psycopg.errors.CheckViolation, psycopg.errors.RestrictViolation) as exc:
            return back(url, error=actions.explain_refusal(exc))

    def latest_day(conn: psycopg.Connection, tenant: str) -> dt.date | None:
        row = conn.execute("SELECT max(business_date) FROM recon.runs WHERE tenant = %s", (tenant,)).fetchone()
        return row[0] if row else None

    # --- sign-in ---------------------------------------------------------------------------------------------

    @app.get("/login", response_class=HTMLResponse)
    def login_form(request: Request, next: str = "/") -> HTMLResponse:
        token = secrets.token_urlsafe(32)
        response = page(request, "login.html", None, next=_safe_next(next), login_csrf=token)
        response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="lax", secure=secure, max_age=3600)
        return response

    @app.post("/login")
    def login(request: Request, username: str = Form(...), password: str = Form(...), next: str = Form("/"),
              csrf_token: str = Form("")) -> Response:
        if not hmac.compare_digest(csrf_token, request.cookies.get(LOGIN_CSRF_COOKIE, "")):
            raise HTTPException(403, "the sign-in form is stale: reload it")
        try:
            with auth_connection(conninfo) as conn:
                session = open_session(conn, authenticate(conn, username, password), config.session_hours)
        except AuthError as exc:
            log.info("sign-in refused")   # no user name in the log
            return back("/login", error=str(exc))
        return _signed_in(session, next)

    def _signed_in(session: Session, next: str) -> Response:
        response = RedirectResponse(_safe_next(next), status_code=303)
        response.set_cookie(COOKIE, session.token, httponly=True, samesite="lax", secure=secure,
                            max_age=int(config.session_hours * 3600))
        response.delete_cookie(LOGIN_CSRF_COOKIE)
        return response

    if provider is not None:
        @app.get("/login/oidc")
        async def login_oidc(request: Request):
            return await provider.authorize_redirect(request, str(request.url_for("oidc_callback")))

        @app.get("/auth/oidc/callback", name="oidc_callback")
        async def oidc_callback(request: Request) -> Response:
            try:
                claims = await oidc.claims(provider, request)
                with auth_connection(conninfo) as conn:
                    session = open_session(conn, oidc.local_user(conn, claims), config.session_hours)
            except (AuthError, oidc.OIDCError) as exc:
                return back("/login", error=str(exc))
            return _signed_in(session, "/")

    @app.post("/logout")
    def logout(request: Request, csrf_token: str = Form(""), session: Session = Depends(current_session)) -> Response:
        check_csrf(request, session, csrf_token)
        with auth_connection(conninfo) as conn:
            close_session(conn, session.token)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE)
        return response

    # --- pages -------------------------------------------------------------------------------------------------

    @app.get("/")
    def home(session: Session = Depends(current_session)) -> Response:
        if not session.user.roles:
            raise HTTPException(403, "you have no role in any tenant yet (financeops users add)")
        return RedirectResponse(f"/t/{sorted(session.user.roles)[0]}", status_code=303)

    @app.get("/t/{tenant}")
    def tenant_home(ctx: Context = Depends(tenant_context)) -> Response:
        day = latest_day(ctx.conn, ctx.actor.tenant)
        if day is None:
            raise HTTPException(404, "nothing reconciled yet for this tenant")
        return RedirectResponse(f"/t/{ctx.actor.tenant}/day/{day}", status_code=303)

    @app.get("/t/{tenant}/day/{day}", response_class=HTMLResponse)
    def day_page(request: Request, day: dt.date, ctx: Context = Depends(tenant_context)) -> HTMLResponse:
        try:
            listed = views.open_breaks(ctx.conn, ctx.actor.tenant, day, dict(request.query_params), config)
        except (ActionRefused, ValueError) as exc:
            listed = views.open_breaks(ctx.conn, ctx.actor.tenant, day, {}, config)
            listed["filter_error"] = str(exc)
        days = [r[0] for r in ctx.conn.execute("SELECT business_date FROM recon.runs WHERE tenant = %s"
                                               " ORDER BY 1 DESC LIMIT 31", (ctx.actor.tenant,)).fetchall()]
        return page(request, "breaks.html", ctx, day=day, days=days, listed=listed,
                    signoff=views.signoff_status(ctx.conn, ctx.actor.tenant, day, config))

    @app.get("/t/{tenant}/day/{day}/break/{break_id}", response_class=HTMLResponse)
    def break_view(request: Request, day: dt.date, break_id: str, ctx: Context = Depends(tenant_context)):
        try:
            shown = views.break_page(ctx.conn, ctx.actor.tenant, day, break_id, config)
        except ActionRefused as exc:
            raise HTTPException(404, str(exc)) from None
        members = [r[0] for r in ctx.conn.execute("SELECT username FROM workbench.tenant_members WHERE active AND"
                                                  " role <> 'viewer' ORDER BY 1").fetchall()]
        return page(request, "break.html", ctx, day=day, page=shown, members=members,
                    adjust_accounts=config.adjust_accounts, locked=views.is_locked(ctx.conn, ctx.actor.tenant, day),
                    loads=json.loads, can_edit=role_at_least(ctx.actor.role, "preparer"))

    @app.post("/t/{tenant}/day/{day}/break/{break_id}/{action}")
    def break_action(request: Request, day: dt.date, break_id: str, action: str, csrf_token: str = Form(""),
                     assignee: str = Form(""), text: str = Form(""), reference: str = Form(""),
                     reason: str = Form(""), note: str = Form(""), until: str = Form(""),
                     adjust_account: str = Form(""), amount: str = Form(""), left: list[str] = Form([]),
                     right: list[str] = Form([]), item: str = Form(""),
                     ctx: Context = Depends(tenant_context)) -> Response:
        check_csrf(request, ctx.session, csrf_token)
        url = f"/t/{ctx.actor.tenant}/day/{day}/break/{break_id}"
        try:
            if action == "assign":
                return run(ctx, url, actions.assign, day, break_id, assignee or None)
            if action == "comment":
                return run(ctx, url, actions.comment, day, break_id, text)
            if action == "reference":
                return run(ctx, url, actions.attach_reference, day, break_id, reference)
            if action == "accept":
                return run(ctx, url, actions.accept, day, break_id, reason, note,
                           dt.date.fromisoformat(until) if until else None)
            if action == "adjust":
                currency = views.break_page(ctx.conn, ctx.actor.tenant, day, break_id, config).brk["currency"]
                amount_minor = to_minor(Decimal(amount.strip()), currency) if amount.strip() else None
                return run(ctx, url, actions.adjust, day, break_id, adjust_account, note, amount_minor)
            if action == "match":
                return run(ctx, url, actions.match, day, left, right, note, adjust_account or None, break_id)
            if action == "confirm-suggestion":
                return run(ctx, url, actions.confirm_suggestion, day, item, note)
            if action == "reject-suggestion":
                return run(ctx, url, actions.reject_suggestion, day, item, note)
        except (ValueError, InvalidOperation) as exc:
            return back(url, error=f"{type(exc).__name__}: {exc}")
        raise HTTPException(404, "no such action")

    @app.get("/t/{tenant}/approvals", response_class=HTMLResponse)
    def approvals(request: Request, ctx: Context = Depends(tenant_context)) -> HTMLResponse:
        return page(request, "approvals.html", ctx, waiting=views.waiting_for(ctx.conn, ctx.actor),
                    mine=views.my_proposals_waiting(ctx.conn, ctx.actor), loads=json.loads)

    @app.post("/t/{tenant}/proposal/{proposal_id}/{decision}")
    def decide(request: Request, proposal_id: int, decision: str, csrf_token: str = Form(""), note: str = Form(""),
               back_to: str = Form(""), ctx: Context = Depends(tenant_context)) -> Response:
        check_csrf(request, ctx.session, csrf_token)
        url = _safe_next(back_to) if back_to else f"/t/{ctx.actor.tenant}/approvals"
        found = {"approve": actions.approve, "reject": actions.reject, "withdraw": actions.withdraw}
        if decision == "unmatch":
            day = dt.date.fromisoformat(request.query_params.get("day") or str(latest_day(ctx.conn, ctx.actor.tenant)))
            return run(ctx, url, actions.unmatch, day, proposal_id, note)
        if decision not in found:
            raise HTTPException(404, "no such decision")
        return run(ctx, url, found[decision], proposal_id, note)

    @app.get("/t/{tenant}/day/{day}/signoff", response_class=HTMLResponse)
    def signoff_page(request: Request, day: dt.date, ctx: Context = Depends(tenant_context)) -> HTMLResponse:
        return page(request, "signoff.html", ctx, day=day, status=views.signoff_status(ctx.conn, ctx.actor.tenant,
                                                                                       day, config))

    @app.post("/t/{tenant}/day/{day}/signoff")
    def signoff(request: Request, day: dt.date, csrf_token: str = Form(""), note: str = Form(""),
                ctx: Context = Depends(tenant_context)) -> Response:
        check_csrf(request, ctx.session, csrf_token)
        return run(ctx, f"/t/{ctx.actor.tenant}/day/{day}/signoff", views.sign_off, day, note or None)

    # --- JSON API (the same reads as the pages) ----------------------------------------------------------------

    @app.get("/api/me")
    def api_me(session: Session = Depends(current_session)) -> JSONResponse:
        return JSONResponse({"username": session.user.username, "roles": session.user.roles})

    @app.get("/api/t/{tenant}/day/{day}/breaks")
    def api_breaks(request: Request, day: dt.date, ctx: Context = Depends(tenant_context)) -> JSONResponse:
        return _json(views.open_breaks(ctx.conn, ctx.actor.tenant, day, dict(request.query_params), config))

    @app.get("/api/t/{tenant}/day/{day}/break/{break_id}")
    def api_break(day: dt.date, break_id: str, ctx: Context = Depends(tenant_context)) -> JSONResponse:
        try:
            return _json(views.break_page(ctx.conn, ctx.actor.tenant, day, break_id, config).__dict__)
        except ActionRefused as exc:
            raise HTTPException(404, str(exc)) from None

    @app.get("/api/t/{tenant}/approvals")
    def api_approvals(ctx: Context = Depends(tenant_context)) -> JSONResponse:
        return _json({"waiting": views.waiting_for(ctx.conn, ctx.actor)})

    @app.get("/api/t/{tenant}/day/{day}/signoff")
    def api_signoff(day: dt.date, ctx: Context = Depends(tenant_context)) -> JSONResponse:
        return _json(views.signoff_status(ctx.conn, ctx.actor.tenant, day, config))

    @app.exception_handler(StarletteHTTPException)
    def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 303:
            return RedirectResponse(exc.headers["Location"], status_code=303)
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
        return templates.TemplateResponse(request, "error.html", {"status": exc.status_code, "detail": exc.detail,
                                                                  "user": None, "tenants": []},
                                          status_code=exc.status_code)

    return app


def _safe_next(target: str) -> str:
    """Only a path of this site (no open redirect to another host)."""
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/"


def _json(value: Any) -> JSONResponse:
    return JSONResponse(json.loads(json.dumps(value, default=_plain)))


def _plain(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "__dict__"):
        return value.__dict__
    return str(value)
