"""normalize.related: related.ip/hosts/hash/user gathered from an event's fields."""

from __future__ import annotations

from pipeline.normalize.related import related_fields


def related(event: dict[str, object]) -> dict[str, list[str]]:
    return related_fields(event)


def test_addresses_from_every_ip_field_once_in_field_order() -> None:
    event = {"source": {"ip": "10.0.0.1", "nat": {"ip": "81.2.69.160"}}, "destination": {"ip": "10.0.0.1"},
             "host": {"ip": ["fd00::1", "10.0.0.2"]}}
    assert related(event)["ip"] == ["10.0.0.1", "81.2.69.160", "fd00::1", "10.0.0.2"]


def test_hashes_including_imphash_but_not_custom_fields() -> None:
    event = {"file": {"hash": {"sha256": "aa", "md5": "bb"}}, "process": {"pe": {"imphash": "cc"}},
             "tls": {"client": {"ja3": "ee"}, "server": {"ja3s": "ff"}},
             "botes": {"file": {"hash": {"sha1": "dd"}}}}
    assert related(event)["hash"] == ["aa", "bb", "cc", "ee", "ff"]


def test_users_are_user_names_not_group_names() -> None:
    event = {"user": {"name": "alice", "target": {"name": "bob"}, "domain": "CORP"},
             "source": {"user": {"name": "carol", "group": {"name": "Finance"}}},
             "group": {"name": "Admins"}}
    assert related(event)["user"] == ["alice", "bob", "carol"]


def test_hosts_are_host_names_and_domains_but_not_account_domains() -> None:
    event = {"host": {"name": "web01"}, "url": {"domain": "example.com", "registered_domain": "example.com",
                                                "top_level_domain": "com"},
             "user": {"domain": "CORP"}, "group": {"domain": "CORP"}, "dns": {"question": {"name": "a.example"}}}
    assert related(event)["hosts"] == ["web01", "example.com", "a.example"]


def test_nothing_related_gives_no_keys() -> None:
    assert related({"event": {"kind": "event"}, "message": "hello"}) == {}
