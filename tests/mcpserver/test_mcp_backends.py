"""The MCP reads on PostgreSQL as on SQLite, consistent while a sync writes, and the
connection setting's migration.

The server runs in-process here (the SDK's client over its in-memory transport): the
transports are covered by the stdio and HTTP tests; these are about the queries.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from mcp.client.client import Client
from mcp.shared.exceptions import MCPError

from zensync.entities import SourcePage, ZendeskCommentEntity, ZendeskOrganizationEntity, ZendeskTicketEntity
from zensync.mcp import create_server
from zensync.store import Store
from zensync.store import migrate as migrations

_spec = importlib.util.spec_from_file_location(
    "zensync_store_test_fixtures_mcp", Path(__file__).parent.parent / "store" / "conftest.py"
)
assert _spec is not None and _spec.loader is not None
_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_fixtures)
postgres_server = _fixtures.postgres_server
postgres_module_url = _fixtures.postgres_module_url
store_url = _fixtures.store_url
blank_store_url = _fixtures.blank_store_url
store = _fixtures.store


@pytest.fixture(scope="module")
def synced_postgres(simulator: Any, kit: Any, postgres_server: Any, tmp_path_factory: Any) -> Iterator[Store]:
    """The shared simulator synced by the CLI into a PostgreSQL database (files beside it)."""
    folder = tmp_path_factory.mktemp("mcp-pg")
    url = postgres_server.create_database("zensync_mcp")
    kit.sync_into(simulator, url, "--blob-dir", str(folder / "blobs"), cwd=folder)
    opened = Store.open(url, blob_dir=folder / "blobs")
    try:
        yield opened
    finally:
        opened.close()
        postgres_server.drop_database(url)


@pytest.mark.postgres
async def test_every_tool_on_postgresql_agrees_with_the_simulator(
    kit: Any, synced_postgres: Store, truth: Any
) -> None:
    async with Client(create_server(synced_postgres)) as client:
        await kit.check_against_truth(client, truth)
        await kit.check_errors(client)


@pytest.mark.postgres
async def test_postgresql_and_sqlite_give_the_same_answers(
    kit: Any, synced_postgres: Store, synced_db: Path, truth: Any
) -> None:
    ticket = truth.tickets[3]
    calls: list[tuple[str, dict[str, Any]]] = [
        ("get_ticket", {"ticket_id": ticket["id"]}),
        ("get_ticket", {"ticket_id": ticket["id"], "max_comments": 1}),
        ("get_user", {"user_id": ticket["requester_id"]}),
        ("list_tickets", {"status": ["open", "pending"], "limit": 30}),
        ("list_tickets", {"tag": ticket["tags"][0], "limit": 100}),
        ("list_tickets", {"updated_since": "2026-01-01T00:00:00Z", "limit": 100}),
        ("search", {"query": "the flux capacitor", "types": ["comment"]}),
    ]
    if ticket.get("organization_id"):
        calls.append(("get_organization", {"organization_id": ticket["organization_id"]}))
    answers: dict[str, list[Any]] = {}
    with Store.open(synced_db) as sqlite_store:
        for name, opened in (("sqlite", sqlite_store), ("postgresql", synced_postgres)):
            async with Client(create_server(opened)) as client:
                tools = await kit.Checked.start(client)
                answers[name] = []
                for tool, arguments in calls:
                    result = await tools.call(tool, **arguments)
                    for drop in ("_text", "generated_at"):
                        result.pop(drop, None)
                    for hit in result.get("hits", []):
                        hit.pop("score"), hit.pop("snippet")  # ranking functions differ by design
                    answers[name].append(result)
    for (tool, arguments), on_sqlite, on_postgres in zip(
        calls, answers["sqlite"], answers["postgresql"], strict=True
    ):
        assert on_sqlite == on_postgres, (tool, arguments)


@pytest.mark.postgres
async def test_public_only_on_postgresql(kit: Any, postgres_server: Any, tmp_path: Path) -> None:
    url = postgres_server.create_database("zensync_mcp_private")
    try:
        account = kit.make_private_account(tmp_path, url)
        with Store.open(url, blob_dir=account.blob_dir) as opened:
            async with Client(create_server(opened)) as client:
                shown = await kit.everything_about_the_note(client, account)
            async with Client(create_server(opened, public_only=True)) as client:
                hidden = await kit.everything_about_the_note(client, account)
    finally:
        postgres_server.drop_database(url)
    assert kit.marker in shown[0] and kit.marker in shown[4] and kit.marker in shown[-1]
    for output in hidden:
        assert kit.marker not in output, output[:500]


def _ticket(ticket_id: int, org_id: int, status: str) -> ZendeskTicketEntity:
    return ZendeskTicketEntity.from_api(
        {"id": ticket_id, "subject": f"Ticket {ticket_id}", "status": status, "organization_id": org_id},
        web_url=f"https://acme.zendesk.com/agent/tickets/{ticket_id}",
    )


def _comment(comment_id: int, ticket: ZendeskTicketEntity, at: datetime) -> ZendeskCommentEntity:
    return ZendeskCommentEntity.from_api(
        {"id": comment_id, "body": f"reply {comment_id}", "public": True, "created_at": at.isoformat()},
        ticket=ticket.breadcrumb(),
        ticket_id=ticket.id,
    )


async def test_a_call_reads_one_snapshot_while_a_sync_writes(store: Store) -> None:
    """A writer commits page after page (new tickets of an organization, new comments on a
    ticket) while tools read: the counts and the lists one call returns always agree."""
    org = 360000000001
    first = _ticket(1, org, "open")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    organization = ZendeskOrganizationEntity.from_api({"id": org, "name": "Pelican"})
    store.apply_page(
        "acme", SourcePage(stream="tickets", entities=[organization, first, _comment(10, first, start)]), None
    )
    stop = threading.Event()
    written = {"pages": 0}

    def writer() -> None:
        n = 1
        while not stop.is_set():
            n += 1
            entities = [
                _ticket(n, org, ("open", "pending", "solved")[n % 3]),
                _comment(10 + n, first, start + timedelta(minutes=n)),
            ]
            store.apply_page("acme", SourcePage(stream="tickets", entities=entities), None)
            written["pages"] += 1

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        async with Client(create_server(store)) as client:
            for _ in range(40):
                called = await client.call_tool("get_organization", {"organization_id": org, "recent": 50})
                assert not called.is_error, called.content
                org_result = called.structured_content
                assert org_result["ticket_count"] == sum(org_result["tickets_by_status"].values())
                ticket_result = (
                    await client.call_tool("get_ticket", {"ticket_id": 1, "max_comments": 200})
                ).structured_content
                conversation = ticket_result["conversation"]
                if conversation["next_cursor"] is None:
                    assert conversation["total_comments"] == len(conversation["comments"])
                listed = (await client.call_tool("list_tickets", {"limit": 100})).structured_content
                if listed["next_cursor"] is None:
                    assert listed["total"] == len(listed["tickets"])
    finally:
        stop.set()
        thread.join(timeout=30)
    assert written["pages"] > 10, "the writer hardly ran: the test proved nothing"


def test_the_connection_setting_arrives_with_an_upgrade(blank_store_url: str, tmp_path: Path) -> None:
    """A database made before the setting existed keeps its connections, none of them hidden."""
    import sqlalchemy as sa

    old = Store.open(blank_store_url, migrate_schema=False)
    assert migrations.upgrade(old.engine, "0003") == "0003"
    now = datetime.now(UTC)
    with old.engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO connections (id, name, subdomain, exclude_closed_tickets, auth_kind, status, "
                "created_at, updated_at) "
                "VALUES ('acme', 'ACME', 'acme', false, 'api_token', 'active', :t, :t)"
            ),
            {"t": now},
        )
    old.close()
    with Store.open(blank_store_url, blob_dir=tmp_path / "blobs") as upgraded:
        record = upgraded.get_connection("acme")
        assert record is not None and record.mcp_public_only is False
        assert upgraded.update_connection("acme", mcp_public_only=True).mcp_public_only is True


async def test_a_copy_of_several_accounts_reads_the_one_named(store: Store) -> None:
    for account in ("acme", "globex"):
        ticket = ZendeskTicketEntity.from_api(
            {"id": 5, "subject": f"Printer on fire at {account}", "status": "open"},
            web_url=f"https://{account}.zendesk.com/agent/tickets/5",
        )
        store.apply_page(account, SourcePage(stream="tickets", entities=[ticket]), None)
    async with Client(create_server(store)) as client:
        ambiguous = await client.call_tool("get_ticket", {"ticket_id": 5})
        assert ambiguous.is_error and "several accounts (acme, globex)" in ambiguous.content[0].text
        named = await client.call_tool("get_ticket", {"ticket_id": 5, "connection": "globex"})
        assert named.structured_content["ticket"]["subject"] == "Printer on fire at globex"
        status = (await client.call_tool("sync_status", {})).structured_content
        assert [(c["id"], c["web_url"]) for c in status["connections"]] == [
            ("acme", "https://acme.zendesk.com/agent"),
            ("globex", "https://globex.zendesk.com/agent"),
        ]
        with pytest.raises(MCPError, match="several accounts"):
            await client.read_resource("zendesk://tickets/5")
        for account in ("acme", "globex"):
            resource = await client.read_resource(f"zendesk://{account}/tickets/5")
            assert f"Printer on fire at {account}" in resource.contents[0].text
    async with Client(create_server(store, connection="acme")) as client:
        default = await client.call_tool("search", {"query": "printer"})
        assert [h["web_url"] for h in default.structured_content["hits"]] == [
            "https://acme.zendesk.com/agent/tickets/5"
        ]
        resource = await client.read_resource("zendesk://tickets/5")
        assert "Printer on fire at acme" in resource.contents[0].text


async def test_the_ticket_resource_reads_a_long_conversation_within_the_size_budget(store: Store) -> None:
    """Zendesk allows 5,000 comments on a ticket: the resource shows them all while they fit
    the largest page a tool gives (200,000 characters), and past it says how to read on."""
    short, wordy = _ticket(7, 360000000001, "open"), _ticket(8, 360000000001, "open")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    entities: list[Any] = [short, wordy]
    for n in range(1, 1201):
        entities.append(_comment(100_000 + n, short, start + timedelta(minutes=n)))
    for n in range(1, 301):  # 300 comments of 1,000 characters: 300,000 in all
        entities.append(
            ZendeskCommentEntity.from_api(
                {
                    "id": 200_000 + n,
                    "body": f"{n:04d} " + "x" * 995,
                    "public": True,
                    "created_at": (start + timedelta(minutes=n)).isoformat(),
                },
                ticket=wordy.breadcrumb(),
                ticket_id=wordy.id,
            )
        )
    store.apply_page("acme", SourcePage(stream="tickets", entities=entities), None)
    async with Client(create_server(store)) as client:
        text = (await client.read_resource("zendesk://tickets/7")).contents[0].text
        assert "comments 1–1200 of 1200" in text and "reply 101200" in text and "More comments" not in text
        text = (await client.read_resource("zendesk://acme/tickets/8")).contents[0].text
        assert "comments 1–200 of 300" in text and "\n0200 " in text and "0201 " not in text
        cursor = text.split("cursor=")[1].split("'")[1]
        rest = await client.call_tool(
            "get_ticket", {"ticket_id": 8, "cursor": cursor, "max_comments": 200, "max_chars": 200_000}
        )
        page = rest.structured_content["conversation"]
        assert [c["position"] for c in page["comments"]] == list(range(201, 301))
        assert page["next_cursor"] is None
