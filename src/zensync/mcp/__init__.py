"""zensync.mcp: the synced copy served to AI agents over the Model Context Protocol.

Read-only and local: the tools answer from the store (``reads.py``) and never call Zendesk.
``create_server(store)`` (``server.py``) builds the server; ``zensync mcp`` runs it over
stdio and ``zensync serve`` mounts it at ``/mcp`` (streamable HTTP).
"""

from __future__ import annotations

from zensync.mcp.server import create_server, run_stdio

__all__ = ["create_server", "run_stdio"]
