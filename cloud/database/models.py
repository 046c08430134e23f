"""The declarative base every context's ``models.py`` maps onto, and the full model registry.

Each bounded context keeps its tables in its own ``models.py``; they all share this metadata so
Alembic sees one schema. Constraint names follow a fixed convention so migrations are stable.
"""

from __future__ import annotations

import enum
import importlib
from typing import Any, ClassVar

from sqlalchemy import BigInteger, CheckConstraint, MetaData
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: Modules whose tables make up the schema, imported by :func:`load_all_models`.
MODEL_MODULES = (
    "cloud.estates.models",
    "cloud.estates.metering_models",
    "cloud.wallets.models",
    "cloud.ledger.models",
    "cloud.payments.models",
    "cloud.audit.models",
    "cloud.gateways.models",
    "cloud.d0010.models",
    "cloud.auth.models",
)


class Base(DeclarativeBase):
    """Base class of every ORM-mapped table in the cloud."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {int: BigInteger}


def load_all_models() -> MetaData:
    """Import every context's models so ``Base.metadata`` holds the whole schema."""
    for module in MODEL_MODULES:
        importlib.import_module(module)
    return Base.metadata


def one_of(column: str, choices: type[enum.StrEnum], name: str) -> CheckConstraint:
    """A CHECK constraint keeping a text column within an enum's values."""
    values = ", ".join(f"'{member.value}'" for member in choices)
    return CheckConstraint(f"{column} IN ({values})", name=name)
