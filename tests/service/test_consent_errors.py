"""A refused consent callback names its connection (``OAuthError.connection_id``), so the service
and ``zensync connect`` can show the problem on the right connection. No network is needed: the
state is checked before any code exchange."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.fernet import Fernet

from zensync.config import ZendeskConfig
from zensync.connections import ConnectionManager, ConnectionProblem
from zensync.secret_box import SecretBox
from zensync.store import Store
from zensync.zendesk.oauth import OAuthError

REDIRECT = "http://localhost:8001/source-connections/callback"


async def test_refused_callbacks_carry_the_connection_id(tmp_path: Path) -> None:
    with Store.open(tmp_path / "z.db") as store:
        manager = ConnectionManager(store, SecretBox.from_key(Fernet.generate_key()))
        started = manager.begin_oauth(
            name="Acme",
            config=ZendeskConfig(subdomain="acme", base_url="http://127.0.0.1:9"),
            client_id="zensync",
            client_secret="s3cret",
            redirect_uri=REDIRECT,
        )
        state = parse_qs(urlsplit(started.auth_url).query)["state"][0]

        with pytest.raises(OAuthError) as denied:
            await manager.complete_oauth({"state": state, "error": "access_denied"})
        assert denied.value.connection_id == "acme"
        assert denied.value.kind == "access_denied"
        assert "access_denied" in (store.get_connection("acme").status_detail or "")  # type: ignore[union-attr]

        with pytest.raises(OAuthError) as reused:  # the state was used by the first callback
            await manager.complete_oauth({"state": state, "code": "x"})
        assert reused.value.kind == "state_reused"
        assert reused.value.connection_id == "acme"

        with pytest.raises(OAuthError) as forged:
            await manager.complete_oauth({"state": "made-up", "code": "x"})
        assert forged.value.kind == "state_invalid"
        assert forged.value.connection_id is None

        with pytest.raises(ConnectionProblem) as pending:
            manager.resolve("acme")
        assert pending.value.connection_id == "acme"
        assert pending.value.status == 409
