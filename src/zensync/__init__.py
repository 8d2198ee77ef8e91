"""zensync: a complete, searchable copy of a Zendesk account."""

__version__ = "0.1.0"
