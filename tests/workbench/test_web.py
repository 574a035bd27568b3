"""The web application in-process (Starlette's TestClient over the real app and database): sign-in, CSRF, every
page, and tenant isolation tried on every route the app has."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from starlette.routing import Route

from financeops_pipeline.workbench.web.app import create_app
from tests.workbench.conftest import PASSWORD

DAY = "2026-11-04"


def _client(bench) -> TestClient:
    return TestClient(create_app(bench.url, bench.archive), follow_redirects=False)


def sign_in(client: TestClient, username: str) -> str:
    """Sign in through the form; returns the page's CSRF token."""
    form = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    answer = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token, "next": "/"})
    assert answer.status_code == 303 and answer.headers["location"] == "/", answer.text
    return csrf_of(client.get(f"/t/{username.split('_')[0]}/day/{DAY}").text)


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_sign_in_is_required_and_a_wrong_password_is_refused(bench):
    client = _client(bench)
    assert client.get(f"/t/acme/day/{DAY}").status_code == 303
    assert client.get("/api/me").status_code == 401
    form = client.get("/login").text
    bad = client.post("/login", data={"username": "acme_prep", "password": "wrong password!",
                                      "csrf_token": csrf_of(form)})
    assert "wrong+password" in bad.headers["location"]
    stale = client.post("/login", data={"username": "acme_prep", "password": PASSWORD, "csrf_token": "forged"})
    assert stale.status_code == 403
    sign_in(client, "acme_prep")
    assert client.get("/api/me").json() == {"username": "acme_prep", "roles": {"acme": "preparer"}}


def test_the_pages_show_the_days_breaks_and_a_break_side_by_side(bench):
    client = _client(bench)
    sign_in(client, "acme_prep")
    listed = client.get(f"/t/acme/day/{DAY}")
    assert listed.status_code == 200
    for text in ("amount mismatch", "missing in internal", "bank unmatched", "217.00 USD"):
        assert text in listed.text
    assert "bank unmatched" not in client.get(f"/t/acme/day/{DAY}", params={"break_type": "amount_mismatch"}).text
    brk = client.get(f"/api/t/acme/day/{DAY}/breaks", params={"break_type": "amount_mismatch"}).json()["breaks"][0]
    page = client.get(f"/t/acme/day/{DAY}/break/{brk['break_id']}")
    assert page.status_code == 200
    # both items side by side with their imported records, and the difference
    for text in ("acme-T0016", "ch_3Q0016AcmeSample", "50.01", "difference"):
        assert text in page.text
    assert client.get(f"/t/acme/day/{DAY}/signoff").status_code == 200
    assert client.get("/t/acme/approvals").status_code == 200


def test_a_form_without_the_sessions_csrf_token_is_refused(bench):
    client = _client(bench)
    csrf = sign_in(client, "acme_prep")
    brk = client.get(f"/api/t/acme/day/{DAY}/breaks").json()["breaks"][0]["break_id"]
    url = f"/t/acme/day/{DAY}/break/{brk}/comment"
    assert client.post(url, data={"text": "no token"}).status_code == 403
    assert client.post(url, data={"text": "forged", "csrf_token": "x" * 43}).status_code == 403
    assert client.post(url, data={"text": "other site", "csrf_token": csrf},
                       headers={"origin": "https://evil.example"}).status_code == 403
    ok = client.post(url, data={"text": "looks like a wire", "csrf_token": csrf})
    assert ok.status_code == 303 and "comment+added" in ok.headers["location"]


