"""The MCP server over the synced copy: tools and a ticket resource, read-only.

``create_server(store)`` builds an :class:`mcp.server.mcpserver.MCPServer` (the official SDK)
whose tools answer from the store alone: no Zendesk request is ever made, so an agent cannot
spend the account's rate limit or change anything in Zendesk. ``zensync mcp`` serves it over
stdio; ``zensync serve`` mounts it as streamable HTTP at ``/mcp``.

Every tool has an input schema (its typed parameters), an output schema (the pydantic model
of its result), returns that structure plus a short text for people and models that read
text, and carries ids and agent-UI links (``web_url``). Wrong input (unknown ids, bad
filters, oversized limits, foreign cursors) comes back as a tool error whose text says what
to do; nothing an agent sends stops the server.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal, Protocol, get_args

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceNotFoundError, ToolError
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field

from zensync import __version__
from zensync.mcp.models import (
    TICKET_STATUSES,
    OrganizationResult,
    SearchResult,
    SearchType,
    SyncStatusResult,
    TicketList,
    TicketResult,
    TicketStatus,
    UserResult,
)
from zensync.mcp.reads import MAX_ID, Reader, ReadError, TicketFilters
from zensync.store import Store

log = logging.getLogger(__name__)

SERVER_NAME = "zensync"
INSTRUCTIONS = (
    "Read-only tools over a local copy of a Zendesk account (tickets, their whole conversations, "
    "users, organizations). Start with search (words) or list_tickets (filters), open a ticket with "
    "get_ticket, and check sync_status to say how fresh the copy is. Every record has a web_url: "
    "the Zendesk agent-UI link to cite."
)
READ_ONLY = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)

MAX_SEARCH_LIMIT = 50
MAX_LIST_LIMIT = 100
MAX_RECENT = 50
MAX_PAGE_COMMENTS = 200
MAX_PAGE_CHARS = 200_000
# Bounds on what an agent types, so one call cannot make the server parse megabytes.
MAX_QUERY_CHARS = 1_000
MAX_TAG_CHARS = 200
MAX_CURSOR_CHARS = 1_000  # the server's own cursors are a few hundred characters
MAX_CONNECTION_CHARS = 200  # as the service's connection ids


def _id(description: str) -> Any:
    """An id parameter: a positive 64-bit integer, as Zendesk's ids (support-oas.yaml: ``format:
    int64``); a larger number cannot name a record, and the database could not compare it."""
    return Field(ge=1, le=MAX_ID, description=description)


Connection = Annotated[
    str | None,
    Field(
        max_length=MAX_CONNECTION_CHARS,
        description="Which synced account to read (its connection id); "
        "needed only when the copy holds several",
    ),
]
Statuses = Annotated[
    list[TicketStatus] | None,
    Field(max_length=len(TICKET_STATUSES), description="Only tickets with one of these statuses"),
]
Cursor = Annotated[
    str | None,
    Field(max_length=MAX_CURSOR_CHARS, description="next_cursor of the previous call, unchanged"),
]
RequesterId = Annotated[int | None, _id("Only tickets this user requested")]
OrganizationId = Annotated[int | None, _id("Only this organization's tickets")]
Recent = Annotated[int, Field(ge=0, le=MAX_RECENT, description="How many recent tickets to include")]


class _Answer(Protocol):
    """A tool's result model: its structure, and a short text for who reads text."""

    def text(self) -> str: ...

    def model_dump(self, *, mode: str) -> dict[str, Any]: ...


def _answer(read: Callable[[], _Answer]) -> CallToolResult:
    """The tool result of ``read()``: its structure plus its text; a :class:`ReadError` (wrong
    input) becomes a tool error whose text says what to do instead."""
    try:
        found = read()
    except ReadError as exc:
        raise ToolError(str(exc)) from exc
    return CallToolResult(
        content=[TextContent(type="text", text=found.text())],
        structured_content=found.model_dump(mode="json"),
    )


