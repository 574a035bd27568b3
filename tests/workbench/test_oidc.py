"""Sign-in through OIDC, offline: a small identity provider of the test's own on loopback (discovery, authorize,
token, JWKS; RS256 ID tokens signed with a key made here), and the workbench's real authlib client against it."""

from __future__ import annotations

import secrets
import threading
import time
import urllib.parse
from collections.abc import Iterator

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient

from tests.webserver.processes import free_port

CLIENT_ID = "financeops-workbench"


@pytest.fixture
def provider() -> Iterator[str]:
    """The identity provider: it signs in whoever asks as subject 'sub-ana' (the test is about the client)."""
    import uvicorn
    from authlib.jose import JsonWebKey, jwt
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse, RedirectResponse
    from starlette.routing import Route

    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    key = JsonWebKey.generate_key("RSA", 2048, is_private=True)
    codes: dict[str, dict] = {}

    def discovery(request):
        return JSONResponse({"issuer": issuer, "authorization_endpoint": f"{issuer}/authorize",
                             "token_endpoint": f"{issuer}/token", "jwks_uri": f"{issuer}/jwks",
                             "response_types_supported": ["code"], "subject_types_supported": ["public"],
                             "id_token_signing_alg_values_supported": ["RS256"],
                             "code_challenge_methods_supported": ["S256"]})

    def authorize(request):
        q = request.query_params
        code = secrets.token_urlsafe(16)
        codes[code] = {"nonce": q["nonce"], "challenge": q.get("code_challenge")}
        return RedirectResponse(f"{q['redirect_uri']}?{urllib.parse.urlencode({'code': code, 'state': q['state']})}")

    async def token(request):
        form = await request.form()
        grant = codes.pop(form["code"])
        now = int(time.time())
        claims = {"iss": issuer, "sub": "sub-ana", "aud": CLIENT_ID, "iat": now, "exp": now + 300,
                  "nonce": grant["nonce"], "name": "Ana"}
        id_token = jwt.encode({"alg": "RS256", "kid": "k1"}, claims, key).decode()
        return JSONResponse({"access_token": secrets.token_urlsafe(16), "token_type": "Bearer", "expires_in": 300,
                             "id_token": id_token, "verifier_sent": bool(form.get("code_verifier"))})

    def jwks(request):
        return JSONResponse({"keys": [{**key.as_dict(is_private=False), "kid": "k1", "alg": "RS256", "use": "sig"}]})

    app = Starlette(routes=[Route("/.well-known/openid-configuration", discovery), Route("/authorize", authorize),
                            Route("/token", token, methods=["POST"]), Route("/jwks", jwks)])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        yield issuer
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_half_an_oidc_configuration_refuses_to_start(monkeypatch):
    from financeops_pipeline.workbench.web import oidc

    assert oidc.settings() is None
    monkeypatch.setenv("FINANCEOPS_OIDC_ISSUER", "https://login.example")
    with pytest.raises(oidc.OIDCError, match="FINANCEOPS_OIDC_CLIENT_ID, FINANCEOPS_OIDC_CLIENT_SECRET, "
                                             "FINANCEOPS_WORKBENCH_SECRET"):
        oidc.settings()


def test_a_linked_identity_signs_in_through_the_provider_and_an_unlinked_one_does_not(bench, provider,
                                                                                     monkeypatch):
    from financeops_pipeline.workbench.users import link_oidc
    from financeops_pipeline.workbench.web.app import create_app

    for name, value in {"FINANCEOPS_OIDC_ISSUER": provider, "FINANCEOPS_OIDC_CLIENT_ID": CLIENT_ID,
                        "FINANCEOPS_OIDC_CLIENT_SECRET": secrets.token_urlsafe(24),
                        "FINANCEOPS_WORKBENCH_SECRET": secrets.token_urlsafe(32)}.items():
        monkeypatch.setenv(name, value)
    client = TestClient(create_app(bench.url, bench.archive), follow_redirects=False)

    def through_provider() -> httpx.Response:
        start = client.get("/login/oidc")
        assert start.status_code == 302 and start.headers["location"].startswith(f"{provider}/authorize?")
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(start.headers["location"]).query)
        assert query["client_id"] == [CLIENT_ID] and query["code_challenge_method"] == ["S256"]
        assert query["state"] and query["nonce"] and "openid" in query["scope"][0]
        back = httpx.get(start.headers["location"], follow_redirects=False)
        callback = urllib.parse.urlsplit(back.headers["location"])
        return client.get(f"{callback.path}?{callback.query}")

    refused = through_provider()   # the identity is nobody's yet
    assert refused.status_code == 303 and "not+linked" in refused.headers["location"]
    assert client.get("/api/me").status_code == 401
    with psycopg.connect(bench.url) as conn:
        link_oidc(conn, "acme_prep", provider, "sub-ana")
    signed_in = through_provider()
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/"
    assert client.get("/api/me").json() == {"username": "acme_prep", "roles": {"acme": "preparer"}}
