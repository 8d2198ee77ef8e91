"""Fixtures for the MCP server tests: synced copies of simulated accounts, and ways to talk
to the server with the official SDK's own client (stdio subprocess, HTTP, in-process).

``synced_db``: the session's shared simulator (read-only) synced by the real CLI into SQLite.
``private_account``: an account of our own in which a ticket got an internal note (with an
attached file) and a user and an organization got agent notes, each carrying a marker word
found nowhere else; synced the same way. The ``--public-only`` tests prove the marker never
comes out.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from zendesk_simulator.testing import running_simulator
from zensync.testing import clean_env, sync_into, zensync_command

MARKER = "quokkaglyph"  # a word no generated text contains


def all_pages(sim: Any, path: str, key: str) -> list[dict[str, Any]]:
    """Every object of a Zendesk list endpoint, following ``next_page`` (api-reference.md,
    "Pagination")."""
    found: list[dict[str, Any]] = []
    url: str | None = path
    while url:
        response = sim.request("GET", url)
        assert response.status_code == 200, response.text
        body = response.json()
        found += body[key]
        nxt = body.get("next_page") or (body.get("links") or {}).get("next")
        if nxt and body.get("meta", {}).get("has_more") is False:
            nxt = None
        url = nxt.replace(sim.base_url, "") if nxt else None
    return found


def all_tickets(sim: Any) -> list[dict[str, Any]]:
    """Every live ticket, archived ones included: the cursor-based incremental export from the
    start (api-reference.md, "Incremental Ticket Export, Cursor Based"), less deleted ones."""
    found: list[dict[str, Any]] = []
    url = "/api/v2/incremental/tickets/cursor?start_time=0"
    while True:
        response = sim.request("GET", url)
        assert response.status_code == 200, response.text
        body = response.json()
        found += [t for t in body["tickets"] if t["status"] != "deleted"]
        if body["end_of_stream"]:
            return found
        url = body["after_url"].replace(sim.base_url, "")


@dataclass
class Truth:
    """What the simulator itself says, read through its API."""

    sim: Any
    counts: dict[str, Any]
    tickets: list[dict[str, Any]]

    def comments(self, ticket_id: int) -> list[dict[str, Any]]:
        return all_pages(self.sim, f"/api/v2/tickets/{ticket_id}/comments", "comments")


@pytest.fixture(scope="package")
def truth(simulator: Any) -> Truth:
    return Truth(sim=simulator, counts=simulator.truth(), tickets=all_tickets(simulator))


@dataclass
class PrivateAccount:
    db: str  # an SQLite path or a postgresql:// URL
    blob_dir: Path
    ticket_id: int
    user_id: int
    organization_id: int
    private_comment_ids: set[int]
    private_attachment_ids: set[int]

    def private_words(self, comment_id: int) -> str:
        """The first words of a private comment, as a search for all of them."""
        from zensync.store import Store

        with Store.open(self.db, blob_dir=self.blob_dir) as store:
            entity = store.get_entity("acme", "comment", comment_id)
        words = entity.search_text().split() if entity is not None else []
        return " ".join(f'"{w}"' for w in words[:6] if w.isalpha())


def make_private_account(folder: Path, db: str) -> PrivateAccount:
    """A small account whose ticket got an internal note with a file, and whose user and
    organization got agents' notes, all with the marker; synced into ``db``."""
    blob_dir = folder / "blobs" if "://" in db else Path(f"{db}.blobs")
    with running_simulator(tickets=30, seed=11, minute_seconds=1) as sim:
        tickets = all_tickets(sim)
        ticket = next(t for t in tickets if t.get("organization_id") and t["status"] != "closed")
        # An internal note with a file (Zendesk's "Upload Files", then a comment with uploads).
        with httpx.Client(base_url=sim.base_url, timeout=30) as http:
            upload = http.post(
                "/api/v2/uploads",
                params={"filename": f"{MARKER}-passwords.txt"},
                content=f"internal {MARKER} secrets".encode(),
                headers={"Authorization": sim.basic_auth_header(), "Content-Type": "text/plain"},
            )
        assert upload.status_code == 201, upload.text
        token = upload.json()["upload"]["token"]
        note = {"body": f"Internal only: the {MARKER} workaround, do not tell the customer.", "public": False}
        response = sim.request(
            "PUT",
            f"/api/v2/tickets/{ticket['id']}",
            json={"ticket": {"comment": {**note, "uploads": [token]}}},
        )
        assert response.status_code == 200, response.text
        user_id = int(ticket["requester_id"])
        org_id = int(ticket["organization_id"])
        response = sim.request("PUT", f"/api/v2/users/{user_id}", json={"user": {"notes": f"{MARKER} VIP"}})
        assert response.status_code == 200, response.text
        response = sim.request(
            "PUT", f"/api/v2/organizations/{org_id}", json={"organization": {"notes": f"{MARKER} renewal"}}
        )
        assert response.status_code == 200, response.text
        time.sleep(2.5)  # exports hold back the most recent simulated minute
        sync_into(sim, db, "--blob-dir", str(blob_dir), cwd=folder)

    import sqlalchemy as sa

    from zensync.store import Store

    with Store.open(db, blob_dir=blob_dir) as store, store.engine.connect() as conn:
        private_comments = {
            int(r[0]) for r in conn.execute(sa.text("SELECT id FROM comments WHERE NOT public"))
        }
        private_files = {
            int(r[0])
            for r in conn.execute(
                sa.text(
                    "SELECT a.id FROM attachments a JOIN comments c ON c.connection_id = a.connection_id "
                    "AND c.id = a.comment_id WHERE NOT c.public"
                )
            )
        }
        marked = conn.execute(
            sa.text("SELECT count(*) FROM comments WHERE search_text LIKE :m"), {"m": f"%{MARKER}%"}
        ).scalar_one()
    assert marked == 1, "the internal note was not synced"
    assert private_comments and private_files
    return PrivateAccount(db, blob_dir, int(ticket["id"]), user_id, org_id, private_comments, private_files)


