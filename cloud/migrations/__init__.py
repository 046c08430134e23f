"""Alembic migrations of the cloud's schema (``quantify-cloud migrate``)."""
