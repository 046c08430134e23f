"""Request and response bodies of the sign-in, user and API-key endpoints (msgspec)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from cloud.api.schemas import Id
from cloud.auth.models import Role
from cloud.auth.permissions import Kind, Permission
from cloud.auth.services import RATE_PER_MINUTE_DEFAULT, RATE_PER_MINUTE_MAX

Email = Annotated[str, msgspec.Meta(min_length=3, max_length=254, examples=["agent@example.org"])]
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]


class Login(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Email address and password."""

    email: Email
    password: Password


class SessionOut(msgspec.Struct):
    """A session opened: send ``csrf_token`` as ``X-CSRF-Token`` on every POST, PATCH and DELETE."""

    user_id: int
    role: str
    csrf_token: str
    expires_at: datetime


class Me(msgspec.Struct):
    """Who the API thinks you are, and what you may see and change."""

    user_id: int | None
    role: str
    estate_ids: list[int] | None
    unit_ids: list[int] | None
    wallet_ids: list[int] | None
    kinds: list[Kind]
    permissions: list[Permission]
    api_key_id: int | None


class UserCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A user: estate roles name ``estate_ids``; owners and tenants name their ``person_id``."""

    email: Email
    password: Password
    role: Role
    person_id: Id | None = None
    estate_ids: Annotated[list[Id], msgspec.Meta(max_length=100)] = msgspec.field(default_factory=list)


class UserOut(msgspec.Struct):
    """A user (never their password hash)."""

    id: int
    email: str
    role: str
    person_id: int | None
    created_at: datetime


class UserListed(msgspec.Struct):
    """A user as their administrator sees them: ``estate_ids`` are an estate role's bindings."""

    id: int
    email: str
    role: str
    person_id: int | None
    estate_ids: list[int]
    created_at: datetime
    disabled_at: datetime | None


class UserPage(msgspec.Struct):
    """A page of users by id; pass ``next_after_id`` as ``after_id`` for the next (null: last page)."""

    items: list[UserListed]
    next_after_id: int | None


class ResetIssued(msgspec.Struct):
    """A password reset token: hand it to the user now, it is shown only this once."""

    user_id: int
    token: str
    expires_at: datetime


class ResetRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The email address of the account whose password is forgotten."""

    email: Email


class ResetRequested(msgspec.Struct):
    """The same answer whether or not the address is known."""

    detail: str


class PasswordResetUse(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A reset token and the new password (10 to 256 characters)."""

    token: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
    password: Password


class ApiKeyCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """An integration's key: the estates it may touch and the changes it may make."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    estate_ids: Annotated[list[Id], msgspec.Meta(min_length=1, max_length=100)]
    permissions: Annotated[list[Permission], msgspec.Meta(max_length=20)] = msgspec.field(
        default_factory=list
    )
    rate_per_minute: Annotated[int, msgspec.Meta(ge=1, le=RATE_PER_MINUTE_MAX)] = RATE_PER_MINUTE_DEFAULT


class ApiKeyOut(msgspec.Struct):
    """An API key's record; ``prefix`` identifies it, the key itself is never shown again."""

    id: int
    name: str
    prefix: str
    estate_ids: list[int]
    permissions: list[str]
    rate_per_minute: int
    created_at: datetime
    revoked_at: datetime | None


class ApiKeyCreated(msgspec.Struct):
    """A new key: store ``key`` now, it is shown only this once."""

    key: str
    api_key: ApiKeyOut
