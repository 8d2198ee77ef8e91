"""The one reading of ``users/me``: an anonymous answer is a credential failure, a non-admin a
permission failure that names the user (api-reference.md, "Show Self"; "Incremental Exports")."""

from __future__ import annotations

from typing import Any

import pytest

from zensync.zendesk.account import connecting_user, require_admin, summary
from zensync.zendesk.errors import AuthenticationError, PermissionDenied


class Answers:
    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body
        self.paths: list[str] = []

    async def get_json(self, path_or_url: str, params: Any = None) -> Any:
        self.paths.append(path_or_url)
        return self.body


async def test_anonymous_answer_means_wrong_credentials() -> None:
    client = Answers({"user": {"id": None, "role": "end-user", "name": "Anonymous user"}})
    with pytest.raises(AuthenticationError, match="anonymous user"):
        await connecting_user(client)
    assert client.paths == ["/api/v2/users/me.json"]


async def test_agent_is_refused_by_name_and_admin_kept() -> None:
    agent = await connecting_user(Answers({"user": {"id": 7, "role": "agent", "email": "a@x.com"}}))
    with pytest.raises(PermissionDenied, match=r"a@x\.com.*must be a Zendesk admin"):
        require_admin(agent)
    admin = {"id": 1, "role": "admin", "email": "b@x.com", "name": "B", "phone": "+1"}
    assert require_admin(admin) is admin
    assert summary(admin) == {"id": 1, "name": "B", "email": "b@x.com", "role": "admin"}
