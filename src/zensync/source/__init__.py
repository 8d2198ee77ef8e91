"""The Zendesk source: an account as typed entities, page by page, with a resumable cursor.

``ZendeskSource`` (:mod:`.zendesk_source`) reads the streams; :mod:`.paging` holds Zendesk's
paging schemes as small objects and the one loop that drives them; :mod:`.cursor` the typed,
versioned cursor (and the upgrade of cursors earlier versions stored); :mod:`.names` the
bounded id → name caches.
"""

from .cursor import CURSOR_VERSION, Bitmap, InvalidCursor, SourceCursor, load_cursor
from .names import NameResolver
from .zendesk_source import CommentStrategy, ZendeskSource

__all__ = [
    "CURSOR_VERSION",
    "Bitmap",
    "CommentStrategy",
    "InvalidCursor",
    "NameResolver",
    "SourceCursor",
    "ZendeskSource",
    "load_cursor",
]