@pytest.fixture(scope="package")
def private_account(tmp_path_factory: pytest.TempPathFactory) -> PrivateAccount:
    folder = tmp_path_factory.mktemp("mcp-private")
    return make_private_account(folder, str(folder / "private.db"))


def as_json(result: Any) -> str:
    """Everything a tool or resource result says, as one string to search for leaks."""
    return json.dumps(result.model_dump(mode="json"), ensure_ascii=False)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serving(db: Path, folder: Path, *args: str, **env: str) -> Iterator[str]:
    """`zensync serve` over ``db`` on a free loopback port; yields its base URL."""
    port = free_port()
    process = subprocess.Popen(
        [*zensync_command(), "serve", "--port", str(port), "--db", str(db), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=clean_env(ZENSYNC_KEY_FILE=str(folder / "secret.key"), **env),
        cwd=folder,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/healthz", timeout=2)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.communicate()[0]
                assert time.monotonic() < deadline, "the service did not start"
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


TOOLS = {"search", "get_ticket", "get_user", "get_organization", "list_tickets", "sync_status"}


class Checked:
    """Calls tools through an SDK client, asserting each result is a success that validates
    against the tool's advertised output schema and carries a text form."""

    def __init__(self, client: Any, schemas: dict[str, dict[str, Any]]) -> None:
        self.client = client
        self.schemas = schemas

    @classmethod
    async def start(cls, client: Any) -> Checked:
        listed = await client.list_tools()
        tools = {t.name: t for t in listed.tools}
        assert set(tools) == TOOLS
        for tool in tools.values():
            assert tool.input_schema["type"] == "object"
            assert tool.output_schema is not None, f"{tool.name} has no output schema"
            assert tool.annotations is not None and tool.annotations.read_only_hint is True
            assert tool.description
        return cls(client, {name: t.output_schema for name, t in tools.items()})

    async def call(self, name: str, **arguments: Any) -> dict[str, Any]:
        result = await self.client.call_tool(name, arguments)
        text = result.content[0].text if result.content else ""
        assert not result.is_error, f"{name}({arguments}) failed: {text}"
        jsonschema.validate(result.structured_content, self.schemas[name])
        assert text.strip(), f"{name} returned no text"
        structured: dict[str, Any] = result.structured_content
        structured["_text"] = text
        return structured

    @staticmethod
    def decode(cursor: str) -> dict[str, Any]:
        """A cursor's fields (the server's cursors are URL-safe base64 of JSON)."""
        import base64

        decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return decoded

    @staticmethod
    def cursor(fields: dict[str, Any]) -> str:
        """A cursor holding ``fields``, in the server's encoding."""
        import base64

        return base64.urlsafe_b64encode(json.dumps(fields).encode()).decode().rstrip("=")

    async def error(self, name: str, **arguments: Any) -> str:
        result = await self.client.call_tool(name, arguments)
        assert result.is_error, f"{name}({arguments}) should have failed"
        return str(result.content[0].text)


async def check_against_truth(client: Any, truth: Truth) -> None:
    """Every tool on a synced copy of the shared simulator, compared with the simulator."""
    tools = await Checked.start(client)
    counts = truth.counts

    status = await tools.call("sync_status")
    [account] = status["connections"]
    # An empty connection (as some clients fill optional strings) means the default account.
    unnamed = await tools.call("sync_status", connection="")
    assert [c["id"] for c in unnamed["connections"]] == [account["id"]]
    assert (await tools.call("list_tickets", limit=1, connection=""))["connection"] == account["id"]
    for entity_type in ("ticket", "comment", "user", "organization", "attachment"):
        assert account["counts"][entity_type] == counts[entity_type], entity_type
    assert account["last_run"]["status"] == "succeeded" and account["data_age_seconds"] is not None

    # list_tickets: per status, and every ticket once when paging through all of them.
    for ticket_status, n in counts["tickets_by_status"].items():
        listed = await tools.call("list_tickets", status=[ticket_status], limit=1)
        assert listed["total"] == n, ticket_status
    seen: list[int] = []
    cursor = None
    while True:
        page = await tools.call("list_tickets", limit=37, **({"cursor": cursor} if cursor else {}))
        seen += [t["id"] for t in page["tickets"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(t["id"] for t in truth.tickets)
    stamps = [t["updated_at"] for t in page["tickets"]]
    assert stamps == sorted(stamps, reverse=True)

    # get_ticket: the whole conversation in Zendesk's order, also when paged two at a time.
    sizes = {t["id"]: len(truth.comments(t["id"])) for t in truth.tickets[:30]}
    busy = next(t for t in truth.tickets if t["id"] == max(sizes, key=lambda i: sizes[i]))
    expected = truth.comments(busy["id"])
    assert len(expected) >= 3
    whole = await tools.call("get_ticket", ticket_id=busy["id"], max_chars=200_000)
    conversation = whole["conversation"]
    assert conversation["total_comments"] == len(expected)
    assert [c["id"] for c in conversation["comments"]] == [c["id"] for c in expected]
    assert [c["public"] for c in conversation["comments"]] == [c["public"] for c in expected]
    assert conversation["next_cursor"] is None
    ticket = whole["ticket"]
    assert ticket["subject"] == busy["subject"] and ticket["status"] == busy["status"]
    assert ticket["web_url"].endswith(f"/agent/tickets/{busy['id']}")
    assert sorted(ticket["tags"]) == sorted(busy["tags"])
    if busy.get("requester_id"):
        assert ticket["requester"]["id"] == busy["requester_id"] and ticket["requester"]["name"]
    check_ticket_context(whole, busy, truth)
    files = {a["id"]: a for c in expected for a in c.get("attachments", [])}
    shown = {a["id"]: a for c in conversation["comments"] for a in c["attachments"]}
    assert set(files) <= set(shown)  # inline images are attachments too
    for file_id, attachment in files.items():
        assert shown[file_id]["file_name"] == attachment["file_name"]
        assert shown[file_id]["size"] == attachment["size"]
        assert shown[file_id]["stored"] is True
    paged: list[int] = []
    cursor = None
    while True:
        page = await tools.call(
            "get_ticket", ticket_id=busy["id"], max_comments=2, **({"cursor": cursor} if cursor else {})
        )
        paged += [c["id"] for c in page["conversation"]["comments"]]
        assert [c["position"] for c in page["conversation"]["comments"]] == list(
            range(len(paged) - len(page["conversation"]["comments"]) + 1, len(paged) + 1)
        )
        cursor = page["conversation"]["next_cursor"]
        if cursor is None:
            break
    assert paged == [c["id"] for c in expected]
    # A size budget: a small one still gives whole comments, at least one per page.
    small = await tools.call("get_ticket", ticket_id=busy["id"], max_chars=500)
    assert 1 <= len(small["conversation"]["comments"]) <= len(expected)

    # get_user: the tickets the user requested, as the simulator has them.
    requester = busy["requester_id"]
    user = await tools.call("get_user", user_id=requester, recent=50)
    mine = [t["id"] for t in truth.tickets if t.get("requester_id") == requester]
    assert user["requested_count"] == len(mine)
    recent_ids = [t["id"] for t in user["recent_requested"]]
    assert set(recent_ids) <= set(mine) and len(recent_ids) == min(50, len(mine))
    assert user["user"]["web_url"].endswith(f"/agent/users/{requester}")

    # get_organization: its tickets, by status.
    org_ticket = next(t for t in truth.tickets if t.get("organization_id"))
    org_id = org_ticket["organization_id"]
    organization = await tools.call("get_organization", organization_id=org_id, recent=5)
    theirs = [t for t in truth.tickets if t.get("organization_id") == org_id]
    assert organization["ticket_count"] == len(theirs)
    assert sum(organization["tickets_by_status"].values()) == len(theirs)
    assert len(organization["recent_tickets"]) == min(5, len(theirs))
    assert organization["organization"]["web_url"].endswith(f"/agent/organizations/{org_id}")

    # search: the simulator's seeded phrases are found where it put them.
    phrases = {p["type"]: p for p in counts["phrases"]}
    comment = phrases["comment"]
    found = await tools.call("search", query=comment["phrase"], limit=5)
    top = found["hits"][0]
    assert top["ticket"]["id"] == comment["ticket_id"]
    assert top["match"] == {**top["match"], "type": "comment", "id": comment["id"]}
    assert "**" in top["snippet"] and top["web_url"].endswith(f"/agent/tickets/{comment['ticket_id']}")
    attachment = phrases["attachment"]
    found = await tools.call("search", query=attachment["phrase"], types=["attachment"], limit=3)
    assert found["hits"][0]["ticket"]["id"] == attachment["ticket_id"]
    user_phrase = phrases["user"]
    found = await tools.call("search", query=user_phrase["phrase"], types=["user"])
    assert found["hits"][0]["match"]["id"] == user_phrase["id"] and found["hits"][0]["ticket"] is None
    # Filters narrow the hits to matching tickets.
    statuses = {t["id"]: t["status"] for t in truth.tickets}
    solved = await tools.call("search", query="refund", status=["solved", "closed"], limit=20)
    assert solved["hits"] and all(statuses[h["ticket"]["id"]] in ("solved", "closed") for h in solved["hits"])
    theirs_ids = {t["id"] for t in theirs}
    word = max((w for w in theirs[0]["subject"].split() if w.isalpha()), key=len)
    in_org = await tools.call("search", query=word, organization_id=org_id, limit=50)
    found_ids = {h["ticket"]["id"] for h in in_org["hits"]}
    assert theirs[0]["id"] in found_ids and found_ids <= theirs_ids
    recent = await tools.call("search", query="refund", updated_after="2000-01-01T00:00:00Z", limit=5)
    assert len(recent["hits"]) == 5
    none = await tools.call("search", query="refund", updated_after="2999-01-01T00:00:00Z")
    assert none["hits"] == []

    # The ticket resource: the same conversation as text.
    templates = await client.list_resource_templates()
    assert sorted(t.uri_template for t in templates.resource_templates) == [
        "zendesk://tickets/{ticket_id}",
        "zendesk://{connection}/tickets/{ticket_id}",
    ]
    resource = await client.read_resource(f"zendesk://tickets/{busy['id']}")
    text = resource.contents[0].text
    assert busy["subject"] in text and f"of {len(expected)}" in text
    named = await client.read_resource(f"zendesk://{account['id']}/tickets/{busy['id']}")
    assert named.contents[0].text == text


def check_ticket_context(result: dict[str, Any], expected: dict[str, Any], truth: Truth) -> None:
    """get_ticket names what the ticket's ids mean, as the simulator's own lists have them:
    custom fields by title (List Ticket Fields) with a drop-down's option name, the brand,
    form and custom status names, the satisfaction rating and the Ticket Metrics."""
    ticket, text = result["ticket"], result["_text"]
    fields = {f["id"]: f for f in all_pages(truth.sim, "/api/v2/ticket_fields", "ticket_fields")}
    set_fields = [f for f in expected["custom_fields"] if f["value"] not in (None, "", [])]
    assert set_fields, "the simulator's tickets carry custom fields"
    assert [f["id"] for f in ticket["custom_fields"]] == [f["id"] for f in set_fields]
    for shown, raw in zip(ticket["custom_fields"], set_fields, strict=True):
        field = fields[raw["id"]]
        options = {o["value"]: o["name"] for o in field.get("custom_field_options") or []}
        assert shown["title"] == field["title"] and shown["value"] == raw["value"]
        assert shown["display_value"] == options.get(raw["value"], raw["value"])
        assert f"{field['title']}: {shown['display_value']}" in text
        assert f"{raw['id']}=" not in text
    brand = truth.sim.request("GET", f"/api/v2/brands/{expected['brand_id']}").json()["brand"]
    assert ticket["brand"] == {"id": brand["id"], "name": brand["name"]} and brand["name"] in text
    form = truth.sim.request("GET", f"/api/v2/ticket_forms/{expected['ticket_form_id']}").json()
    form_name = form["ticket_form"].get("display_name") or form["ticket_form"]["name"]
    assert ticket["form"] == {"id": expected["ticket_form_id"], "name": form_name}
    status = truth.sim.request("GET", f"/api/v2/custom_statuses/{expected['custom_status_id']}").json()
    assert ticket["custom_status"]["name"] == status["custom_status"]["agent_label"]
    rating = expected.get("satisfaction_rating") or {}
    if rating.get("score"):
        assert ticket["satisfaction"]["score"] == rating["score"]
        assert f"Satisfaction: {rating['score']}" in text
    metric = truth.sim.request("GET", f"/api/v2/tickets/{expected['id']}/metrics").json()["ticket_metric"]
    reply = (metric.get("reply_time_in_minutes") or {}).get("calendar")
    resolution = (metric.get("full_resolution_time_in_minutes") or {}).get("calendar")
    assert ticket["metrics"]["first_reply_time_minutes"] == reply
    assert ticket["metrics"]["full_resolution_time_minutes"] == resolution
    assert ticket["metrics"]["replies"] == metric["replies"] and "Metrics: first reply" in text


async def check_errors(client: Any) -> None:
    """Wrong input gives a tool error that says what is wrong; the server keeps answering."""
    tools = await Checked.start(client)
    assert "No ticket #999999999" in await tools.error("get_ticket", ticket_id=999999999)
    assert "No user 1" in await tools.error("get_user", user_id=1)
    assert "No organization 2" in await tools.error("get_organization", organization_id=2)
    assert "less than or equal to 50" in await tools.error("search", query="refund", limit=5000)
    assert "less than or equal to 100" in await tools.error("list_tickets", limit=101)
    assert "'open'" in await tools.error("list_tickets", status=["opened"])
    assert "ticket_id" in await tools.error("get_ticket", ticket_id="forty-two")
    assert "updated_since" in await tools.error("list_tickets", updated_since="yesterday-ish")
    assert "cursor" in await tools.error("list_tickets", cursor="not-a-cursor")
    assert "cursor" in await tools.error("get_ticket", ticket_id=1, cursor="eyJrIjoibm8ifQ")
    assert "No account 'elsewhere'" in await tools.error("sync_status", connection="elsewhere")
    # Ids beyond Zendesk's 64-bit range, and cursors that decode but hold wrong fields.
    too_big = 2**63
    assert "less than or equal to 9223372036854775807" in await tools.error("get_ticket", ticket_id=too_big)
    assert "less than or equal to 9223372036854775807" in await tools.error("get_user", user_id=too_big)
    huge_org = await tools.error("get_organization", organization_id=too_big)
    assert "less than or equal to 9223372036854775807" in huge_org
    assert "greater than or equal to 1" in await tools.error("list_tickets", requester_id=0)
    assert "organization_id" in await tools.error("search", query="x", organization_id=too_big)
    some = (await tools.call("list_tickets", limit=1))["tickets"][0]["id"]
    account = (await tools.call("sync_status"))["connections"][0]["id"]
    for fields in (
        {"n": "x", "i": 1},
        {"n": 1},
        {"n": 1, "a": "soon", "i": 1},
        {"n": 1, "i": too_big},
    ):
        forged = tools.cursor({"k": "get_ticket", "c": account, "t": some, **fields})
        assert "cursor is damaged" in await tools.error("get_ticket", ticket_id=some, cursor=forged)
    page = await tools.call("list_tickets", limit=1)
    real = tools.decode(page["next_cursor"])
    for bad in ({"i": -1}, {"i": [1]}, {"u": 12}, {"u": "2026-01-01T00:00:00"}):
        forged = tools.cursor({**real, **bad})
        assert "cursor is damaged" in await tools.error("list_tickets", limit=1, cursor=forged)
    # Text inputs have bounds.
    assert "at most 1000 characters" in await tools.error("search", query="refund " * 200)
    assert "at most 200 characters" in await tools.error("list_tickets", tag="x" * 201)
    assert "at most 1000 characters" in await tools.error("list_tickets", cursor="e" * 5000)
    assert "at most 200 characters" in await tools.error("sync_status", connection="c" * 201)
    assert "at most 6 items" in await tools.error("list_tickets", status=["open"] * 7)
    assert "'organization'" in await tools.error("search", query="x", types=["macro"])
    assert "apply to tickets" in await tools.error("search", query="x", types=["user"], status=["open"])
    page = await tools.call("list_tickets", limit=1)
    other = await tools.error("list_tickets", limit=1, status=["open"], cursor=page["next_cursor"])
    assert "other filters" in other
    from mcp.shared.exceptions import MCPError

    with pytest.raises(MCPError, match="No ticket #424242"):
        await client.read_resource("zendesk://tickets/424242")
    with pytest.raises(MCPError, match="not a ticket id"):
        await client.read_resource("zendesk://tickets/abc")
    with pytest.raises(MCPError, match="No account 'elsewhere'"):
        await client.read_resource("zendesk://elsewhere/tickets/1")
    with pytest.raises(MCPError, match="at most 200 characters"):
        await client.read_resource(f"zendesk://{'c' * 201}/tickets/1")
    with pytest.raises(MCPError, match="ticket_id=9223372036854775808 is not an id"):
        await client.read_resource(f"zendesk://tickets/{2**63}")
    # Still serving.
    assert (await tools.call("sync_status"))["connections"]


async def everything_about_the_note(client: Any, account: PrivateAccount) -> list[str]:
    """Every tool and the resource, called where the internal note and the notes would show."""
    tools = await Checked.start(client)
    calls: list[tuple[str, dict[str, Any]]] = [
        ("search", {"query": MARKER, "types": ALL_SEARCH_TYPES, "limit": 50}),
        ("search", {"query": MARKER}),
        ("search", {"query": f"{MARKER} workaround", "types": ["comment"]}),
        ("search", {"query": f"{MARKER}-passwords.txt", "types": ["attachment"]}),
        ("get_ticket", {"ticket_id": account.ticket_id, "max_chars": 200_000}),
        ("get_user", {"user_id": account.user_id, "recent": 50}),
        ("get_organization", {"organization_id": account.organization_id, "recent": 50}),
        ("list_tickets", {"requester_id": account.user_id}),
        ("list_tickets", {"organization_id": account.organization_id, "limit": 100}),
        ("sync_status", {}),
    ]
    outputs = []
    for name, arguments in calls:
        result = await tools.call(name, **arguments)
        if name == "search":  # the answer repeats the query: look only at what was found
            result["_text"] = result["_text"].replace(repr(result.pop("query")), "QUERY")
        outputs.append(f"{name}: {result}")
    resource = await client.read_resource(f"zendesk://tickets/{account.ticket_id}")
    outputs.append(as_json(resource))
    return outputs


ALL_SEARCH_TYPES = ["ticket", "comment", "attachment", "user", "organization"]


class Kit:
    """The helpers above for the test modules (importlib mode keeps them from importing this file)."""

    marker = MARKER
    all_search_types = ALL_SEARCH_TYPES
    command = staticmethod(zensync_command)
    env = staticmethod(clean_env)
    as_json = staticmethod(as_json)
    sync_into = staticmethod(sync_into)
    make_private_account = staticmethod(make_private_account)
    serving = staticmethod(serving)
    everything_about_the_note = staticmethod(everything_about_the_note)
    check_against_truth = staticmethod(check_against_truth)
    check_errors = staticmethod(check_errors)
    Checked = Checked


@pytest.fixture(scope="session")
def kit() -> type[Kit]:
    return Kit
