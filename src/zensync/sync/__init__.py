"""zensync.sync: the engine that moves pages from a source into the store, and its report."""

from zensync.sync.engine import ENGINE_KEY, STREAM_TYPES, ProgressCallback, SyncEngine
from zensync.sync.report import AttachmentCounts, RunReport

__all__ = ["ENGINE_KEY", "STREAM_TYPES", "AttachmentCounts", "ProgressCallback", "RunReport", "SyncEngine"]
