"""The simulated Zendesk account, as the HTTP layer sees it: ``Account`` and its errors.

The account is built from modules with one job each:

- ``common``: id ranges, enumerations, per-object seeds (``mix``), timestamps, errors;
- ``words``: the word banks generated text is made of;
- ``ordering``: list order by id (``SortedIds``) and export order by time (``TimeIndex``);
- ``generator``: ``GeneratedAccount``, the deterministic data drawn from the seed and its
  rendering as Zendesk's JSON;
- ``writes``: ``Account``, which adds create / update / delete and uploads on top;
- ``files``: the bytes of generated attachments.
"""

from __future__ import annotations

from .common import JSON, RecordInvalid, RecordNotFound, iso
from .ordering import SortedIds, TimeIndex
from .writes import Account

__all__ = ["JSON", "Account", "RecordInvalid", "RecordNotFound", "SortedIds", "TimeIndex", "iso"]
