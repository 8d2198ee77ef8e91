"""apply_page semantics on both backends: hash → insert / update / unchanged, deletions with
their cascades, the cursor and the run progress committed with the page, sweeps."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from zensync.entities import (
    Deletion,
    SourcePage,
    ZendeskAttachmentEntity,
    ZendeskCommentEntity,
    ZendeskOrganizationEntity,
    ZendeskTicketEntity,
    ZendeskUserEntity,
)
from zensync.store import Store, StoreError
from zensync.store.store import ROWS_PER_WRITE

CID = "acme"


def ticket(tid: int, subject: str = "Printer jam", **extra: Any) -> ZendeskTicketEntity:
    raw = {
        "id": tid,
        "subject": subject,
        "description": f"Description of ticket {tid}",
        "status": "open",
        "priority": "high",
        "requester_id": 7,
        "created_at": "2024-03-01T10:00:00Z",
        "updated_at": "2024-03-02T11:30:00Z",
        **extra,
    }
    return ZendeskTicketEntity.from_api(
        raw, web_url=f"https://acme.zendesk.com/agent/tickets/{tid}", requester_name="Ada Lovelace"
    )


def comment(cid: int, tid: int, body: str = "Please restart it") -> ZendeskCommentEntity:
    crumb = ticket(tid).breadcrumb()
    return ZendeskCommentEntity.from_api(
        {"id": cid, "body": body, "author_id": 7, "public": True, "created_at": "2024-03-01T10:05:00Z"},
        ticket=crumb,
        ticket_id=tid,
        author_name="Ada Lovelace",
    )


def attachment(aid: int, com: ZendeskCommentEntity, name: str = "screenshot.png") -> ZendeskAttachmentEntity:
    return ZendeskAttachmentEntity.from_api(
        {
            "id": aid,
            "file_name": name,
            "content_url": f"https://acme.zendesk.com/attachments/token/t{aid}/?name={name}",
            "content_type": "image/png",
            "size": 1234,
        },
        comment=com,
        ticket=ticket(com.ticket_id).breadcrumb(),
    )


def page(
    *entities: Any, deletions: tuple[Deletion, ...] = (), cursor: dict[str, Any] | None = None
) -> SourcePage:
    return SourcePage(
        stream="tickets", entities=list(entities), deletions=list(deletions), cursor=cursor or {"n": 1}
    )


def row(store: Store, table: str, object_id: int) -> dict[str, Any] | None:
    with store.engine.connect() as conn:
        found = conn.execute(
            sa.text(f"SELECT * FROM {table} WHERE connection_id = :c AND id = :i"),  # noqa: S608
            {"c": CID, "i": object_id},
        )
        result = found.mappings().first()
    return dict(result) if result else None


def test_insert_then_unchanged_then_update(store: Store) -> None:
    run = store.create_run(CID, "full")
    first = store.apply_page(CID, page(ticket(1), ticket(2)), run.id)
    assert (first["ticket"].inserted, first["ticket"].updated, first["ticket"].unchanged) == (2, 0, 0)

    # Emitted again within the same run (a first run's ticket survey and its re-read): counted
    # once, so a first run's report shows no "unchanged" tickets.
    repeat = store.apply_page(CID, page(ticket(1), ticket(2)), run.id)
    assert (repeat["ticket"].inserted, repeat["ticket"].updated, repeat["ticket"].unchanged) == (0, 0, 0)
    assert store.get_run(run.id).progress["counts"]["ticket"]["unchanged"] == 0  # type: ignore[union-attr]

    again = store.apply_page(CID, page(ticket(1), ticket(2)), store.create_run(CID, "incremental").id)
    assert (again["ticket"].inserted, again["ticket"].updated, again["ticket"].unchanged) == (0, 0, 2)
    synced_before = row(store, "tickets", 1)["synced_at"]  # type: ignore[index]

    later = store.create_run(CID, "incremental").id
    changed = store.apply_page(CID, page(ticket(1, subject="Printer on fire"), ticket(2)), later)
    assert (changed["ticket"].inserted, changed["ticket"].updated, changed["ticket"].unchanged) == (0, 1, 1)
    stored = row(store, "tickets", 1)
    assert stored is not None
    assert stored["subject"] == "Printer on fire"
    assert stored["name"] == "Printer on fire"
    assert stored["content_hash"] == ticket(1, subject="Printer on fire").content_hash()
    assert stored["synced_at"] >= synced_before
    assert store.counts(CID) == {"organization": 0, "user": 0, "ticket": 2, "comment": 0, "attachment": 0}


def test_typed_columns_json_and_timestamps(store: Store) -> None:
    store.apply_page(CID, page(ticket(5)), None)
    stored = row(store, "tickets", 5)
    assert stored is not None
    assert stored["status"] == "open"
    assert stored["priority"] == "high"
    assert stored["requester_id"] == 7
    assert stored["requester_name"] == "Ada Lovelace"
    assert stored["entity_id"] == "ticket:5"
    assert stored["web_url"] == "https://acme.zendesk.com/agent/tickets/5"
    data = stored["data"]
    if isinstance(data, str):  # SQLite hands JSON back as text
        import json

        data = json.loads(data)
    assert data["description"] == "Description of ticket 5"
    # Timestamps are real timestamps on both backends: they compare in SQL.
    with store.engine.connect() as conn:
        newer = conn.execute(
            sa.text("SELECT count(*) FROM tickets WHERE updated_at > created_at AND connection_id = :c"),
            {"c": CID},
        ).scalar_one()
    assert newer == 1
    entity = store.get_entity(CID, "ticket", 5)
    assert isinstance(entity, ZendeskTicketEntity)
    assert entity.updated_at == datetime(2024, 3, 2, 11, 30, tzinfo=UTC)
    assert entity.content_hash() == ticket(5).content_hash()


def test_unchanged_rows_are_marked_seen_by_the_run(store: Store) -> None:
    first = store.create_run(CID, "full")
    store.apply_page(CID, page(ticket(1)), first.id)
    second = store.create_run(CID, "full")
    store.apply_page(CID, page(ticket(1)), second.id)
    assert row(store, "tickets", 1)["last_seen_run"] == second.id  # type: ignore[index]


def test_repeated_object_in_one_page_is_stored_once_last_wins(store: Store) -> None:
    counts = store.apply_page(CID, page(ticket(1, subject="old"), ticket(1, subject="new")), None)
    assert counts["ticket"].inserted == 1
    assert row(store, "tickets", 1)["subject"] == "new"  # type: ignore[index]


def test_deleting_a_ticket_removes_its_comments_and_attachments(store: Store) -> None:
    c1, c2, c3 = comment(11, 1), comment(12, 1), comment(21, 2)
    store.apply_page(
        CID,
        page(ticket(1), ticket(2), c1, c2, c3, attachment(111, c1), attachment(121, c2), attachment(211, c3)),
        None,
    )
    counts = store.apply_page(
        CID, page(deletions=(Deletion(entity_type="ticket", entity_id="ticket:1"),)), None
    )
    assert (counts["ticket"].deleted, counts["comment"].deleted, counts["attachment"].deleted) == (1, 2, 2)
    assert store.counts(CID) == {"organization": 0, "user": 0, "ticket": 1, "comment": 1, "attachment": 1}
    assert row(store, "attachments", 211) is not None


def test_deleting_a_comment_removes_its_attachments_only(store: Store) -> None:
    c1, c2 = comment(11, 1), comment(12, 1)
    store.apply_page(
        CID, page(ticket(1), c1, c2, attachment(111, c1), attachment(112, c1), attachment(121, c2)), None
    )
    counts = store.apply_page(
        CID, page(deletions=(Deletion(entity_type="comment", entity_id="comment:11"),)), None
    )
    assert (counts["comment"].deleted, counts["attachment"].deleted) == (1, 2)
    assert store.counts(CID)["ticket"] == 1
    assert row(store, "attachments", 121) is not None


def test_deletion_of_unknown_object_counts_nothing(store: Store) -> None:
    counts = store.apply_page(
        CID, page(deletions=(Deletion(entity_type="user", entity_id="user:404"),)), None
    )
    assert counts.total("deleted") == 0


def test_malformed_deletion_id_is_a_clear_error(store: Store) -> None:
    with pytest.raises(StoreError, match="expected an entity id like 'user:123'"):
        store.apply_page(CID, page(deletions=(Deletion(entity_type="user", entity_id="user:abc"),)), None)


def test_connections_do_not_see_each_other(store: Store) -> None:
    store.apply_page("one", page(ticket(1)), None)
    store.apply_page("two", page(ticket(1, subject="other")), None)
    store.apply_page("one", page(deletions=(Deletion(entity_type="ticket", entity_id="ticket:1"),)), None)
    assert store.counts("one")["ticket"] == 0
    assert store.counts("two")["ticket"] == 1
    assert store.counts()["ticket"] == 1


def test_page_cursor_and_progress_are_saved_with_the_page(store: Store) -> None:
    run = store.create_run(CID, "full")
    assert store.get_cursor(CID) is None
    store.apply_page(
        CID, page(ticket(1), cursor={"tickets": {"after": "abc"}}), run.id, extra_progress={"x": 1}
    )
    store.apply_page(CID, page(ticket(2), cursor={"tickets": {"after": "def"}}), run.id)
    assert store.get_cursor(CID) == {"tickets": {"after": "def"}}
    progress = store.get_run(run.id).progress  # type: ignore[union-attr]
    assert progress is not None
    assert progress["pages"] == 2
    assert progress["counts"]["ticket"]["inserted"] == 2
    assert progress["stream"] == "tickets"
    assert progress["x"] == 1


def test_a_failing_page_changes_nothing(store: Store) -> None:
    """One transaction: if the progress update fails, the entities and cursor roll back."""
    store.apply_page(CID, page(ticket(1), cursor={"at": 1}), None)
    with pytest.raises(StoreError, match="No sync run #999"):
        store.apply_page(
            CID,
            page(ticket(1, subject="changed"), ticket(2), cursor={"at": 2}, deletions=()),
            999,
        )
    assert store.get_cursor(CID) == {"at": 1}
    assert store.counts(CID)["ticket"] == 1
    assert row(store, "tickets", 1)["subject"] == "Printer jam"  # type: ignore[index]


def test_a_page_larger_than_one_write_is_stored_whole_in_one_transaction(store: Store) -> None:
    """Rows are written ROWS_PER_WRITE at a time (memory), but a page is still one transaction:
    every row or none, counted once."""
    n = ROWS_PER_WRITE * 2 + 37
    run = store.create_run(CID, "full")
    first = store.apply_page(CID, page(*(ticket(i) for i in range(1, n + 1)), cursor={"at": 1}), run.id)
    assert (first["ticket"].inserted, first["ticket"].updated) == (n, 0)
    assert store.counts(CID)["ticket"] == n
    later = store.create_run(CID, "incremental").id
    renamed = [ticket(i, subject=f"Renamed {i}") if i % 2 else ticket(i) for i in range(1, n + 1)]
    changed = store.apply_page(CID, page(*renamed, cursor={"at": 2}), later)
    assert (changed["ticket"].updated, changed["ticket"].unchanged) == ((n + 1) // 2, n // 2)
    assert row(store, "tickets", n)["subject"] == (f"Renamed {n}" if n % 2 else "Printer jam")  # type: ignore[index]
    # A page that fails after its first writes leaves nothing of itself behind.
    failing = [ticket(i, subject="Half written") for i in range(1, n + 1)]
    with pytest.raises(StoreError, match="No sync run #999"):
        store.apply_page(CID, page(*failing, cursor={"at": 3}), 999)
    assert store.get_cursor(CID) == {"at": 2}
    assert row(store, "tickets", 1)["subject"] == "Renamed 1"  # type: ignore[index]


def test_pages_of_every_length_share_their_statements(store: Store) -> None:
    """A page's ids are looked up, updated and deleted with statements that do not depend on
    how many ids there are: a sync's pages come in every length, and a statement per length
    is parsed and planned again and again (and, on SQLite, up to 128 of them are kept prepared
    per connection: memory that grew with the account)."""
    statements: set[str] = set()

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.add(statement)

    sa.event.listen(store.engine, "before_cursor_execute", seen)
    try:
        run = store.create_run(CID, "full").id
        next_id = 1
        for length in range(1, 41):
            ids = range(next_id, next_id + length)
            next_id += length
            store.apply_page(CID, page(*(ticket(i) for i in ids)), run)  # inserted
            store.apply_page(CID, page(*(ticket(i) for i in ids)), run)  # unchanged
            gone = [Deletion(entity_type="ticket", entity_id=f"ticket:{i}") for i in ids]
            store.apply_page(CID, SourcePage(stream="tickets", deletions=gone), run)
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", seen)
    assert store.counts(CID)["ticket"] == 0
    # 40 lengths of page, each inserted, seen unchanged and deleted: a few dozen statements in
    # all, not some per length
    assert len(statements) < 40, sorted(statements, key=len)[-3:]


def test_attachment_file_hash_is_kept_and_updated(store: Store) -> None:
    c1 = comment(11, 1)
    att = attachment(111, c1)
    store.apply_page(CID, page(ticket(1), c1, att), None)
    assert row(store, "attachments", 111)["content_sha256"] is None  # type: ignore[index]

    # Downloaded later: same metadata, the bytes' hash is new information → updated.
    downloaded = att.model_copy(update={"content_sha256": "a" * 64})
    counts = store.apply_page(CID, page(downloaded), None)
    assert counts["attachment"].updated == 1
    assert row(store, "attachments", 111)["content_sha256"] == "a" * 64  # type: ignore[index]

    # A later sync without downloads neither changes nor forgets it.
    counts = store.apply_page(CID, page(att), None)
    assert counts["attachment"].unchanged == 1
    # Even when other metadata changes, the file stays linked.
    renamed = attachment(111, c1, name="renamed.png")
    counts = store.apply_page(CID, page(renamed), None)
    assert counts["attachment"].updated == 1
    stored = row(store, "attachments", 111)
    assert stored is not None
    assert stored["content_sha256"] == "a" * 64
    assert stored["file_name"] == "renamed.png"
    assert store.attachment_files(CID, [111, 999]) == {111: "a" * 64}


def test_sweep_unseen_removes_what_a_full_run_did_not_see(store: Store) -> None:
    old = store.create_run(CID, "full")
    c1, c2 = comment(11, 1), comment(21, 2)
    org = ZendeskOrganizationEntity.from_api({"id": 3, "name": "Gone Inc"})
    user = ZendeskUserEntity.from_api({"id": 4, "name": "Kept User", "email": "k@example.com"})
    store.apply_page(CID, page(org, user, ticket(1), ticket(2), c1, c2, attachment(111, c1)), old.id)
    store.apply_page("other", page(ticket(1)), old.id)

    new = store.create_run(CID, "full")
    store.apply_page(CID, page(user, ticket(2), c2), new.id)
    swept = store.sweep_unseen(CID, new.id, ["organization", "user", "ticket", "comment", "attachment"])
    assert swept.to_dict()["ticket"]["deleted"] == 1
    assert swept["comment"].deleted == 1
    assert swept["attachment"].deleted == 1
    assert swept["organization"].deleted == 1
    assert swept["user"].deleted == 0
    assert store.counts(CID) == {"organization": 0, "user": 1, "ticket": 1, "comment": 1, "attachment": 0}
    assert store.counts("other")["ticket"] == 1  # another connection is never swept
    assert store.get_run(new.id).progress["counts"]["ticket"]["deleted"] == 1  # type: ignore[index,union-attr]


def test_complete_snapshot_sweep_inside_the_page_transaction(store: Store) -> None:
    old = store.create_run(CID, "incremental")
    store.apply_page(CID, page(ticket(1), ticket(2)), old.id)
    new = store.create_run(CID, "incremental")
    counts = store.apply_page(CID, page(ticket(2)), new.id, sweep_types=["ticket"])
    assert counts["ticket"].deleted == 1
    assert counts["ticket"].unchanged == 1
    assert store.counts(CID)["ticket"] == 1


def test_sweep_needs_a_run_and_known_types(store: Store) -> None:
    with pytest.raises(ValueError, match="needs that run's id"):
        store.apply_page(CID, page(ticket(1)), None, sweep_types=["ticket"])
    run = store.create_run(CID, "full")
    with pytest.raises(ValueError, match="Unknown entity types"):
        store.sweep_unseen(CID, run.id, ["tickets"])  # type: ignore[list-item]


def test_bad_connection_ids_are_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="non-empty"):
        store.apply_page("", page(ticket(1)), None)
    with pytest.raises(ValueError, match="at most 64"):
        store.apply_page("x" * 65, page(ticket(1)), None)


def test_iter_entities_returns_every_row_in_order(store: Store) -> None:
    store.apply_page(CID, page(*[ticket(i) for i in range(1, 26)]), None)
    ids = [e.id for e in store.iter_entities(CID, "ticket", batch_size=7)]  # type: ignore[attr-defined]
    assert ids == list(range(1, 26))


@pytest.mark.slow
def test_apply_page_throughput(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    """Pages of 1,000 tickets (Zendesk's export page size) store at a useful rate."""
    import time

    pages = [
        SourcePage(
            stream="tickets",
            entities=[
                ticket(p * 1000 + i, subject=f"Subject {i} of page {p}", tags=["vip"]) for i in range(1000)
            ],
            cursor={"page": p},
        )
        for p in range(8)
    ]
    run = store.create_run(CID, "full")
    rates = []
    for _ in ("new", "unchanged"):
        started = time.perf_counter()
        for p in pages:
            store.apply_page(CID, p, run.id)
        rates.append(len(pages) / (time.perf_counter() - started))
    assert store.counts(CID)["ticket"] == len(pages) * 1000
    with capsys.disabled():
        print(
            f"\n[{store.dialect}] apply_page, 1,000 tickets a page: new {rates[0]:.1f} pages/s "
            f"({rates[0] * 1000:,.0f} rows/s); unchanged {rates[1]:.1f} pages/s "
            f"({rates[1] * 1000:,.0f} rows/s)"
        )
    assert rates[0] > 1.0
