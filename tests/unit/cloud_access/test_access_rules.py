"""The cloud's access rules as pure functions: the principal a session row stands for (what both the
dependency path and the one-statement balance reads decide with), and whom an administrator may act
for."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from cloud.auth.errors import PermissionDenied
from cloud.auth.models import Role
from cloud.auth.permissions import Kind, Permission
from cloud.auth.principal import principal_of_session
from cloud.auth.users import UserRecord, require_administers

CREATED = datetime(2026, 11, 1, tzinfo=UTC)


def session_row(
    role: Role, *, estates: Sequence[int], units: Sequence[int] = (), wallets: Sequence[int] = ()
) -> SimpleNamespace:
    person = 5 if role in (Role.OWNER, Role.TENANT) else None
    return SimpleNamespace(
        user_id=1, role=role.value, person_id=person, csrf_token="c",
        estate_ids=list(estates), unit_ids=list(units), wallet_ids=list(wallets),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("role", "wallet", "estate", "visible"),
    [
        (Role.SUPER_ADMIN, 99, 9, True),
        (Role.MANAGING_AGENT, 99, 1, True),
        (Role.MANAGING_AGENT, 99, 2, False),  # another estate
        (Role.BODY_CORPORATE, 99, 1, True),
        (Role.INSTALLER, 99, 1, False),  # never money
        (Role.TENANT, 10, 1, True),
        (Role.TENANT, 11, 1, False),  # the neighbour's wallet in the same estate
        (Role.OWNER, 10, 1, True),
    ],
)
def test_a_sessions_scope_shows_only_its_wallets(role: Role, wallet: int, estate: int, visible: bool) -> None:
    principal = principal_of_session(session_row(role, estates=[1], units=[3], wallets=[10]), "127.0.0.1")
    assert principal.scope.allows_wallet(estate, wallet) is visible


def test_occupants_and_installers_never_see_users_and_tenants_change_nothing() -> None:
    tenant = principal_of_session(session_row(Role.TENANT, estates=[1], units=[3], wallets=[10]), None)
    fitter = principal_of_session(session_row(Role.INSTALLER, estates=[1]), None)
    agent = principal_of_session(session_row(Role.MANAGING_AGENT, estates=[1]), None)
    assert Kind.USER not in tenant.kinds | fitter.kinds and Kind.USER in agent.kinds
    assert tenant.permissions == frozenset() and tenant.unit_ids == frozenset({3})
    assert Permission.RELAYS_SWITCH in fitter.permissions & agent.permissions


def user(role: Role, reached: tuple[int, ...]) -> UserRecord:
    return UserRecord(1, "u@example.org", role, None, reached, reached, CREATED, None)


@pytest.mark.parametrize(
    ("target", "allowed"),
    [
        (user(Role.TENANT, (1,)), True),
        (user(Role.INSTALLER, (1,)), True),
        (user(Role.TENANT, (1, 2)), False),  # also rents in an estate the agent does not run
        (user(Role.MANAGING_AGENT, (1,)), False),  # a peer, not someone the agent could create
        (user(Role.SUPER_ADMIN, ()), False),
    ],
)
def test_an_agent_acts_only_for_users_wholly_within_its_estates(target: UserRecord, allowed: bool) -> None:
    agent = principal_of_session(session_row(Role.MANAGING_AGENT, estates=[1]), None)
    root = principal_of_session(session_row(Role.SUPER_ADMIN, estates=[]), None)
    require_administers(root, target)  # a platform admin acts for anyone
    if allowed:
        require_administers(agent, target)
    else:
        with pytest.raises(PermissionDenied, match="beyond your estates"):
            require_administers(agent, target)
