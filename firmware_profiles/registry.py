"""The set of known meter models, keyed by model id, refusing duplicates."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import cache
from types import MappingProxyType

from firmware_profiles.errors import DuplicateProfileError, UnknownProfileError
from firmware_profiles.loader import load_packaged_profiles
from firmware_profiles.profile import Profile


class ProfileRegistry:
    """An immutable lookup of profiles by model id.

    Built from any profiles (the packaged ones plus, later, an installer's own files); two
    profiles with the same model id are refused, naming both files.
    """

    __slots__ = ("_by_id",)

    def __init__(self, profiles: Iterable[Profile]) -> None:
        by_id: dict[str, Profile] = {}
        for profile in profiles:
            existing = by_id.get(profile.model_id)
            if existing is not None:
                raise DuplicateProfileError(profile.model_id, existing.source, profile.source)
            by_id[profile.model_id] = profile
        self._by_id = MappingProxyType(dict(sorted(by_id.items())))

    def get(self, model_id: str) -> Profile:
        """The profile for ``model_id``; :class:`UnknownProfileError` lists the known ids."""
        try:
            return self._by_id[model_id]
        except KeyError:
            raise UnknownProfileError(model_id, self.model_ids) from None

    @property
    def model_ids(self) -> tuple[str, ...]:
        """Every known model id, sorted."""
        return tuple(self._by_id)

    def __contains__(self, model_id: object) -> bool:
        return model_id in self._by_id

    def __iter__(self) -> Iterator[Profile]:
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)


@cache
def packaged_registry() -> ProfileRegistry:
    """The registry of every profile shipped with the package, loaded once per process."""
    return ProfileRegistry(load_packaged_profiles())
