"""pipeline.addresses: which addresses are public (GeoIP), internal (assets) or neither."""

from __future__ import annotations

import ipaddress

import pytest

from pipeline.addresses import AddressClassifier, Scope, parse_ip


class TestParseIp:
    def test_ipv4(self) -> None:
        assert parse_ip("81.2.69.160") == ipaddress.IPv4Address("81.2.69.160")

    def test_ipv6(self) -> None:
        assert parse_ip("2001:1700::1") == ipaddress.IPv6Address("2001:1700::1")

    def test_surrounding_whitespace_is_ignored(self) -> None:
        assert parse_ip("  10.0.0.1\n") == ipaddress.IPv4Address("10.0.0.1")

    def test_ipv4_mapped_ipv6_is_unwrapped(self) -> None:
        address = parse_ip("::ffff:81.2.69.160")
        assert address == ipaddress.IPv4Address("81.2.69.160")
        assert address is not None and address.version == 4

    @pytest.mark.parametrize("value", ["", "garbage", "256.1.1.1", "10.0.0", "10.0.0.0/8", "2001:::1"])
    def test_text_that_is_not_an_address(self, value: str) -> None:
        assert parse_ip(value) is None

    @pytest.mark.parametrize("value", [None, 167772161, 1.5, b"10.0.0.1", ["10.0.0.1"], {"ip": "10.0.0.1"}])
    def test_non_string_input(self, value: object) -> None:
        assert parse_ip(value) is None


class TestAddressClassifier:
    @pytest.mark.parametrize("value", [
        "81.2.69.160", "89.160.20.112", "8.8.8.8", "1.128.0.0",
        "2001:218::1", "2001:1700::1",
        "::ffff:81.2.69.160",  # IPv4-mapped form of a public address
    ])
    def test_public(self, value: str) -> None:
        assert AddressClassifier().scope(value) is Scope.PUBLIC

    @pytest.mark.parametrize("value", [
        "10.0.0.1", "10.255.255.255",          # RFC 1918
        "172.16.0.5", "172.31.255.254",        # RFC 1918 172.16/12, both ends
        "192.168.250.70",                      # RFC 1918
        "100.64.0.1",                          # RFC 6598 shared address space
        "169.254.10.20",                       # IPv4 link-local
        "fd00:10::10", "fc00::1",              # IPv6 unique-local fc00::/7
        "fe80::1",                             # IPv6 link-local
        "::ffff:10.0.0.1", "::ffff:192.168.1.1",  # IPv4-mapped private
    ])
    def test_internal(self, value: str) -> None:
        assert AddressClassifier().scope(value) is Scope.INTERNAL

    @pytest.mark.parametrize("value", [
        "172.32.0.1",  # just past 172.16/12: not RFC 1918, and public
        "172.15.255.255",
    ])
    def test_neighbours_of_172_16_slash_12_are_public(self, value: str) -> None:
        assert AddressClassifier().scope(value) is Scope.PUBLIC

    @pytest.mark.parametrize("value", [
        "127.0.0.1", "::1",                    # loopback
        "0.0.0.0", "::",                       # unspecified
        "224.0.1.1", "ff02::1", "ff0e::1",     # multicast (including global-scope v6 multicast)
        "255.255.255.255",                     # broadcast
        "192.0.2.1", "198.51.100.7", "203.0.113.9", "2001:db8::1",  # documentation
        "::ffff:127.0.0.1",                    # IPv4-mapped loopback
    ])
    def test_other(self, value: str) -> None:
        assert AddressClassifier().scope(value) is Scope.OTHER

    @pytest.mark.parametrize("value", ["garbage", "", "10.0.0.0/8", None, 42, ["10.0.0.1"]])
    def test_garbage_and_non_strings_are_other(self, value: object) -> None:
        assert AddressClassifier().scope(value) is Scope.OTHER

    def test_extra_internal_network_turns_public_range_internal(self) -> None:
        classifier = AddressClassifier(["81.2.69.0/24", "2001:1700::/32"])
        assert classifier.scope("81.2.69.160") is Scope.INTERNAL
        assert classifier.scope("::ffff:81.2.69.160") is Scope.INTERNAL
        assert classifier.scope("2001:1700::1") is Scope.INTERNAL
        # Outside the extra ranges nothing changes.
        assert classifier.scope("89.160.20.112") is Scope.PUBLIC
        assert classifier.scope("2001:218::1") is Scope.PUBLIC
        assert classifier.scope("10.0.0.1") is Scope.INTERNAL

    def test_extra_internal_accepts_host_bits_set(self) -> None:
        assert AddressClassifier(["81.2.69.160/24"]).scope("81.2.69.1") is Scope.INTERNAL

    def test_extra_internal_does_not_leak_between_instances(self) -> None:
        AddressClassifier(["81.2.69.0/24"])
        assert AddressClassifier().scope("81.2.69.160") is Scope.PUBLIC

    def test_scope_values_are_strings(self) -> None:
        assert [s.value for s in Scope] == ["public", "internal", "other"]

    def test_remembered_scopes_stay_right_past_the_memory_bound(self) -> None:
        classifier = AddressClassifier(max_remembered=2)
        values = ["10.0.0.1", "81.2.69.160", "127.0.0.1", "fd00::1", "10.0.0.1", "81.2.69.160"]
        expected = [Scope.INTERNAL, Scope.PUBLIC, Scope.OTHER, Scope.INTERNAL, Scope.INTERNAL, Scope.PUBLIC]
        assert [classifier.scope(v) for v in values] == expected
        assert [classifier.scope(v) for v in values] == expected
        assert len(classifier._scopes) <= 2
