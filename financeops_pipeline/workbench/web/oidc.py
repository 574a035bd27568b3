"""Sign-in through an OpenID Connect provider (authlib), when one is configured in the environment:

FINANCEOPS_OIDC_ISSUER (e.g. https://login.example.com/realms/finance: its /.well-known/openid-configuration is
read), FINANCEOPS_OIDC_CLIENT_ID, FINANCEOPS_OIDC_CLIENT_SECRET, and FINANCEOPS_WORKBENCH_SECRET (signs the short
session cookie that carries the OIDC state and nonce across the redirect; never defaulted). The provider proves
who someone is; their roles are the workbench's own: an identity signs in only once linked to a local user
(`financeops users link-oidc NAME --issuer ... --subject ...`).
"""

from __future__ import annotations

import os
from typing import Any

import psycopg
from fastapi import FastAPI, Request

from financeops_pipeline.workbench.users import User, user_for_oidc

ENV = ("FINANCEOPS_OIDC_ISSUER", "FINANCEOPS_OIDC_CLIENT_ID", "FINANCEOPS_OIDC_CLIENT_SECRET")


class OIDCError(ValueError):
    """The provider's answer could not be used."""


def settings() -> dict[str, str] | None:
    """The OIDC settings, or None when no provider is configured; half a configuration is an error."""
    values = {name: os.environ.get(name, "") for name in ENV}
    if not any(values.values()):
        return None
    missing = [name for name, value in values.items() if not value]
    if not os.environ.get("FINANCEOPS_WORKBENCH_SECRET"):
        missing.append("FINANCEOPS_WORKBENCH_SECRET")
    if missing:
        raise OIDCError(f"OIDC sign-in is half configured: set {', '.join(missing)}")
    return values


def configure(app: FastAPI) -> Any | None:
    """Register the provider with authlib (and the signed state cookie it needs); None without a provider."""
    values = settings()
    if values is None:
        return None
    from authlib.integrations.starlette_client import OAuth
    from starlette.middleware.sessions import SessionMiddleware

    app.add_middleware(SessionMiddleware, secret_key=os.environ["FINANCEOPS_WORKBENCH_SECRET"],
                       session_cookie="financeops_oidc_state", max_age=600, same_site="lax",
                       https_only=os.environ.get("FINANCEOPS_WORKBENCH_SECURE_COOKIES", "") == "1")
    oauth = OAuth()
    issuer = values["FINANCEOPS_OIDC_ISSUER"].rstrip("/")
    oauth.register("provider", client_id=values["FINANCEOPS_OIDC_CLIENT_ID"],
                   client_secret=values["FINANCEOPS_OIDC_CLIENT_SECRET"],
                   server_metadata_url=f"{issuer}/.well-known/openid-configuration",
                   client_kwargs={"scope": "openid profile email", "code_challenge_method": "S256"})
    return oauth.create_client("provider")


async def claims(provider: Any, request: Request) -> dict[str, Any]:
    """The ID token's claims after the provider redirected back (authlib checks state, nonce and signature)."""
    try:
        token = await provider.authorize_access_token(request)
    except Exception as exc:   # authlib raises its own errors and httpx's; the person sees one line
        raise OIDCError(f"the identity provider's answer was refused: {type(exc).__name__}") from None
    found = token.get("userinfo") or {}
    if not found.get("sub") or not found.get("iss"):
        raise OIDCError("the identity provider sent no subject")
    return dict(found)


def local_user(conn: psycopg.Connection, found: dict[str, Any]) -> User:
    """The workbench user linked to the identity (issuer, subject)."""
    return user_for_oidc(conn, found["iss"], found["sub"])
