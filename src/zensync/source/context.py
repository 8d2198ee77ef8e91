"""What a ticket's ids mean to the people reading it: field titles, form, brand and status names.

A ticket from Zendesk carries ids (``custom_fields[].id``, ``ticket_form_id``, ``brand_id``,
``custom_status_id``) whose names live in small account-wide lists: Ticket Fields, Ticket
Forms, Brands and Custom Ticket Statuses (api-reference.md, each "List ..." endpoint). They are
read once per run, on first need, and kept; ``describe`` turns a ticket (and its Ticket
Metrics, which the ticket export sideloads with ``include=metric_sets`` at no extra request)
into the fields ``ZendeskTicketEntity`` carries for users: each custom field's title with its
value (a drop-down's option name too), the form, brand and status names, the satisfaction
score and comment, and the first reply and full resolution times.

Reading a list the account does not offer (a plan without custom statuses answers 404, an
agent without admin rights may get 403 on some) leaves those names empty instead of stopping
the run. The reads are counted in the client's ``requests_by_bucket`` under
``reference-lists`` (they also draw on ``account``), so the run report shows them.
"""

from __future__ import annotations

import logging
from typing import Any

from zensync.source.paging import Client
from zensync.zendesk.errors import NotFound, PermissionDenied

logger = logging.getLogger(__name__)

REFERENCE_BUCKET = "reference-lists"
PAGE_SIZE = 100


class TicketContext:
    """Account-wide names of what tickets point to, read once and cached for the run."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.loaded = False
        self.fields: dict[int, dict[str, Any]] = {}
        self.forms: dict[int, str] = {}
        self.brands: dict[int, str] = {}
        self.statuses: dict[int, str] = {}

    async def _read_all(self, path: str, key: str) -> list[dict[str, Any]]:
        """Every item of a small list, following cursor pages; empty if the account lacks it."""
        items: list[dict[str, Any]] = []
        url: str | None = path
        params: dict[str, Any] | None = {"page[size]": PAGE_SIZE}
        try:
            while url:
                counted = getattr(getattr(self.client, "stats", None), "requests_by_bucket", None)
                if counted is not None:
                    counted[REFERENCE_BUCKET] = counted.get(REFERENCE_BUCKET, 0) + 1
                data = await self.client.get_json(url, params=params)
                items += [x for x in data.get(key) or [] if isinstance(x, dict)]
                meta = data.get("meta") or {}
                url = (data.get("links") or {}).get("next") if meta.get("has_more") else None
                params = None
        except (NotFound, PermissionDenied) as exc:
            logger.warning("%s is not readable with these credentials (%s); its names stay empty", path, exc)
        return items

    async def load(self) -> None:
        """Read the four lists (about four requests for a typical account), once."""
        if self.loaded:
            return
        for field in await self._read_all("/api/v2/ticket_fields.json", "ticket_fields"):
            if isinstance(field.get("id"), int):
                self.fields[field["id"]] = field
        for form in await self._read_all("/api/v2/ticket_forms.json", "ticket_forms"):
            if isinstance(form.get("id"), int):
                self.forms[form["id"]] = str(form.get("display_name") or form.get("name") or "")
        for brand in await self._read_all("/api/v2/brands.json", "brands"):
            if isinstance(brand.get("id"), int):
                self.brands[brand["id"]] = str(brand.get("name") or "")
        for status in await self._read_all("/api/v2/custom_statuses.json", "custom_statuses"):
            if isinstance(status.get("id"), int):
                self.statuses[status["id"]] = str(status.get("agent_label") or "")
        self.loaded = True

    def _field_value(self, field_id: Any, value: Any) -> dict[str, Any]:
        field = self.fields.get(field_id) or {}
        shown = value
        options = {o.get("value"): o.get("name") for o in field.get("custom_field_options") or []}
        if isinstance(value, list):  # multiselect
            shown = [options.get(v, v) for v in value]
        elif value in options:
            shown = options[value]
        return {"id": field_id, "title": field.get("title"), "value": value, "display_value": shown}

    def describe(self, raw: dict[str, Any], metric: dict[str, Any] | None = None) -> dict[str, Any]:
        """The user-facing fields of one ticket (see ``ZendeskTicketEntity``)."""
        rating = raw.get("satisfaction_rating") if isinstance(raw.get("satisfaction_rating"), dict) else {}
        out: dict[str, Any] = {
            "custom_field_values": [
                self._field_value(f.get("id"), f.get("value"))
                for f in raw.get("custom_fields") or []
                if isinstance(f, dict) and f.get("value") not in (None, "", [])
            ],
            "ticket_form_name": self.forms.get(_int(raw.get("ticket_form_id"))),
            "brand_name": self.brands.get(_int(raw.get("brand_id"))),
            "custom_status_name": self.statuses.get(_int(raw.get("custom_status_id"))),
            "satisfaction_score": (rating or {}).get("score"),
            "satisfaction_comment": (rating or {}).get("comment") or None,
        }
        if metric is not None:
            out["first_reply_time_minutes"] = _calendar(metric.get("reply_time_in_minutes"))
            out["full_resolution_time_minutes"] = _calendar(metric.get("full_resolution_time_in_minutes"))
            out["replies"] = metric.get("replies")
            out["solved_at"] = metric.get("solved_at")
        return out


def _int(value: Any) -> int:
    return value if isinstance(value, int) else -1


def _calendar(value: Any) -> int | None:
    if isinstance(value, dict) and isinstance(value.get("calendar"), int):
        return int(value["calendar"])
    return None
