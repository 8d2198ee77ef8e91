"""The simulator's OAuth server and request authentication, over real HTTP.

Expectations come from api-reference.md ("OAuth Tokens for Grant Types", "OAuth Tokens",
"OAuth Clients") and, where Zendesk is silent, RFC 6749 / RFC 7636.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from zendesk_simulator.config import DEFAULT_REDIRECT_URI, OAuthClientSpec, SimulatorConfig

sys.path.insert(0, str(Path(__file__).parent))
from simauth_harness import Harness, parse_form, serve

APP_REDIRECT = "https://app.example.com/zendesk/callback"
PUBLIC_REDIRECT = "http://127.0.0.1:8765/callback"
INVALID_TOKEN = {
    "error": "invalid_token",
    "error_description": (
        "The access token provided is expired, revoked, malformed or invalid for other reasons."
    ),
}
STATIC_TOKEN = "static-" + "s" * 40


def clients() -> list[OAuthClientSpec]:
    return [
        OAuthClientSpec("zensync", "zensync-secret", redirect_uris=[DEFAULT_REDIRECT_URI, APP_REDIRECT]),
        OAuthClientSpec("desktop", "unused-secret", kind="public", redirect_uris=[PUBLIC_REDIRECT]),
        OAuthClientSpec("retired", "retired-secret", active=False),
    ]


@pytest.fixture(scope="module")
def sim() -> Iterator[Harness]:
    with serve(SimulatorConfig(oauth_clients=clients(), static_access_token=STATIC_TOKEN)) as harness:
        yield harness


@pytest.fixture(scope="module")
def short_lived() -> Iterator[Harness]:
    """Codes and access tokens that expire after one second."""
    config = SimulatorConfig(oauth_clients=clients(), authorization_code_ttl=1, access_token_ttl=1)
    with serve(config) as harness:
        yield harness


@pytest.fixture()
def http(sim: Harness) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.base_url, follow_redirects=False, timeout=10) as client:
        yield client


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize_params(
    client_id: str = "zensync", redirect_uri: str = DEFAULT_REDIRECT_URI, **extra: str
) -> dict:
    return {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": "read write",
        "state": "st-" + secrets.token_hex(4),
        **extra,
    }


def consent(
    http: httpx.Client, params: dict[str, str], decision: str = "allow", user_email: str | None = None
) -> httpx.URL:
    """Open the consent page, press Allow or Deny, return where the browser is sent."""
    page = http.get("/oauth/authorizations/new", params=params)
    assert page.status_code == 200, page.text
    form = parse_form(page.text)
    fields = dict(form.inputs)
    if user_email:
        fields["user_email"] = user_email
    answer = http.post(form.form_action or "", data={**fields, "decision": decision})
    assert answer.status_code == 302, answer.text
    return httpx.URL(answer.headers["location"])


def get_code(http: httpx.Client, **kwargs: Any) -> tuple[str, dict[str, str]]:
    params = authorize_params(**kwargs)
    location = consent(http, params)
    assert location.params["state"] == params["state"]
    return location.params["code"], params


def exchange(http: httpx.Client, code: str, **fields: Any) -> httpx.Response:
    body = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": "zensync",
        "client_secret": "zensync-secret",
        "redirect_uri": DEFAULT_REDIRECT_URI,
        **fields,
    }
    return http.post("/oauth/tokens", json={k: v for k, v in body.items() if v is not None})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def api_token_auth(email: str, token: str = "simulator-token") -> dict[str, str]:  # noqa: S107
    raw = base64.b64encode(f"{email}/token:{token}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def assert_invalid_authorization_page(response: httpx.Response, *mentions: str) -> None:
    assert response.status_code == 400
    assert "location" not in response.headers
    assert response.headers["content-type"].startswith("text/html")
    assert "Invalid Authorization Request" in response.text
    for text in mentions:
        assert text in response.text


# --------------------------------------------------------------------------- consent page


def test_consent_page_shows_client_scopes_and_allow_deny(http: httpx.Client) -> None:
    params = authorize_params(scope="read tickets:write")
    page = http.get("/oauth/authorizations/new", params=params)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    form = parse_form(page.text)
    assert "zensync" in page.text
    assert "tickets:write" in page.text and "Read tickets, users, organizations" in page.text
    assert [(b["value"], b["text"]) for b in form.buttons] == [("deny", "Deny"), ("allow", "Allow")]
    assert form.form_action == "/oauth/authorizations"
    # The form carries the request's parameters and a single-use authenticity token.
    for key, value in params.items():
        assert form.inputs[key] == value
    assert len(form.inputs["authenticity_token"]) >= 32
    assert ("admin@example.com", True) in form.options and ("agent@example.com", False) in form.options


def test_consent_form_is_single_use(http: httpx.Client) -> None:
    form = parse_form(http.get("/oauth/authorizations/new", params=authorize_params()).text)
    first = http.post("/oauth/authorizations", data={**form.inputs, "decision": "allow"})
    assert first.status_code == 302
    again = http.post("/oauth/authorizations", data={**form.inputs, "decision": "allow"})
    assert_invalid_authorization_page(again, "already used or expired")


def test_consent_form_with_tampered_redirect_is_refused(http: httpx.Client) -> None:
    form = parse_form(http.get("/oauth/authorizations/new", params=authorize_params()).text)
    tampered = {**form.inputs, "redirect_uri": "https://evil.example/cb", "decision": "allow"}
    assert_invalid_authorization_page(http.post("/oauth/authorizations", data=tampered), "redirect_uri")


def test_denied_consent_redirects_with_access_denied_and_state(http: httpx.Client) -> None:
    params = authorize_params()
    location = consent(http, params, decision="deny")
    assert str(location).startswith(DEFAULT_REDIRECT_URI + "?")
    assert location.params["error"] == "access_denied"
    assert location.params["state"] == params["state"]
    assert "code" not in location.params


# --------------------------------------------------------------------------- happy paths


def test_code_exchange_with_secret_then_api_call(http: httpx.Client) -> None:
    code, _ = get_code(http)
    response = exchange(http, code)
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {
        "access_token",
        "token_type",
        "scope",
        "expires_in",
        "refresh_token",
        "refresh_token_expires_in",
    }
    assert body["token_type"] == "bearer"
    assert body["scope"] == "read write"
    assert body["expires_in"] == 1800 and body["refresh_token_expires_in"] == 30 * 86400
    assert response.headers["cache-control"] == "no-store"
    me = http.get("/api/v2/users/me.json", headers=bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.json()["user_id"] == 101 and me.json()["role"] == "admin"
    write = http.post("/api/v2/tickets.json", headers=bearer(body["access_token"]), json={})
    assert write.status_code == 201


def test_public_client_with_pkce_needs_no_secret(http: httpx.Client) -> None:
    verifier, challenge = pkce_pair()
    code, _ = get_code(
        http,
        client_id="desktop",
        redirect_uri=PUBLIC_REDIRECT,
        code_challenge=challenge,
        code_challenge_method="S256",
    )
    wrong = exchange(
        http,
        code,
        client_id="desktop",
        client_secret=None,
        redirect_uri=PUBLIC_REDIRECT,
        code_verifier=pkce_pair()[0],
    )
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"

    code, _ = get_code(
        http,
        client_id="desktop",
        redirect_uri=PUBLIC_REDIRECT,
        code_challenge=challenge,
        code_challenge_method="S256",
    )
    ok = exchange(
        http,
        code,
        client_id="desktop",
        client_secret=None,
        redirect_uri=PUBLIC_REDIRECT,
        code_verifier=verifier,
    )
    assert ok.status_code == 201, ok.text
    assert http.get("/api/v2/users/me.json", headers=bearer(ok.json()["access_token"])).status_code == 200


def test_confidential_client_with_pkce_and_secret(http: httpx.Client) -> None:
    verifier, challenge = pkce_pair()
    code, _ = get_code(http, code_challenge=challenge, code_challenge_method="S256")
    missing = exchange(http, code)  # a PKCE authorization needs the verifier, secret or not
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_grant"
    code, _ = get_code(http, code_challenge=challenge, code_challenge_method="S256")
    assert exchange(http, code, code_verifier=verifier).status_code == 201


def test_token_request_may_be_form_encoded(http: httpx.Client) -> None:
    code, _ = get_code(http)
    response = http.post(
        "/oauth/tokens",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "client_id": "zensync",
            "client_secret": "zensync-secret",
            "redirect_uri": DEFAULT_REDIRECT_URI,
        },
    )
    assert response.status_code == 201 and response.json()["access_token"]


def test_refresh_rotates_the_pair_and_old_refresh_token_fails(http: httpx.Client) -> None:
    code, _ = get_code(http)
    first = exchange(http, code).json()
    refresh = {
        "grant_type": "refresh_token",
        "refresh_token": first["refresh_token"],
        "client_id": "zensync",
        "client_secret": "zensync-secret",
    }
    rotated = http.post("/oauth/tokens", json=refresh)
    assert rotated.status_code == 201
    second = rotated.json()
    assert second["access_token"] != first["access_token"]
    assert second["refresh_token"] != first["refresh_token"]
    assert second["scope"] == "read write"
    # The old pair is gone: its access token is refused and its refresh token cannot be reused.
    old = http.get("/api/v2/users/me.json", headers=bearer(first["access_token"]))
    assert old.status_code == 401 and old.json() == INVALID_TOKEN
    reused = http.post("/oauth/tokens", json=refresh)
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    assert http.get("/api/v2/users/me.json", headers=bearer(second["access_token"])).status_code == 200


def test_refresh_needs_the_secret_of_a_confidential_client(http: httpx.Client) -> None:
    code, _ = get_code(http)
    tokens = exchange(http, code).json()
    response = http.post(
        "/oauth/tokens",
        json={
            "grant_type": "refresh_token",
            "client_id": "zensync",
            "refresh_token": tokens["refresh_token"],
        },
    )
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_requested_lifetimes_are_honoured_within_zendesk_bounds(http: httpx.Client) -> None:
    code, _ = get_code(http)
    body = exchange(http, code, expires_in=600, refresh_token_expires_in=8 * 86400).json()
    assert body["expires_in"] == 600 and body["refresh_token_expires_in"] == 8 * 86400
    code, _ = get_code(http)
    too_short = exchange(http, code, expires_in=299)
    assert too_short.status_code == 400 and too_short.json()["error"] == "invalid_request"
    assert "300" in too_short.json()["error_description"]
    code, _ = get_code(http)
    too_long = exchange(http, code, refresh_token_expires_in=91 * 86400)
    assert too_long.status_code == 400 and "7776000" in too_long.json()["error_description"]


def test_revoking_current_token_kills_it_and_its_refresh_token(http: httpx.Client) -> None:
    code, _ = get_code(http)
    tokens = exchange(http, code).json()
    shown = http.get("/api/v2/oauth/tokens/current.json", headers=bearer(tokens["access_token"]))
    assert shown.status_code == 200
    assert shown.json()["token"]["token"] == tokens["access_token"][:10]
    assert shown.json()["token"]["user_id"] == 101
    revoked = http.delete("/api/v2/oauth/tokens/current.json", headers=bearer(tokens["access_token"]))
    assert revoked.status_code == 204
    after = http.get("/api/v2/users/me.json", headers=bearer(tokens["access_token"]))
    assert after.status_code == 401 and after.json() == INVALID_TOKEN
    refresh = http.post(
        "/oauth/tokens",
        json={
            "grant_type": "refresh_token",
            "client_id": "zensync",
            "client_secret": "zensync-secret",
            "refresh_token": tokens["refresh_token"],
        },
    )
    assert refresh.status_code == 400 and refresh.json()["error"] == "invalid_grant"


def test_agent_may_consent_and_gets_an_agent_token(http: httpx.Client) -> None:
    params = authorize_params()
    code = consent(http, params, user_email="agent@example.com").params["code"]
    tokens = exchange(http, code).json()
    me = http.get("/api/v2/users/me.json", headers=bearer(tokens["access_token"])).json()
    assert me["user_id"] == 102 and me["role"] == "agent"


def test_read_only_token_is_refused_writes(http: httpx.Client) -> None:
    params = authorize_params(scope="read")
    tokens = exchange(http, consent(http, params).params["code"]).json()
    assert tokens["scope"] == "read"
    assert http.get("/api/v2/tickets.json", headers=bearer(tokens["access_token"])).status_code == 200
    refused = http.put("/api/v2/tickets/5.json", headers=bearer(tokens["access_token"]), json={})
    assert refused.status_code == 403
    assert refused.json() == {"error": "Forbidden", "description": "You do not have access to this page"}


def test_resource_scoped_token_reads_only_its_resource(http: httpx.Client) -> None:
    tokens = exchange(http, consent(http, authorize_params(scope="tickets:read")).params["code"]).json()
    headers = bearer(tokens["access_token"])
    assert http.get("/api/v2/incremental/tickets/cursor.json", headers=headers).status_code == 200
    assert http.get("/api/v2/users.json", headers=headers).status_code == 403


def test_client_credentials_grant(http: httpx.Client) -> None:
    ok = http.post(
        "/oauth/tokens",
        json={
            "grant_type": "client_credentials",
            "client_id": "zensync",
            "client_secret": "zensync-secret",
            "scope": "read",
        },
    )
    assert ok.status_code == 201
    assert "refresh_token" not in ok.json() and ok.json()["scope"] == "read"
    assert (
        http.get("/api/v2/users/me.json", headers=bearer(ok.json()["access_token"])).json()["role"] == "admin"
    )
    public = http.post(
        "/oauth/tokens",
        json={
            "grant_type": "client_credentials",
            "client_id": "desktop",
            "client_secret": "unused-secret",
            "scope": "read",
        },
    )
    assert public.status_code == 400 and public.json()["error"] == "unauthorized_client"


def test_static_access_token_is_a_non_expiring_admin_token(http: httpx.Client) -> None:
    me = http.get("/api/v2/users/me.json", headers=bearer(STATIC_TOKEN))
    assert me.status_code == 200
    assert me.json()["role"] == "admin" and me.json()["scopes"] == ["read", "write"]
    assert (
        http.get("/api/v2/oauth/tokens/current.json", headers=bearer(STATIC_TOKEN)).json()["token"][
            "expires_at"
        ]
        is None
    )


# --------------------------------------------------------------------------- API token auth


def test_api_token_basic_auth_for_active_users(http: httpx.Client) -> None:
    admin = http.get("/api/v2/users/me.json", headers=api_token_auth("admin@example.com"))
    assert admin.status_code == 200 and admin.json()["user_id"] == 101 and admin.json()["via"] == "api_token"
    agent = http.get("/api/v2/users/me.json", headers=api_token_auth("agent@example.com"))
    assert agent.status_code == 200 and agent.json()["role"] == "agent"


@pytest.mark.parametrize(
    "headers",
    [
        api_token_auth("admin@example.com", "wrong-token"),
        api_token_auth("admin@example.com", "simulator-toke"),
        api_token_auth("suspended@example.com"),
        api_token_auth("inactive@example.com"),
        api_token_auth("nobody@example.com"),
        {"Authorization": "Basic " + base64.b64encode(b"admin@example.com:simulator-token").decode()},
        {"Authorization": "Basic !!!"},
        {},
    ],
    ids=[
        "wrong-token",
        "truncated-token",
        "suspended",
        "inactive",
        "unknown-user",
        "password",
        "garbage",
        "none",
    ],
)
def test_bad_or_missing_credentials_get_401(http: httpx.Client, headers: dict[str, str]) -> None:
    response = http.get("/api/v2/users/me.json", headers=headers)
    assert response.status_code == 401
    assert response.json() == {"error": "Couldn't authenticate you"}


def test_unknown_bearer_token_gets_invalid_token(http: httpx.Client) -> None:
    response = http.get("/api/v2/users/me.json", headers=bearer("0" * 64))
    assert response.status_code == 401 and response.json() == INVALID_TOKEN
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


# --------------------------------------------------------------------------- authorization failures


def test_unknown_client_id_renders_error_page(http: httpx.Client) -> None:
    response = http.get("/oauth/authorizations/new", params=authorize_params(client_id="nope"))
    assert_invalid_authorization_page(response, "nope", "Unique Identifier")


def test_inactive_client_renders_error_page(http: httpx.Client) -> None:
    response = http.get("/oauth/authorizations/new", params=authorize_params(client_id="retired"))
    assert_invalid_authorization_page(response, "inactive", "Activate")


@pytest.mark.parametrize(
    "redirect_uri",
    [
        DEFAULT_REDIRECT_URI + "/",  # trailing slash
        DEFAULT_REDIRECT_URI.replace("http://", "https://"),  # scheme
        APP_REDIRECT.replace("https://", "http://"),
        DEFAULT_REDIRECT_URI.removesuffix("/callback"),  # prefix
        "http://localhost:8002/source-connections/callback",  # port
    ],
)
def test_unregistered_redirect_uri_renders_error_page(http: httpx.Client, redirect_uri: str) -> None:
    response = http.get("/oauth/authorizations/new", params=authorize_params(redirect_uri=redirect_uri))
    assert_invalid_authorization_page(response, "is not registered", "Redirect URLs")


def test_public_client_without_pkce_is_sent_back_with_invalid_request(http: httpx.Client) -> None:
    params = authorize_params(client_id="desktop", redirect_uri=PUBLIC_REDIRECT)
    response = http.get("/oauth/authorizations/new", params=params)
    assert response.status_code == 302
    location = httpx.URL(response.headers["location"])
    assert str(location).startswith(PUBLIC_REDIRECT)
    assert location.params["error"] == "invalid_request"
    assert "PKCE" in location.params["error_description"]
    assert location.params["state"] == params["state"]


def test_plain_pkce_method_is_refused(http: httpx.Client) -> None:
    _, challenge = pkce_pair()
    params = authorize_params(code_challenge=challenge, code_challenge_method="plain")
    location = httpx.URL(http.get("/oauth/authorizations/new", params=params).headers["location"])
    assert location.params["error"] == "invalid_request" and "S256" in location.params["error_description"]


# --------------------------------------------------------------------------- token failures


def test_wrong_and_truncated_secrets_fail_without_echoing_them(http: httpx.Client) -> None:
    for secret in ("not-the-secret", "zensync-secre", "zensync-secret-"):
        code, _ = get_code(http)
        response = exchange(http, code, client_secret=secret)
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_client"
        assert secret not in response.text
    # The code was not spent by the failed attempts' client authentication.
    assert exchange(http, code).status_code == 201


def test_unknown_and_inactive_clients_fail_at_the_token_endpoint(http: httpx.Client) -> None:
    for client_id in ("nope", "retired"):
        response = http.post(
            "/oauth/tokens",
            json={
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": "x",
                "scope": "read",
            },
        )
        assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_redirect_uri_must_match_at_exchange(http: httpx.Client) -> None:
    code, _ = get_code(http)
    response = exchange(http, code, redirect_uri=APP_REDIRECT)  # registered, but not the one used
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"
    assert "redirect_uri" in response.json()["error_description"]


def test_reused_code_fails_and_revokes_its_tokens(http: httpx.Client) -> None:
    code, _ = get_code(http)
    first = exchange(http, code)
    assert first.status_code == 201
    again = exchange(http, code)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    assert http.get("/api/v2/users/me.json", headers=bearer(first.json()["access_token"])).status_code == 401


def test_code_of_another_client_fails(http: httpx.Client) -> None:
    verifier, challenge = pkce_pair()
    code, _ = get_code(
        http,
        client_id="desktop",
        redirect_uri=PUBLIC_REDIRECT,
        code_challenge=challenge,
        code_challenge_method="S256",
    )
    response = exchange(http, code, redirect_uri=PUBLIC_REDIRECT, code_verifier=verifier)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"grant_type": "password", "client_id": "zensync"}, "unsupported_grant_type"),
        ({"client_id": "zensync"}, "invalid_request"),
        (
            {"grant_type": "authorization_code", "client_id": "zensync", "client_secret": "zensync-secret"},
            "invalid_request",
        ),
        (
            {"grant_type": "client_credentials", "client_id": "zensync", "client_secret": "zensync-secret"},
            "invalid_scope",
        ),
    ],
)
def test_malformed_token_requests(http: httpx.Client, body: dict[str, str], error: str) -> None:
    response = http.post("/oauth/tokens", json=body)
    assert response.status_code == 400
    assert response.json()["error"] == error and response.json()["error_description"]


def test_token_request_with_other_content_type_names_the_fix(http: httpx.Client) -> None:
    response = http.post("/oauth/tokens", content=b"grant_type=x", headers={"Content-Type": "text/plain"})
    assert response.status_code == 400
    assert "application/json" in response.json()["error_description"]


# --------------------------------------------------------------------------- expiry


def test_expired_code_fails(short_lived: Harness) -> None:
    with httpx.Client(base_url=short_lived.base_url, follow_redirects=False) as http:
        code, _ = get_code(http)
        time.sleep(1.1)
        response = exchange(http, code)
        assert response.status_code == 400 and response.json()["error"] == "invalid_grant"
        assert "expired" in response.json()["error_description"]


def test_expired_access_token_gets_invalid_token_then_refresh_works(short_lived: Harness) -> None:
    with httpx.Client(base_url=short_lived.base_url, follow_redirects=False) as http:
        code, _ = get_code(http)
        tokens = exchange(http, code).json()
        assert tokens["expires_in"] == 1
        assert http.get("/api/v2/users/me.json", headers=bearer(tokens["access_token"])).status_code == 200
        time.sleep(1.1)
        expired = http.get("/api/v2/users/me.json", headers=bearer(tokens["access_token"]))
        assert expired.status_code == 401 and expired.json() == INVALID_TOKEN
        refreshed = http.post(
            "/oauth/tokens",
            json={
                "grant_type": "refresh_token",
                "client_id": "zensync",
                "client_secret": "zensync-secret",
                "refresh_token": tokens["refresh_token"],
            },
        )
        assert refreshed.status_code == 201
        me = http.get("/api/v2/users/me.json", headers=bearer(refreshed.json()["access_token"]))
        assert me.status_code == 200


def test_auto_consent_redirects_at_once() -> None:
    config = SimulatorConfig(auto_consent=True)
    with serve(config) as harness, httpx.Client(base_url=harness.base_url) as http:
        params = authorize_params()
        response = http.get("/oauth/authorizations/new", params=params)
        assert response.status_code == 302
        location = httpx.URL(response.headers["location"])
        assert location.params["state"] == params["state"]
        assert exchange(http, location.params["code"]).status_code == 201
        agent = http.get("/oauth/authorizations/new", params={**params, "login_hint": "agent@example.com"})
        tokens = exchange(http, httpx.URL(agent.headers["location"]).params["code"]).json()
        assert (
            http.get("/api/v2/users/me.json", headers=bearer(tokens["access_token"])).json()["role"]
            == "agent"
        )


# --------------------------------------------------------------------------- the full simulator


def test_full_simulator_connect_refresh_and_revoke(simulator: Any) -> None:
    """The composed simulator (subprocess, generated account) serves the same OAuth flow."""
    with httpx.Client(base_url=simulator.base_url, follow_redirects=False, timeout=30) as http:
        params = authorize_params(client_id=simulator.oauth_client_id)
        code = consent(http, params).params["code"]
        grant = {"client_id": simulator.oauth_client_id, "client_secret": simulator.oauth_client_secret}
        tokens = http.post(
            "/oauth/tokens",
            json={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": DEFAULT_REDIRECT_URI,
                **grant,
            },
        )
        assert tokens.status_code == 201, tokens.text
        first = tokens.json()
        me = http.get("/api/v2/users/me.json", headers=bearer(first["access_token"]))
        assert me.status_code == 200 and me.json()["user"]["email"] == simulator.admin_email

        refresh = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"], **grant}
        second = http.post("/oauth/tokens", json=refresh)
        assert second.status_code == 201
        assert http.post("/oauth/tokens", json=refresh).json()["error"] == "invalid_grant"
        old = http.get("/api/v2/users/me.json", headers=bearer(first["access_token"]))
        assert old.status_code == 401 and old.json() == INVALID_TOKEN

        new_token = second.json()["access_token"]
        assert http.delete("/api/v2/oauth/tokens/current.json", headers=bearer(new_token)).status_code == 204
        assert http.get("/api/v2/users/me.json", headers=bearer(new_token)).json() == INVALID_TOKEN

        agent_code = consent(
            http, authorize_params(client_id=simulator.oauth_client_id), user_email=simulator.agent_email
        ).params["code"]
        agent = http.post(
            "/oauth/tokens",
            json={
                "grant_type": "authorization_code",
                "code": agent_code,
                "redirect_uri": DEFAULT_REDIRECT_URI,
                **grant,
            },
        ).json()
        me = http.get("/api/v2/users/me.json", headers=bearer(agent["access_token"])).json()["user"]
        assert (me["email"], me["role"]) == (simulator.agent_email, "agent")

        mismatched = http.get(
            "/oauth/authorizations/new",
            params=authorize_params(
                client_id=simulator.oauth_client_id, redirect_uri=DEFAULT_REDIRECT_URI + "/"
            ),
        )
        assert_invalid_authorization_page(mismatched, "is not registered")
