"""People and sign-in: local users with argon2id password hashes, roles per tenant, server-side sessions.

The sign-in path runs as the role `financeops_workbench_auth` (migration 0045), which may read users and
memberships and keep sessions, and nothing else; tenant data is read by every request as the tenant's own role.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import psycopg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from financeops_pipeline.landing import validate_tenant

ROLES = ("viewer", "preparer", "approver", "admin")
MIN_PASSWORD_LENGTH = 12
_hasher = PasswordHasher()   # argon2id with the library's current recommended parameters
# Verified when the user does not exist, so that an unknown name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class AuthError(ValueError):
    """Sign-in refused, or a user or role that is not allowed."""


@dataclass(frozen=True)
class User:
    user_id: int
    username: str
    display_name: str
    roles: dict[str, str] = field(default_factory=dict)   # tenant -> role

    def role_in(self, tenant: str) -> str | None:
        return self.roles.get(tenant)


def role_at_least(role: str | None, needed: str) -> bool:
    return role is not None and ROLES.index(role) >= ROLES.index(needed)


@contextmanager
def auth_connection(conninfo: str) -> Iterator[psycopg.Connection]:
    """A connection confined to the sign-in tables."""
    with psycopg.connect(conninfo, application_name="financeops-workbench-auth") as conn:
        conn.execute("SET ROLE financeops_workbench_auth")
        yield conn


def add_user(conn: psycopg.Connection, username: str, tenant: str, role: str, password: str | None,
             display_name: str | None = None) -> User:
    """Create the user if new (with a password, unless they sign in through OIDC) and give them `role` in
    `tenant`; an existing user keeps their password unless a new one is given. Runs as the database owner."""
    validate_tenant(tenant)
    if role not in ROLES:
        raise AuthError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        raise AuthError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    hashed = _hasher.hash(password) if password is not None else None
    with conn.transaction():
        conn.execute("SELECT ops.register_tenant(%s)", (tenant,))
        row = conn.execute(
            "INSERT INTO workbench.users (username, display_name, password_hash) VALUES (%s, %s, %s)"
            " ON CONFLICT (username) DO UPDATE SET password_hash = coalesce(excluded.password_hash,"
            " workbench.users.password_hash), display_name = coalesce(%s, workbench.users.display_name)"
            " RETURNING user_id", (username, display_name or username, hashed, display_name)).fetchone()
        conn.execute("INSERT INTO workbench.memberships (user_id, tenant, role) VALUES (%s, %s, %s)"
                     " ON CONFLICT (user_id, tenant) DO UPDATE SET role = excluded.role", (row[0], tenant, role))
    return load_user(conn, row[0])


def link_oidc(conn: psycopg.Connection, username: str, issuer: str, subject: str) -> None:
    """Let an existing user sign in through the OIDC provider as (issuer, subject). Runs as the owner."""
    updated = conn.execute("UPDATE workbench.users SET oidc_issuer = %s, oidc_subject = %s WHERE username = %s",
                           (issuer, subject, username)).rowcount
    conn.commit()
    if not updated:
        raise AuthError(f"no user {username!r}")


def load_user(conn: psycopg.Connection, user_id: int) -> User:
    row = conn.execute("SELECT user_id, username, display_name FROM workbench.users"
                       " WHERE user_id = %s AND disabled_at IS NULL", (user_id,)).fetchone()
    if row is None:
        raise AuthError("no such user, or the user is disabled")
    roles = dict(conn.execute("SELECT tenant, role FROM workbench.memberships WHERE user_id = %s ORDER BY tenant",
                              (user_id,)).fetchall())
    return User(row[0], row[1], row[2], roles)


def authenticate(conn: psycopg.Connection, username: str, password: str) -> User:
    """The user whose password this is; AuthError otherwise (the same message for an unknown name)."""
    row = conn.execute("SELECT user_id, password_hash FROM workbench.users WHERE username = %s AND disabled_at IS NULL",
                       (username,)).fetchone()
    try:
        _hasher.verify(row[1] if row and row[1] else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        raise AuthError("unknown user or wrong password") from None
    if not row or not row[1]:
        raise AuthError("unknown user or wrong password")
    return load_user(conn, row[0])


def user_for_oidc(conn: psycopg.Connection, issuer: str, subject: str) -> User:
    """The local user linked to an OIDC identity: the provider proves who it is, the roles are ours."""
    row = conn.execute("SELECT user_id FROM workbench.users WHERE oidc_issuer = %s AND oidc_subject = %s"
                       " AND disabled_at IS NULL", (issuer, subject)).fetchone()
    if row is None:
        raise AuthError("this identity is not linked to a workbench user (financeops users link-oidc)")
    return load_user(conn, row[0])


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Session:
    token: str
    csrf_token: str
    user: User


def open_session(conn: psycopg.Connection, user: User, hours: float) -> Session:
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    conn.execute("INSERT INTO workbench.sessions (token_sha256, user_id, csrf_token, expires_at)"
                 " VALUES (%s, %s, %s, clock_timestamp() + %s)",
                 (_digest(token), user.user_id, csrf, dt.timedelta(hours=hours)))
    conn.commit()
    return Session(token, csrf, user)


def resume_session(conn: psycopg.Connection, token: str) -> Session | None:
    """The session of a cookie's token, while it is neither expired nor revoked and its user is active."""
    row = conn.execute("SELECT s.user_id, s.csrf_token FROM workbench.sessions s"
                       " JOIN workbench.users u USING (user_id) WHERE s.token_sha256 = %s"
                       " AND s.revoked_at IS NULL AND s.expires_at > clock_timestamp() AND u.disabled_at IS NULL",
                       (_digest(token),)).fetchone()
    if row is None:
        conn.rollback()
        return None
    user = load_user(conn, row[0])
    conn.rollback()
    return Session(token, row[1], user)


def close_session(conn: psycopg.Connection, token: str) -> None:
    conn.execute("UPDATE workbench.sessions SET revoked_at = clock_timestamp() WHERE token_sha256 = %s",
                 (_digest(token),))
    conn.commit()
