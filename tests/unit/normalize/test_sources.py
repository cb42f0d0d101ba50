"""normalize.sources: name resolution, families and the configurable routing."""

from __future__ import annotations

import pytest

from pipeline.errors import ConfigError
from pipeline.normalize.sources import SOURCE_TYPES, check_routing, families, family_of, resolve_source_type


def test_map_names_and_splunk_spellings_resolve_case_insensitively() -> None:
    assert resolve_source_type("SURICATA") is SOURCE_TYPES["suricata"]
    assert resolve_source_type(" fgt_traffic ") is SOURCE_TYPES["fgt_traffic"]
    assert resolve_source_type("no-such-type") is None


def test_every_alias_is_lower_case_and_unique() -> None:
    aliases = [a for s in SOURCE_TYPES.values() for a in s.aliases]
    assert all(a == a.lower() for a in aliases)
    assert len(aliases) == len(set(aliases))
    assert not set(aliases) & set(SOURCE_TYPES)


def test_routing_overrides_the_default_family() -> None:
    suricata = SOURCE_TYPES["suricata"]
    assert family_of(suricata, {}) == "ids"
    assert family_of(suricata, {"suricata": "firewall"}) == "firewall"
    assert "ids" not in families({"suricata": "firewall"}) or any(
        s.family == "ids" for name, s in SOURCE_TYPES.items() if name != "suricata")
    assert "custom" in families({"suricata": "custom"})


@pytest.mark.parametrize("routing, message", [
    ({"nope": "firewall"}, "'nope' is not a source type"),
    ({"suricata": "Has Space"}, "must be lower-case"),
    ({"suricata": ""}, "must be lower-case"),
])
def test_bad_routing_is_a_config_error(routing: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        check_routing(routing)
