"""Who the credentials act for: the one way zensync reads ``users/me``.

Connecting (OAuth consent, API token), the pre-sync credential check and
:meth:`zensync.source.ZendeskSource.validate` all call :func:`connecting_user`, so a wrong token
is recognised the same way everywhere, and :func:`require_admin` states the one rule about the
role. ``users/me`` answers an anonymous end user (no ``id``) when the request was not
authenticated (api-reference.md, "Users" > "Show Self"): that means the credentials are wrong.
"""

from __future__ import annotations

from typing import Any, Protocol

from .errors import AuthenticationError, PermissionDenied

ME_PATH = "/api/v2/users/me.json"
USER_FIELDS = ("id", "name", "email", "role")


class _Reads(Protocol):
    async def get_json(self, path_or_url: str, params: Any = None) -> Any: ...


async def connecting_user(client: _Reads) -> dict[str, Any]:
    """The user the client's credentials act for; :class:`AuthenticationError` if they act for no one."""
    data = await client.get_json(ME_PATH)
    user = data.get("user") if isinstance(data, dict) else None
    if not isinstance(user, dict) or user.get("id") is None:
        raise AuthenticationError(
            "Zendesk answered as an anonymous user: the credentials were not accepted. Check the "
            "email and API token or the access token, or reconnect the account (`zensync connect`)",
            status=200,
            method="GET",
            url=ME_PATH,
        )
    return user


def require_admin(user: dict[str, Any]) -> dict[str, Any]:
    """The user, if an admin: the incremental exports are "Allowed For: Admins" (api-reference.md,
    "Incremental Exports"); :class:`PermissionDenied` otherwise."""
    role = user.get("role")
    if role != "admin":
        raise PermissionDenied(
            f"The connecting user ({user.get('email') or user.get('name') or user['id']}) has the role "
            f"{role!r}: the connecting user must be a Zendesk admin, because the incremental exports "
            "zensync reads are admin-only. Reconnect as an admin (`zensync connect`)",
            status=200,
            method="GET",
            url=ME_PATH,
        )
    return user


def summary(user: dict[str, Any]) -> dict[str, Any]:
    """What zensync keeps about the connecting user (never more): id, name, email, role."""
    return {k: user.get(k) for k in USER_FIELDS}
