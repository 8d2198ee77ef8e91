"""zensync.store: where the copy of a Zendesk account lives.

``Store.open("zensync.db")`` (SQLite, the default) or ``Store.open("postgresql://…")``: the
same tables, search, locking and behaviour on both. See ``store.py`` for the API.
"""

from zensync.store.base import (
    ConnectionNotFound,
    ConnectionRecord,
    FailedDownload,
    OAuthStateRecord,
    PageCounts,
    RunRecord,
    SearchHit,
    StoreError,
    SyncAlreadyRunning,
    TypeCounts,
)
from zensync.store.store import Store

__all__ = [
    "ConnectionNotFound",
    "ConnectionRecord",
    "FailedDownload",
    "OAuthStateRecord",
    "PageCounts",
    "RunRecord",
    "SearchHit",
    "Store",
    "StoreError",
    "SyncAlreadyRunning",
    "TypeCounts",
]
