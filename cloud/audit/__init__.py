"""Audit trail: who changed money or configuration, when, from where, why, and what it was before."""

from cloud.audit.actor import Actor
from cloud.audit.services import list_records, record

__all__ = ["Actor", "list_records", "record"]
