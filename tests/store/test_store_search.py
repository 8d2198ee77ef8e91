"""Full-text search on both backends: words, phrases, ranking, snippets, filters, hostile input,
and an index that follows updates and deletions."""

from __future__ import annotations

import re

import pytest

from zensync.entities import (
    Deletion,
    SourcePage,
    ZendeskAttachmentEntity,
    ZendeskCommentEntity,
    ZendeskOrganizationEntity,
    ZendeskTicketEntity,
    ZendeskUserEntity,
)
from zensync.store import Store
from zensync.store.search import fts5_query

CID = "acme"


def _ticket(tid: int, subject: str, description: str = "") -> ZendeskTicketEntity:
    return ZendeskTicketEntity.from_api(
        {"id": tid, "subject": subject, "description": description, "status": "open"},
        web_url=f"https://acme.zendesk.com/agent/tickets/{tid}",
    )


def _comment(cid: int, tid: int, body: str) -> ZendeskCommentEntity:
    return ZendeskCommentEntity.from_api(
        {"id": cid, "body": body, "public": True},
        ticket=_ticket(tid, "x").breadcrumb(),
        ticket_id=tid,
        web_url=f"https://acme.zendesk.com/agent/tickets/{tid}",
    )


@pytest.fixture
def loaded(store: Store) -> Store:
    c1 = _comment(101, 1, "Have you tried turning the printer off and on again?")
    c2 = _comment(102, 2, "The printer was told to restart, nobody did.")
    entities = [
        ZendeskOrganizationEntity.from_api({"id": 1, "name": "Initech", "domain_names": ["initech.example"]}),
        ZendeskUserEntity.from_api(
            {"id": 7, "name": "Ada Lovelace", "email": "ada@example.com"}, organization_name="Initech"
        ),
        _ticket(1, "Printer on fire", "Smoke is coming out of the printer in room 5."),
        _ticket(2, "Restart the printer", "Please restart the printer before calling us."),
        _ticket(
            3,
            "Invoice missing",
            "The March invoice never arrived. Größe: XL. Danke & bis bald <script>x</script>",
        ),
        _ticket(4, "Login trouble", "Cannot log in since the update; printer unrelated."),
        c1,
        c2,
        ZendeskAttachmentEntity.from_api(
            {"id": 1001, "file_name": "invoice-march.pdf", "content_type": "application/pdf", "size": 10},
            comment=_comment(103, 3, "attached"),
            ticket=_ticket(3, "Invoice missing").breadcrumb(),
        ),
    ]
    store.apply_page(CID, SourcePage(stream="tickets", entities=entities), None)
    store.apply_page(
        "other",
        SourcePage(stream="tickets", entities=[_ticket(1, "Printer in another account")]),
        None,
    )
    return store


def _keys(hits: list) -> list[tuple[str, int]]:  # type: ignore[type-arg]
    return [(h.entity_type, h.id) for h in hits]


def test_finds_words_across_types_with_links(loaded: Store) -> None:
    hits = loaded.search("printer", connection_id=CID)
    keys = _keys(hits)
    assert {("ticket", 1), ("ticket", 2), ("ticket", 4), ("comment", 101), ("comment", 102)} <= set(keys)
    comment_hit = next(h for h in hits if h.entity_type == "comment" and h.id == 101)
    assert comment_hit.ticket_id == 1
    assert comment_hit.entity_id == "comment:101"
    assert comment_hit.web_url == "https://acme.zendesk.com/agent/tickets/1"
    ticket_hit = next(h for h in hits if h.entity_type == "ticket" and h.id == 2)
    assert ticket_hit.ticket_id == 2
    assert ticket_hit.name == "Restart the printer"
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_title_matches_rank_above_passing_mentions(loaded: Store) -> None:
    hits = loaded.search("printer", types=["ticket"], connection_id=CID)
    keys = _keys(hits)
    # Ticket 4 only mentions the printer in passing; 1 and 2 have it in the subject.
    assert keys.index(("ticket", 4)) > keys.index(("ticket", 1))
    assert keys.index(("ticket", 4)) > keys.index(("ticket", 2))


def test_phrases_match_words_in_order_only(loaded: Store) -> None:
    phrase = _keys(loaded.search('"restart the printer"', connection_id=CID))
    assert ("ticket", 2) in phrase
    assert ("comment", 102) not in phrase  # has both words, not the phrase
    loose = _keys(loaded.search("restart printer", connection_id=CID))
    assert ("comment", 102) in loose


def test_or_and_exclusion(loaded: Store) -> None:
    either = set(_keys(loaded.search("smoke OR login", connection_id=CID)))
    assert {("ticket", 1), ("ticket", 4)} <= either
    without = set(_keys(loaded.search("printer -restart", types=["ticket"], connection_id=CID)))
    assert ("ticket", 1) in without
    assert ("ticket", 2) not in without


