"""zensync: a complete, searchable copy of a Zendesk account — as a library.

Two ways to use it (the README's "Python" section shows both, and a test runs exactly that):

- into a store: ``await zensync.sync(store, connection)`` runs one sync, the same one
  ``zensync sync``, the service and the demo run (:func:`zensync.sync.runner.run_sync`);
  then ``store.search("refund")``, ``store.iter_entities(...)``, ``store.counts()``;
- into your own pipeline, without a store: ``async with zensync.open_source(connection) as
  source`` and ``async for page in source.generate_entities(cursor)``, where each
  :class:`SourcePage` carries typed entities, deletions and the ``cursor`` to resume from.

A :class:`Connection` is the account and its credentials: :meth:`Connection.from_api_token`,
:meth:`Connection.from_access_token`, or a stored connection made by ``zensync connect``
(:meth:`zensync.connections.ConnectionManager.resolve`).

The public names below are loaded on first use, so ``import zensync`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Bind the ``zensync.sync`` subpackage now: the name ``sync`` below must stay the function, and
# a subpackage imported for the first time later would take the name over.
import zensync.sync as _sync_package  # noqa: F401

__version__ = "0.1.0"

if TYPE_CHECKING:
    from zensync.entities import (
        Deletion,
        SourcePage,
        ZendeskAttachmentEntity,
        ZendeskCommentEntity,
        ZendeskOrganizationEntity,
        ZendeskTicketEntity,
        ZendeskUserEntity,
    )
    from zensync.source import InvalidCursor, ZendeskSource
    from zensync.store import SearchHit, Store
    from zensync.sync.report import RunReport
    from zensync.sync.runner import Connection, open_source
    from zensync.sync.runner import run_sync as sync
else:

    async def sync(store: Any, connection: Any, **options: Any) -> Any:
        """Sync ``connection`` into ``store`` once and return the :class:`RunReport`.

        The same run as ``zensync sync``; the options are those of
        :func:`zensync.sync.runner.run_sync` (``full``, ``attachments``,
        ``exclude_closed_tickets``, ``progress``, ``on_failure``, ...).
        """
        from zensync.sync.runner import run_sync

        return await run_sync(store, connection, **options)


_WHERE = {
    "Connection": "zensync.sync.runner",
    "open_source": "zensync.sync.runner",
    "RunReport": "zensync.sync.report",
    "ZendeskSource": "zensync.source",
    "InvalidCursor": "zensync.source",
    "Store": "zensync.store",
    "SearchHit": "zensync.store",
    "SourcePage": "zensync.entities",
    "Deletion": "zensync.entities",
    "ZendeskTicketEntity": "zensync.entities",
    "ZendeskCommentEntity": "zensync.entities",
    "ZendeskUserEntity": "zensync.entities",
    "ZendeskOrganizationEntity": "zensync.entities",
    "ZendeskAttachmentEntity": "zensync.entities",
}

__all__ = [
    "Connection",
    "Deletion",
    "InvalidCursor",
    "RunReport",
    "SearchHit",
    "SourcePage",
    "Store",
    "ZendeskAttachmentEntity",
    "ZendeskCommentEntity",
    "ZendeskOrganizationEntity",
    "ZendeskSource",
    "ZendeskTicketEntity",
    "ZendeskUserEntity",
    "__version__",
    "open_source",
    "sync",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
