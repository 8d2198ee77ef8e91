"""zensync.sync: the engine that moves pages from a source into the store, its report, and the
runner every entry point uses (:mod:`zensync.sync.runner`).

Names are loaded on first use, so ``import zensync`` (which binds this package) stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from zensync.sync.engine import ENGINE_KEY, STREAM_TYPES, ProgressCallback, SyncEngine
    from zensync.sync.report import AttachmentCounts, RunReport

_WHERE = {
    "ENGINE_KEY": "zensync.sync.engine",
    "STREAM_TYPES": "zensync.sync.engine",
    "ProgressCallback": "zensync.sync.engine",
    "SyncEngine": "zensync.sync.engine",
    "AttachmentCounts": "zensync.sync.report",
    "RunReport": "zensync.sync.report",
}

__all__ = ["ENGINE_KEY", "STREAM_TYPES", "AttachmentCounts", "ProgressCallback", "RunReport", "SyncEngine"]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