def test_stemming_and_case(loaded: Store) -> None:
    assert ("ticket", 2) in _keys(loaded.search("RESTARTING", connection_id=CID))
    assert ("ticket", 3) in _keys(loaded.search("invoices", connection_id=CID))


def test_users_organizations_and_attachment_names(loaded: Store) -> None:
    assert _keys(loaded.search("ada@example.com", connection_id=CID)) == [("user", 7)]
    assert ("organization", 1) in _keys(loaded.search("initech", connection_id=CID))
    attachment_hits = loaded.search("invoice", types=["attachment"], connection_id=CID)
    assert _keys(attachment_hits) == [("attachment", 1001)]
    assert attachment_hits[0].ticket_id == 3
    assert attachment_hits[0].name == "invoice-march.pdf"


def test_snippets_mark_matches_and_escape_html(loaded: Store) -> None:
    hit = loaded.search("smoke", connection_id=CID)[0]
    assert "<mark>Smoke</mark>" in hit.snippet
    assert ("Smoke", True) in hit.snippet_parts
    assert "printer in room" in hit.snippet_text
    hostile = loaded.search("danke", connection_id=CID)[0]
    without_marks = re.sub(r"</?mark>", "", hostile.snippet)
    assert "<" not in without_marks  # the <script> of the ticket text is escaped, never live
    assert "&amp;" in hostile.snippet or "&lt;" in hostile.snippet


def test_unicode_text_is_searchable(loaded: Store) -> None:
    assert ("ticket", 3) in _keys(loaded.search("größe", connection_id=CID))
    assert loaded.search("größe", connection_id=CID)[0].snippet.count("<mark>") >= 1


# (query, whether it must still find the printer tickets)
HOSTILE = [
    ('"', False),
    ('""', False),
    ("*", False),
    ("AND (", False),
    ("printer AND (", True),
    ('"printer', True),
    ("printer*", True),
    ("NEAR(printer fire)", False),
    ("subject:printer", False),
    ("-", False),
    ("--printer", False),
    ("' OR 1=1 --", False),
    ("\\", False),
    ("printer OR", True),
    ("OR printer", True),
    ("NOT", False),
    ("(((", False),
    ("😀", False),
    ("日本語", False),
    ("printer\x00fire", True),
    ("&|!<>:*", False),
    ("a" * 500, False),
]


def test_hostile_input_never_breaks_the_query(loaded: Store) -> None:
    for query, finds_printer in HOSTILE:
        hits = _keys(loaded.search(query, connection_id=CID))  # must not raise
        if finds_printer:
            assert ("ticket", 1) in hits or ("ticket", 2) in hits, query


def test_filters_types_connection_and_limit(loaded: Store) -> None:
    assert {h.entity_type for h in loaded.search("printer", types=["comment"], connection_id=CID)} == {
        "comment"
    }
    everywhere = loaded.search("printer")
    assert {h.connection_id for h in everywhere} == {CID, "other"}
    assert len(loaded.search("printer", limit=2)) == 2
    with pytest.raises(ValueError, match="Unknown entity type 'tickets'"):
        loaded.search("printer", types=["tickets"])
    with pytest.raises(ValueError, match="limit must be between 1 and 1000"):
        loaded.search("printer", limit=0)
    assert loaded.search("   ") == []


def test_index_follows_updates_and_deletions(loaded: Store) -> None:
    loaded.apply_page(CID, SourcePage(stream="tickets", entities=[_ticket(1, "Toaster on fire")]), None)
    assert ("ticket", 1) in _keys(loaded.search("toaster", connection_id=CID))
    assert ("ticket", 1) not in _keys(loaded.search("smoke", connection_id=CID))
    loaded.apply_page(
        CID,
        SourcePage(stream="tickets", deletions=[Deletion(entity_type="ticket", entity_id="ticket:1")]),
        None,
    )
    assert loaded.search("toaster", connection_id=CID) == []
    assert ("comment", 101) not in _keys(loaded.search("turning", connection_id=CID))  # cascaded
    loaded.rebuild_search_index()
    assert ("ticket", 2) in _keys(loaded.search("restart", connection_id=CID))


def test_fts5_translation_quotes_every_term() -> None:
    assert fts5_query('printer "on fire" -smoke') == '("printer" AND "on fire") NOT ("smoke")'
    assert fts5_query("a OR b c") == '("a") OR ("b" AND "c")'
    assert fts5_query('say "hi"" there') is not None
    assert fts5_query("* ( ) AND") is None