def create_server(store: Store, *, public_only: bool = False, connection: str | None = None) -> MCPServer:
    """An MCP server reading ``store``. ``public_only`` hides internal notes and private
    comments from every tool and resource (a connection can ask for the same with its own
    ``mcp_public_only`` setting); ``connection`` is the account read when a call names none."""
    reader = Reader(store, public_only=public_only, connection=connection)
    server: MCPServer = MCPServer(
        SERVER_NAME,
        title="zensync: the synced Zendesk copy",
        instructions=INSTRUCTIONS,
        version=__version__,
        log_level="WARNING",
    )

    @server.tool(annotations=READ_ONLY, title="Search tickets")
    def search(
        query: Annotated[
            str,
            Field(
                max_length=MAX_QUERY_CHARS,
                description='Words to find; "quoted phrase", -exclude and or work',
            ),
        ],
        types: Annotated[
            list[SearchType] | None,
            Field(
                max_length=len(get_args(SearchType)),
                description="What to search; default ticket, comment and attachment (hits grouped by ticket)",
            ),
        ] = None,
        status: Statuses = None,
        organization_id: OrganizationId = None,
        requester_id: RequesterId = None,
        created_after: Annotated[
            datetime | None, Field(description="Ticket created at or after (ISO 8601)")
        ] = None,
        created_before: Annotated[
            datetime | None, Field(description="Ticket created before (ISO 8601)")
        ] = None,
        updated_after: Annotated[
            datetime | None, Field(description="Ticket updated at or after (ISO 8601)")
        ] = None,
        updated_before: Annotated[
            datetime | None, Field(description="Ticket updated before (ISO 8601)")
        ] = None,
        limit: Annotated[int, Field(ge=1, le=MAX_SEARCH_LIMIT, description="Most hits to return")] = 10,
        mode: Annotated[
            Literal["auto", "keyword", "hybrid", "semantic"],
            Field(
                description="keyword: the words; semantic: the meaning (needs `zensync index`); "
                "hybrid: both; auto: hybrid when the copy has vectors, else keyword"
            ),
        ] = "auto",
        connection: Connection = None,
    ) -> Annotated[CallToolResult, SearchResult]:
        """Search the copy by words or by meaning: ticket subjects and descriptions, every
        comment, attachment names (and users or organizations when asked). One hit per ticket,
        with the ticket, a snippet of the best match and its score."""
        filters = TicketFilters(
            statuses=tuple(status or ()),
            requester_id=requester_id,
            organization_id=organization_id,
            created_after=created_after,
            created_before=created_before,
            updated_after=updated_after,
            updated_before=updated_before,
        )
        return _answer(
            lambda: reader.search(
                query, types=types, filters=filters, limit=limit, connection=connection, mode=mode
            )
        )

    @server.tool(annotations=READ_ONLY, title="Get a ticket and its conversation")
    def get_ticket(
        ticket_id: Annotated[int, _id("The Zendesk ticket id (the number after #)")],
        cursor: Cursor = None,
        max_comments: Annotated[
            int, Field(ge=1, le=MAX_PAGE_COMMENTS, description="Most comments on this page")
        ] = 50,
        max_chars: Annotated[
            int,
            Field(
                ge=500,
                le=MAX_PAGE_CHARS,
                description="About this many characters of comment text per page; "
                "a longer single comment is cut",
            ),
        ] = 20_000,
        connection: Connection = None,
    ) -> Annotated[CallToolResult, TicketResult]:
        """A ticket with resolved names, status, tags and custom fields, and its conversation in
        order: author name and role, public reply or internal note, attachments (name, type,
        size, whether the bytes are stored). Long conversations come in pages: follow next_cursor."""
        return _answer(
            lambda: reader.get_ticket(
                ticket_id,
                cursor=cursor,
                max_comments=max_comments,
                max_chars=max_chars,
                connection=connection,
            )
        )

    @server.tool(annotations=READ_ONLY, title="Get a user")
    def get_user(
        user_id: Annotated[int, _id("The Zendesk user id")],
        recent: Recent = 10,
        connection: Connection = None,
    ) -> Annotated[CallToolResult, UserResult]:
        """A user (end user or agent) with their organization, the tickets they requested and,
        for agents, the tickets assigned to them; most recently updated first."""
        return _answer(lambda: reader.get_user(user_id, recent=recent, connection=connection))

    @server.tool(annotations=READ_ONLY, title="Get an organization")
    def get_organization(
        organization_id: Annotated[int, _id("The Zendesk organization id")],
        recent: Recent = 10,
        connection: Connection = None,
    ) -> Annotated[CallToolResult, OrganizationResult]:
        """An organization with its user and ticket counts (by status) and its recent tickets."""
        return _answer(lambda: reader.get_organization(organization_id, recent=recent, connection=connection))

    @server.tool(annotations=READ_ONLY, title="List tickets")
    def list_tickets(
        status: Statuses = None,
        requester_id: RequesterId = None,
        organization_id: OrganizationId = None,
        assignee_id: Annotated[int | None, _id("Only tickets assigned to this agent")] = None,
        tag: Annotated[
            str | None,
            Field(description="Only tickets with this tag", min_length=1, max_length=MAX_TAG_CHARS),
        ] = None,
        updated_since: Annotated[
            datetime | None, Field(description="Only tickets updated at or after this time (ISO 8601)")
        ] = None,
        limit: Annotated[int, Field(ge=1, le=MAX_LIST_LIMIT, description="Tickets per page")] = 25,
        cursor: Cursor = None,
        connection: Connection = None,
    ) -> Annotated[CallToolResult, TicketList]:
        """Tickets matching the filters, most recently updated first, in pages (follow next_cursor)."""
        filters = TicketFilters(
            statuses=tuple(status or ()),
            requester_id=requester_id,
            organization_id=organization_id,
            assignee_id=assignee_id,
            tag=tag,
            updated_after=updated_since,
        )
        return _answer(
            lambda: reader.list_tickets(filters, limit=limit, cursor=cursor, connection=connection)
        )

    @server.tool(annotations=READ_ONLY, title="How fresh the copy is")
    def sync_status(connection: Connection = None) -> Annotated[CallToolResult, SyncStatusResult]:
        """Per synced account: when the last sync ran and how it ended, how old the data is,
        where each export stream stands, and how many records are stored."""
        return _answer(lambda: reader.sync_status(connection=connection))

    def ticket_text(ticket_id: str, connection: str | None) -> str:
        try:
            number = int(ticket_id)
        except ValueError:
            raise ResourceNotFoundError(
                f"{ticket_id!r} is not a ticket id: use zendesk://tickets/123 (or "
                "zendesk://CONNECTION/tickets/123) with the ticket's number."
            ) from None
        if connection is not None and len(connection) > MAX_CONNECTION_CHARS:
            raise ResourceNotFoundError(
                f"A connection id has at most {MAX_CONNECTION_CHARS} characters; sync_status lists them."
            )
        try:
            return reader.ticket_markdown(number, connection=connection)
        except ReadError as exc:  # NotFound, or an account to name
            raise ResourceNotFoundError(str(exc)) from exc

    @server.resource(
        "zendesk://tickets/{ticket_id}",
        name="ticket",
        title="Zendesk ticket",
        description="A ticket and its whole conversation as text (internal notes hidden when public-only); "
        "when the copy holds several accounts, use zendesk://{connection}/tickets/{ticket_id}",
        mime_type="text/markdown",
    )
    def ticket_resource(ticket_id: str) -> str:
        return ticket_text(ticket_id, None)

    @server.resource(
        "zendesk://{connection}/tickets/{ticket_id}",
        name="account_ticket",
        title="Zendesk ticket of one synced account",
        description="A ticket of the account with this connection id and its whole conversation as text "
        "(internal notes hidden when public-only)",
        mime_type="text/markdown",
    )
    def account_ticket_resource(connection: str, ticket_id: str) -> str:
        return ticket_text(ticket_id, connection)

    return server


async def run_stdio(store: Store, *, public_only: bool = False, connection: str | None = None) -> None:
    """Serve over stdin/stdout until the client closes the stream."""
    server = create_server(store, public_only=public_only, connection=connection)
    await server.run_stdio_async()
