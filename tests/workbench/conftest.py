"""Workbench fixtures: a scratch copy of the sample run (the three sample days, every stage) per test, with a
preparer and an approver in each sample tenant."""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from tests.reports.sample_run import clone_sample, drop_database

PASSWORD = "correct horse battery"   # test users only; the CLI never has a default password
_counter = itertools.count()


@dataclass
class Bench:
    url: str
    users: dict[str, object]   # username -> User
    archive: Path              # this copy's own archive (record files and reconciliation states)

    def actor(self, username: str, tenant: str = "acme"):
        from financeops_pipeline.workbench.actions import Actor

        user = self.users[username]
        return Actor(user.user_id, user.username, tenant, user.role_in(tenant))


def add_sample_users(url: str) -> dict[str, object]:
    from financeops_pipeline.workbench.users import add_user

    users = {}
    with psycopg.connect(url) as conn:
        for tenant in ("acme", "globex"):
            for name, role in (("prep", "preparer"), ("appr", "approver"), ("view", "viewer")):
                users[f"{tenant}_{name}"] = add_user(conn, f"{tenant}_{name}", tenant, role, PASSWORD)
        add_user(conn, "appr2", "acme", "approver", PASSWORD)
        users["appr2"] = add_user(conn, "appr2", "globex", "approver", None)
    return users


_TEMPLATE = "fo_wb_template"


@pytest.fixture(scope="session")
def sample_users(pg_target, sample) -> Iterator[dict[str, object]]:
    """The sample run with the users added, once per session, as the template of every test's copy: the users'
    argon2id hashes (the library's recommended cost, ~0.25 s each) are computed once, not in every test."""
    url = clone_sample(pg_target, sample, _TEMPLATE)
    try:
        yield add_sample_users(url)
    finally:
        drop_database(pg_target, _TEMPLATE)


@pytest.fixture
def bench(pg_target, sample, sample_users, tmp_path) -> Iterator[Bench]:
    from financeops_pipeline.db.pools import close_pools

    name = f"fo_wb_{os.getpid()}_{next(_counter)}"
    close_pools()   # a database with open sessions cannot be a template
    with psycopg.connect(pg_target.admin_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE {_TEMPLATE}")
    archive = tmp_path / "archive"
    shutil.copytree(sample.archive, archive)   # re-reconciled days write their states here, not in the sample's
    try:
        yield Bench(pg_target.url(name), sample_users, archive)
    finally:
        drop_database(pg_target, name)