def test_a_preparer_proposes_and_cannot_approve_an_approver_approves(bench):
    prep, appr = _client(bench), _client(bench)
    csrf = sign_in(prep, "acme_prep")
    brk = prep.get(f"/api/t/acme/day/{DAY}/breaks", params={"break_type": "amount_mismatch"}).json()["breaks"][0]
    answer = prep.post(f"/t/acme/day/{DAY}/break/{brk['break_id']}/adjust",
                       data={"adjust_account": "write_offs", "note": "0.01 more from Stripe", "csrf_token": csrf})
    assert "awaits+an+approver" in answer.headers["location"]
    proposal = prep.get("/api/t/acme/approvals").json()["waiting"]
    assert proposal == []   # a preparer has nothing to approve, and never their own
    refused = prep.post("/t/acme/proposal/1/approve", data={"csrf_token": csrf})
    assert "approver+role" in refused.headers["location"]
    csrf_a = sign_in(appr, "acme_appr")
    waiting = appr.get("/api/t/acme/approvals").json()["waiting"]
    assert [(w["action"], w["proposed_by_name"]) for w in waiting] == [("adjust", "acme_prep")]
    done = appr.post(f"/t/acme/proposal/{waiting[0]['proposal_id']}/approve", data={"csrf_token": csrf_a})
    assert "approved" in done.headers["location"]
    history = appr.get(f"/api/t/acme/day/{DAY}/break/{brk['break_id']}").json()["history"]
    assert [(e["kind"], e["actor_name"]) for e in history] == [("proposed", "acme_prep"), ("approved", "acme_appr")]


def _fill(path: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), "x"), path)


def test_a_user_of_one_tenant_gets_nothing_of_another_through_any_route(bench):
    """Every route of the app, with tenant B's real ids, as a user who has a role in A only: nothing of B comes back
    (404 for B's pages and API, 403/404 for B's forms), and B's data is unchanged."""
    app = create_app(bench.url, bench.archive)
    client = TestClient(app, follow_redirects=False)
    csrf = sign_in(client, "acme_appr")
    other = TestClient(app, follow_redirects=False)
    sign_in(other, "globex_prep")
    globex_break = other.get(f"/api/t/globex/day/{DAY}/breaks").json()["breaks"][0]["break_id"]
    values = {"tenant": "globex", "day": DAY, "break_id": globex_break, "proposal_id": "1", "action": "comment",
              "decision": "approve"}
    tried = 0
    for route in app.routes:
        if not isinstance(route, Route) or "{tenant}" not in route.path:
            continue
        path = _fill(route.path, values)
        for method in route.methods - {"HEAD"}:
            answer = client.request(method, path, data={"csrf_token": csrf, "text": "x", "note": "x"})
            tried += 1
            assert answer.status_code == 404, (method, route.path, answer.status_code)
            assert globex_break not in answer.text and "globex-T" not in answer.text
    assert tried >= 12
    # and the tenant's own role cannot read the other tenant's workbench rows either (row-level security)
    from financeops_pipeline.workbench.service import tenant_workbench

    with tenant_workbench(bench.url, "acme") as conn:
        for table in ("workbench.events", "workbench.proposals", "workbench.decisions", "workbench.day_signoffs",
                      "workbench.tenant_members", "recon.breaks"):
            assert conn.execute(f"SELECT count(*) FROM {table} WHERE tenant = 'globex'").fetchone()[0] == 0
        with pytest.raises(Exception, match="permission denied"):
            conn.execute("SELECT password_hash FROM workbench.users")


def test_the_json_api_needs_the_tenant_role_and_rejects_unknown_tenants_alike(bench):
    client = _client(bench)
    sign_in(client, "acme_view")
    assert client.get(f"/api/t/acme/day/{DAY}/breaks").status_code == 200
    for tenant in ("globex", "nosuchtenant"):
        assert client.get(f"/api/t/{tenant}/day/{DAY}/breaks").status_code == 404
    brk = client.get(f"/api/t/acme/day/{DAY}/breaks").json()["breaks"][0]["break_id"]
    csrf = csrf_of(client.get(f"/t/acme/day/{DAY}").text)
    refused = client.post(f"/t/acme/day/{DAY}/break/{brk}/comment", data={"text": "x", "csrf_token": csrf})
    assert "viewer" in refused.headers["location"]
