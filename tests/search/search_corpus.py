"""A small support account with known meanings, for index and search tests."""

from __future__ import annotations

from zensync.entities import (
    Deletion,
    SourcePage,
    ZendeskAttachmentEntity,
    ZendeskCommentEntity,
    ZendeskEntity,
    ZendeskOrganizationEntity,
    ZendeskTicketEntity,
)

BASE = "https://acme.zendesk.com"
CID = "acme"

# id: (subject, description, status, organization id, created)
TICKETS: dict[int, tuple[str, str, str, int, str]] = {
    1: (
        "Duplicate charge on card ending 4242",
        "My statement shows the same payment two times this month.",
        "open",
        1,
        "2024-01-10T09:00:00Z",
    ),
    2: (
        "Cannot log in to the mobile app",
        "The app says my credentials are wrong after the update.",
        "pending",
        2,
        "2024-02-11T09:00:00Z",
    ),
    3: (
        "Shipping label printed with the wrong address",
        "Warehouse used our old street for parcels.",
        "solved",
        1,
        "2024-03-12T09:00:00Z",
    ),
    4: (
        "Export to CSV times out",
        "Large reports never finish downloading.",
        "open",
        2,
        "2024-04-13T09:00:00Z",
    ),
    5: (
        "Dark mode request",
        "Our agents work night shifts and want a darker theme.",
        "closed",
        1,
        "2024-05-14T09:00:00Z",
    ),
    6: (
        "Question about the annual plan",
        "Is there a discount if we pay for the year upfront?",
        "open",
        2,
        "2024-06-15T09:00:00Z",
    ),
}
# comment id: (ticket id, body)
COMMENTS: dict[int, tuple[int, str]] = {
    101: (1, "Thanks for reaching out, we are looking into the payment."),
    102: (1, "Refund issued for the second transaction."),
    201: (2, "Please try resetting your password from the sign-in screen."),
    301: (3, "We corrected the address in the warehouse system."),
    401: (4, "The export job hits the thirty second gateway limit; engineering is on it."),
    601: (6, "Yes: paying yearly saves two months compared with monthly billing."),
    602: (6, "The quarterly earthquake drill is scheduled for Thursday; please ignore the sirens."),
}
ATTACHMENTS: dict[int, tuple[int, str]] = {
    1001: (101, "bank-statement-march.pdf"),
    4001: (401, "export-error.png"),
}


def organizations() -> list[ZendeskEntity]:
    return [
        ZendeskOrganizationEntity.from_api(
            {"id": 1, "name": "Globex"}, web_url=f"{BASE}/agent/organizations/1"
        ),
        ZendeskOrganizationEntity.from_api(
            {"id": 2, "name": "Initech"}, web_url=f"{BASE}/agent/organizations/2"
        ),
    ]


def ticket(tid: int, *, subject: str | None = None, status: str | None = None) -> ZendeskTicketEntity:
    subj, description, stat, org, created = TICKETS[tid]
    return ZendeskTicketEntity.from_api(
        {
            "id": tid,
            "subject": subject or subj,
            "description": description,
            "status": status or stat,
            "organization_id": org,
            "created_at": created,
            "updated_at": created,
        },
        web_url=f"{BASE}/agent/tickets/{tid}",
        organization_name={1: "Globex", 2: "Initech"}[org],
    )


def comment(cid: int, *, body: str | None = None) -> ZendeskCommentEntity:
    tid, text = COMMENTS[cid]
    return ZendeskCommentEntity.from_api(
        {
            "id": cid,
            "body": body or text,
            "plain_body": body or text,
            "author_id": 1,
            "created_at": TICKETS[tid][4],
        },
        ticket=ticket(tid).breadcrumb(),
        ticket_id=tid,
        web_url=f"{BASE}/agent/tickets/{tid}",
    )


def attachment(aid: int) -> ZendeskAttachmentEntity:
    cid, name = ATTACHMENTS[aid]
    tid = COMMENTS[cid][0]
    return ZendeskAttachmentEntity.from_api(
        {
            "id": aid,
            "file_name": name,
            "content_url": f"{BASE}/attachments/token/t{aid}/?name={name}",
            "content_type": "application/octet-stream",
            "size": 10,
        },
        comment=comment(cid),
        ticket=ticket(tid).breadcrumb(),
    )


def everything() -> list[ZendeskEntity]:
    return [
        *organizations(),
        *(ticket(t) for t in TICKETS),
        *(comment(c) for c in COMMENTS),
        *(attachment(a) for a in ATTACHMENTS),
    ]


def page(entities: list[ZendeskEntity], deletions: list[Deletion] | None = None) -> SourcePage:
    return SourcePage(stream="tickets", entities=entities, deletions=deletions or [], cursor={"n": 1})
