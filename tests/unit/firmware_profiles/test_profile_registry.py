"""The registry refuses duplicate model ids and answers unknown ones with the known list."""

import pytest

from firmware_profiles import (
    DuplicateProfileError,
    ProfileRegistry,
    UnknownProfileError,
    load_packaged_profiles,
    packaged_registry,
    parse_profile,
)
from tests.unit.firmware_profiles.profile_texts import VALID_PROFILE, edited


def test_duplicate_model_id_is_refused_naming_both_files() -> None:
    first = parse_profile(VALID_PROFILE, "installer/first.toml")
    second = parse_profile(VALID_PROFILE, "installer/second.toml")
    with pytest.raises(DuplicateProfileError) as caught:
        ProfileRegistry([first, second])
    message = str(caught.value)
    assert "acme-test-1" in message
    assert "installer/first.toml" in message
    assert "installer/second.toml" in message


def test_an_installer_file_cannot_shadow_a_packaged_model() -> None:
    text = edited('"acme-test-1"', '"eastron-sdm120"')
    shadow = parse_profile(text, "installer/my_sdm120.toml")
    with pytest.raises(DuplicateProfileError) as caught:
        ProfileRegistry([*load_packaged_profiles(), shadow])
    assert "firmware_profiles/data/eastron_sdm120.toml" in str(caught.value)
    assert "installer/my_sdm120.toml" in str(caught.value)


def test_an_installer_file_extends_the_packaged_models() -> None:
    extra = parse_profile(VALID_PROFILE, "installer/acme.toml")
    registry = ProfileRegistry([*load_packaged_profiles(), extra])
    assert registry.get("acme-test-1") is extra
    assert "eastron-sdm120" in registry


def test_unknown_model_id_lists_the_known_ones() -> None:
    with pytest.raises(UnknownProfileError) as caught:
        packaged_registry().get("eastron-sdm72")
    message = str(caught.value)
    assert "'eastron-sdm72'" in message
    assert "eastron-sdm120, eastron-sdm630, hiking-dds238-2" in message
    assert isinstance(caught.value, LookupError)


def test_an_empty_registry_says_nothing_is_loaded() -> None:
    with pytest.raises(UnknownProfileError, match="none loaded"):
        ProfileRegistry([]).get("eastron-sdm120")


def test_the_packaged_registry_is_loaded_once() -> None:
    assert packaged_registry() is packaged_registry()
