"""The entity model against Zendesk's own examples (support-oas.yaml ``components.schemas``)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from zensync.config import ZendeskConfig
from zensync.entities import (
    ENTITY_CLASSES,
    Breadcrumb,
    ZendeskAttachmentEntity,
    ZendeskCommentEntity,
    ZendeskOrganizationEntity,
    ZendeskTicketEntity,
    ZendeskUserEntity,
)

# The shared folder stands beside the repository (in CI beside the clone); /work/shared here.
SPEC = Path(__file__).resolve().parents[3] / "shared" / "zendesk" / "support-oas.yaml"
if not SPEC.exists():
    SPEC = Path("/work/shared/zendesk/support-oas.yaml")
CONFIG = ZendeskConfig(subdomain="acme")


class _Loader(yaml.SafeLoader):
    """The spec has one ``!!value`` node (shared/zendesk/README.md)."""


_Loader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node))


@pytest.fixture(scope="module")
def schemas() -> dict[str, Any]:
    if not SPEC.exists():
        if os.environ.get("CI"):
            pytest.fail(f"Zendesk's OpenAPI spec is not at {SPEC}: CI must check the entities against it")
        pytest.skip(f"Zendesk's OpenAPI spec is not at {SPEC}")
    return yaml.load(SPEC.read_text(), Loader=_Loader)["components"]["schemas"]  # noqa: S506 (a SafeLoader)


def example(schemas: dict[str, Any], name: str) -> dict[str, Any]:
    return json.loads(json.dumps(schemas[name]["example"], default=str))


def spec_fields(schemas: dict[str, Any], name: str) -> set[str]:
    """Every readable property of a schema, through ``allOf``; write-only ones excluded."""
    schema = schemas[name]
    props: dict[str, Any] = dict(schema.get("properties") or {})
    for part in schema.get("allOf") or []:
        ref = part.get("$ref", "").rsplit("/", 1)[-1]
        props.update((schemas[ref] if ref else part).get("properties") or {})
    return {k for k, v in props.items() if not v.get("writeOnly")}


def ticket_bc(ticket_id: int = 35436, name: str = "Help, my printer is on fire!") -> Breadcrumb:
    return Breadcrumb(entity_id=f"ticket:{ticket_id}", name=name, entity_type="ticket")


# ------------------------------------------------------------------------------ every field


@pytest.mark.parametrize(
    ("cls", "schema", "skip"),
    [
        # "POST requests only" in the spec: never in a response.
        (ZendeskTicketEntity, "TicketObject", {"collaborators", "macro_ids", "via_followup_source_id"}),
        (ZendeskUserEntity, "UserForAdmin", set()),
        (ZendeskOrganizationEntity, "OrganizationObject", set()),
        # ``attachments`` become entities of their own (``attachment_ids``); ``uploads`` is
        # write-only in practice (tokens for creating comments).
        (ZendeskCommentEntity, "TicketCommentObject", {"attachments", "uploads"}),
        (ZendeskAttachmentEntity, "AttachmentObject", set()),
    ],
)
def test_every_spec_field_is_a_typed_field(
    schemas: dict[str, Any], cls: type, schema: str, skip: set[str]
) -> None:
    missing = spec_fields(schemas, schema) - skip - set(cls.model_fields)
    assert not missing, f"{cls.__name__} lacks typed fields for {sorted(missing)}"


def test_ticket_keeps_every_field_of_zendesks_example(schemas: dict[str, Any]) -> None:
    raw = example(schemas, "TicketObject")
    ticket = ZendeskTicketEntity.from_api(
        raw,
        web_url=CONFIG.agent_ticket_url(raw["id"]),
        requester_name="Ann Requester",
        assignee_name="Bob Agent",
        group_name="Support",
        organization_name="Acme",
        submitter_name="Ann Requester",
    )
    dumped = ticket.model_dump(mode="json")
    for key, value in raw.items():
        assert key in dumped, key
        if key not in ("created_at", "updated_at", "due_at"):
            assert dumped[key] == value, key
    assert ticket.entity_id == "ticket:35436"
    assert ticket.name == "Help, my printer is on fire!"
    assert ticket.web_url == "https://acme.zendesk.com/agent/tickets/35436"
    assert ticket.created_at is not None and ticket.created_at.year == 2009
    assert ticket.custom_fields == [{"id": 27642, "value": "745"}, {"id": 27648, "value": "yes"}]
    text = ticket.search_text()
    for part in (
        "printer is on fire",
        "very colorful",
        "enterprise",
        "Ann Requester",
        "Bob Agent",
        "Support",
        "Acme",
    ):
        assert part in text


def test_ticket_without_subject_is_named_by_number() -> None:
    ticket = ZendeskTicketEntity.from_api({"id": 7, "subject": None, "status": "open"})
    assert ticket.name == "Ticket #7"
    ticket = ZendeskTicketEntity.from_api({"id": 8, "subject": "  "})
    assert ticket.name == "Ticket #8"


def test_nulls_and_omissions_zendesk_may_send_are_accepted() -> None:
    ticket = ZendeskTicketEntity.from_api(
        {
            "id": 1,
            "tags": None,
            "collaborator_ids": None,
            "custom_fields": None,
            "satisfaction_rating": None,
            "due_at": None,
            "via": None,
            "assignee_id": None,
        }
    )
    assert ticket.tags == [] and ticket.collaborator_ids == [] and ticket.custom_fields == []
    user = ZendeskUserEntity.from_api(
        {"id": 2, "name": "No Mail", "email": None, "tags": None, "user_fields": None}
    )
    assert user.email is None and user.tags == [] and user.user_fields == {}
    org = ZendeskOrganizationEntity.from_api(
        {"id": 3, "name": "Org", "domain_names": None, "organization_fields": None, "details": None}
    )
    assert org.domain_names == [] and org.organization_fields == {}


def test_unknown_new_fields_are_kept_and_hashed() -> None:
    base = {"id": 5, "subject": "s", "status": "open"}
    plain = ZendeskTicketEntity.from_api(base)
    extended = ZendeskTicketEntity.from_api({**base, "brand_new_field": {"x": 1}})
    assert extended.model_dump()["brand_new_field"] == {"x": 1}
    assert plain.content_hash() != extended.content_hash()


def test_user_and_organization(schemas: dict[str, Any]) -> None:
    raw_user = example(schemas, "UserForAdmin")
    user = ZendeskUserEntity.from_api(
        raw_user, web_url=CONFIG.agent_user_url(raw_user["id"]), organization_name="Groablet"
    )
    dumped = user.model_dump(mode="json")
    assert set(raw_user) <= set(dumped)
    assert user.entity_id == "user:35436" and user.name == "Johnny Agent"
    assert user.web_url == "https://acme.zendesk.com/agent/users/35436"
    assert user.photo is not None and user.photo["thumbnails"][0]["id"] == 928375
    for part in ("Johnny Agent", "johnny@example.com", "nice guy", "Groablet"):
        assert part in user.search_text()

    raw_org = example(schemas, "OrganizationObject")
    org = ZendeskOrganizationEntity.from_api(raw_org, web_url=CONFIG.agent_org_url(raw_org["id"]))
    assert set(raw_org) <= set(org.model_dump(mode="json"))
    assert org.entity_id == "organization:35436" and org.name == "One Organization"
    assert org.web_url == "https://acme.zendesk.com/agent/organizations/35436"
    for part in ("One Organization", "kind of organization", "example.com", "test.com"):
        assert part in org.search_text()


def test_user_without_email_is_a_user() -> None:
    user = ZendeskUserEntity.from_api(
        {"id": 9, "name": "Phone Only", "phone": "+15550100", "role": "end-user"}
    )
    assert user.entity_id == "user:9" and user.email is None
    assert "Phone Only" in user.search_text()


# ------------------------------------------------------------------------------ comments, attachments


def test_comment_and_its_attachments_carry_their_path(schemas: dict[str, Any]) -> None:
    raw = example(schemas, "TicketCommentObject")
    inline = {
        "id": 555,
        "file_name": "screenshot.png",
        "content_type": "image/png",
        "inline": True,
        "size": 10,
    }
    raw["attachments"] = [*raw["attachments"], inline]
    comment = ZendeskCommentEntity.from_api(
        raw,
        ticket=ticket_bc(),
        ticket_id=35436,
        web_url=CONFIG.agent_ticket_url(35436),
        author_name="Ann Requester",
    )
    assert comment.entity_id == "comment:1274"
    assert comment.name == "Comment #1274 on #35436"
    assert comment.web_url == "https://acme.zendesk.com/agent/tickets/35436"
    assert [b.entity_id for b in comment.breadcrumbs] == ["ticket:35436"]
    assert comment.breadcrumbs[0].name == "Help, my printer is on fire!"
    assert comment.attachment_ids == [498483, 555]
    assert comment.metadata is not None and comment.metadata["system"]["ip_address"] == "1.1.1.1"
    assert comment.updated_at == comment.created_at
    assert comment.search_text() == "Thanks for your help!"

    files = [
        ZendeskAttachmentEntity.from_api(a, comment=comment, ticket=ticket_bc()) for a in raw["attachments"]
    ]
    assert [f.entity_id for f in files] == ["attachment:498483", "attachment:555"]
    assert all(f.comment_id == 1274 and f.ticket_id == 35436 and f.public for f in files)
    assert [b.entity_id for b in files[1].breadcrumbs] == ["ticket:35436", "comment:1274"]
    assert files[0].name == "crash.log" and files[0].search_text() == "crash.log"
    assert files[1].inline is True and files[0].inline is False
    assert files[0].content_url == "https://company.zendesk.com/attachments/crash.log"
    assert files[0].web_url == comment.web_url
    assert files[0].created_at == comment.created_at


def test_private_note_attachment_is_not_public() -> None:
    raw = {
        "id": 1,
        "body": "internal",
        "public": False,
        "created_at": "2024-01-01T00:00:00Z",
        "attachments": [{"id": 2, "file_name": "secret.pdf", "malware_scan_result": "malware_not_found"}],
    }
    comment = ZendeskCommentEntity.from_api(raw, ticket=ticket_bc(3, "T"), ticket_id=3)
    att = ZendeskAttachmentEntity.from_api(raw["attachments"][0], comment=comment, ticket=ticket_bc(3, "T"))
    assert comment.public is False and att.public is False
    assert att.malware_scan_result == "malware_not_found"


def test_attachment_pixels_typed_as_strings_in_the_spec_become_numbers() -> None:
    comment = ZendeskCommentEntity.from_api({"id": 1}, ticket=ticket_bc(3, "T"), ticket_id=3)
    att = ZendeskAttachmentEntity.from_api(
        {"id": 4, "file_name": "a.png", "width": "640", "height": None, "thumbnails": None},
        comment=comment,
        ticket=ticket_bc(3, "T"),
    )
    assert att.width == 640 and att.height is None and att.thumbnails == []


def test_comment_from_event_stream_hashes_like_comment_from_list() -> None:
    """ticket_events?include=comment_events describes the same comment with event keys."""
    listed = {
        "id": 91048994488,
        "type": "Comment",
        "author_id": 5031726587,
        "body": "This is a comment",
        "html_body": "<p>This is a comment</p>",
        "public": True,
        "attachments": [],
        "audit_id": 91048994468,
        "created_at": "2009-06-25T10:15:18Z",
        "via": {"channel": "api"},
    }
    event = {**listed, "event_type": "Comment", "via_reference_id": None}
    a = ZendeskCommentEntity.from_api(listed, ticket=ticket_bc(1, "T"), ticket_id=1)
    b = ZendeskCommentEntity.from_api(event, ticket=ticket_bc(1, "Ticket #1"), ticket_id=1)
    assert a.content_hash() == b.content_hash()


def test_comment_search_text_falls_back_to_html() -> None:
    comment = ZendeskCommentEntity.from_api(
        {"id": 1, "html_body": "<div><p>Hello &amp; welcome</p><script>x()</script></div>"},
        ticket=ticket_bc(1, "T"),
        ticket_id=1,
    )
    assert comment.search_text() == "Hello & welcome"


# ------------------------------------------------------------------------------ hashing


def test_hash_ignores_key_order_and_sync_metadata() -> None:
    raw = {"id": 1, "subject": "s", "tags": ["a", "b"], "generated_timestamp": 100, "status": "open"}
    a = ZendeskTicketEntity.from_api(raw)
    b = ZendeskTicketEntity.from_api(dict(reversed(list(raw.items()))))
    assert a.content_hash() == b.content_hash()
    # generated_timestamp moves on invisible system updates: not content.
    c = ZendeskTicketEntity.from_api({**raw, "generated_timestamp": 200})
    assert c.content_hash() == a.content_hash()
    # breadcrumbs are sync metadata
    comment = ZendeskCommentEntity.from_api({"id": 2, "body": "x"}, ticket=ticket_bc(1, "Old"), ticket_id=1)
    renamed = ZendeskCommentEntity.from_api({"id": 2, "body": "x"}, ticket=ticket_bc(1, "New"), ticket_id=1)
    assert comment.content_hash() == renamed.content_hash()
    # the downloaded bytes' hash is filled in by the sync
    att = ZendeskAttachmentEntity.from_api(
        {"id": 3, "file_name": "f"}, comment=comment, ticket=ticket_bc(1, "T")
    )
    downloaded = att.model_copy(update={"content_sha256": "ab" * 32})
    assert att.content_hash() == downloaded.content_hash()


def test_hash_changes_with_content_and_resolved_names() -> None:
    raw = {"id": 1, "subject": "s", "status": "open", "requester_id": 5}
    base = ZendeskTicketEntity.from_api(raw, requester_name="Ann")
    assert (
        base.content_hash()
        != ZendeskTicketEntity.from_api({**raw, "status": "solved"}, requester_name="Ann").content_hash()
    )
    assert base.content_hash() != ZendeskTicketEntity.from_api(raw, requester_name="Anna").content_hash()
    redacted = ZendeskCommentEntity.from_api(
        {"id": 2, "body": "card 4111"}, ticket=ticket_bc(1, "s"), ticket_id=1
    )
    after = ZendeskCommentEntity.from_api(
        {"id": 2, "body": "card ▇▇▇▇"}, ticket=ticket_bc(1, "s"), ticket_id=1
    )
    assert redacted.content_hash() != after.content_hash()


def test_entity_round_trips_through_json_for_the_store() -> None:
    for cls, raw in [
        (
            ZendeskTicketEntity,
            {"id": 1, "subject": "s", "custom_fields": [{"id": 1, "value": None}], "x_new": 1},
        ),
        (ZendeskUserEntity, {"id": 2, "name": "u"}),
        (ZendeskOrganizationEntity, {"id": 3, "name": "o", "deleted_at": None}),
    ]:
        entity = cls.from_api(raw)  # type: ignore[attr-defined]
        again = ENTITY_CLASSES[cls.entity_type].model_validate_json(entity.model_dump_json())
        assert again.content_hash() == entity.content_hash()
