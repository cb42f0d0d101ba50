"""pipeline.normalize.windows: WinEventLog, Sysmon and WinRegistry specifics.

The records below are SYNTHETIC (made up for these tests, using the BOTES maps' field names); the expected
values were worked out by hand from the module's rules, not copied from its output.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from pipeline.events import Rejected, get_path
from pipeline.normalize import Normalizer
from pipeline.normalize.normalizer import ERRORS_FIELD
from pipeline.normalize.sources import resolve_source_type
from pipeline.normalize.windows import (
    SOURCES,
    RegistryPath,
    finish_security,
    finish_sysmon,
    finish_winregistry,
    iso_from_classic_time,
    parse_hashes,
    prepare_sysmon,
    prepare_wineventlog,
    split_registry_path,
)


@pytest.fixture(scope="module")
def normalizer() -> Normalizer:
    return Normalizer()


def normalized(normalizer: Normalizer, record: dict[str, Any], source_type: str) -> dict[str, Any]:
    event = normalizer.normalize_line(json.dumps(record), source_type)
    assert not isinstance(event, Rejected), event.reason
    return event


# --- source types ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("spelling", "name"), [
    ("WinEventLog:Security", "wineventlog-security"),
    ("WinEventLog-Security", "wineventlog-security"),          # BOTES file name botesv1.WinEventLog-Security.json
    ("wineventlog:application", "wineventlog-application"),
    ("WinEventLog:System", "wineventlog-system"),
    ("XmlWinEventLog:Microsoft-Windows-Sysmon/Operational", "xmlwineventlog"),
    ("XmlWinEventLog-Microsoft-Windows-Sysmon-Operational", "xmlwineventlog"),
    ("XmlWinEventLog", "xmlwineventlog"),
    ("WinRegistry", "winregistry"),
])
def test_splunk_and_botes_spellings_resolve(spelling: str, name: str) -> None:
    source = resolve_source_type(spelling)
    assert source is not None and source.name == name


def test_every_windows_type_is_in_the_winevent_family_with_its_module() -> None:
    assert {s.name: (s.family, s.module) for s in SOURCES} == {
        "wineventlog-application": ("winevent", "windows"),
        "wineventlog-security": ("winevent", "windows"),
        "wineventlog-system": ("winevent", "windows"),
        "xmlwineventlog": ("winevent", "sysmon"),
        "winregistry": ("winevent", "windows"),
    }


# --- time -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "iso"), [
    ("08/10/2016 09:55:12 PM", "2016-08-10T21:55:12"),
    ("8/1/2016 9:05:02 am", "2016-08-01T09:05:02"),
    ("08/10/2016 12:00:01 AM", "2016-08-10T00:00:01"),   # midnight hour
    ("08/10/2016 12:30:00 PM", "2016-08-10T12:30:00"),   # noon hour
    ("08/10/2016 21:42:07.413", "2016-08-10T21:42:07.413"),
    ("08/10/2016 21:42:07", "2016-08-10T21:42:07"),
])
def test_classic_times_become_naive_iso(text: str, iso: str) -> None:
    assert iso_from_classic_time(text) == iso


@pytest.mark.parametrize("text", ["2016-08-10T21:55:12Z", "1470866400", "10/08/16 21:55", "yesterday"])
def test_other_times_are_not_classic(text: str) -> None:
    assert iso_from_classic_time(text) is None


def test_classic_local_times_use_the_default_zone_and_sysmon_utc_times_stay_utc() -> None:
    denver = Normalizer("America/Denver")  # UTC-6 in August (daylight saving)
    security = normalized(denver, {"time": "08/10/2016 03:55:12 PM", "EventCode": "4634"}, "wineventlog-security")
    assert security["@timestamp"] == "2016-08-10T21:55:12.000Z"
    registry = normalized(denver, {"time": "08/10/2016 15:42:07.413", "registry_type": "SetValue"}, "winregistry")
    assert registry["@timestamp"] == "2016-08-10T21:42:07.413Z"
    sysmon = normalized(denver, {"UtcTime": "2016-08-10 21:55:12.120", "CreationUtcTime": "2016-08-10 21:50:00",
                                 "EventCode": "11"}, "xmlwineventlog")
    assert sysmon["@timestamp"] == "2016-08-10T21:55:12.120Z"           # UtcTime is the event time here
    assert get_path(sysmon, "file.created") == "2016-08-10T21:50:00.000Z"
    with_offset = normalized(denver, {"time": "2016-08-10T21:55:12Z", "EventCode": "4634"}, "wineventlog-security")
    assert with_offset["@timestamp"] == "2016-08-10T21:55:12.000Z"      # an explicit zone wins


def test_sysmon_event_time_prefers_time_then_time_created_then_utc_time() -> None:
    both = prepare_sysmon({"time": "2016-08-10T21:00:00Z", "TimeCreated": "2016-08-10T22:00:00Z"})
    assert "_time" not in both
    created = prepare_sysmon({"TimeCreated": "2016-08-10T22:00:00Z", "UtcTime": "2016-08-10 23:00:00"})
    assert created["_time"] == "2016-08-10T22:00:00Z"
    utc = prepare_sysmon({"UtcTime": "2016-08-10 23:00:00"})
    assert utc["_time"] == utc["UtcTime"] == "2016-08-10 23:00:00+00:00"


def test_a_record_without_any_time_says_so(normalizer: Normalizer) -> None:
    event = normalized(normalizer, {"EventCode": "1"}, "xmlwineventlog")
    assert any("no event time" in error for error in get_path(event, ERRORS_FIELD))


# --- raw-record fixes -------------------------------------------------------------------------------------

def test_prepare_does_not_change_its_input() -> None:
    flat = {"time": "08/10/2016 09:55:12 PM", "Process_Name": "-", "New_Process_ID": "0x10"}
    copy = dict(flat)
    prepare_wineventlog(flat)
    assert flat == copy


def test_dash_means_no_value_and_hex_ids_are_decoded() -> None:
    prepared = prepare_wineventlog({
        "Source_Network_Address": "-", "Source_Port": " - ", "Account_Name": ["-", "bob"],
        "New_Process_ID": "0x1A2C", "Creator_Process_ID": ["0xe14"], "Process_ID": "412", "Exit_Status": "0x0",
    })
    assert prepared == {"Account_Name": ["-", "bob"], "New_Process_ID": 6700, "Creator_Process_ID": [3604],
                        "Process_ID": "412", "Exit_Status": 0}


def test_rendered_message_wins_over_the_raw_text() -> None:
    assert prepare_wineventlog({"message": "raw", "Message": "rendered"}) == {"Message": "rendered"}
    assert prepare_wineventlog({"message": "raw"}) == {"message": "raw"}


def test_logon_from_no_address_has_no_source_and_no_error(normalizer: Normalizer) -> None:
    event = normalized(normalizer, {"time": "2016-08-10T21:55:12Z", "EventCode": "4624", "Source_Network_Address": "-",
                                    "Source_Port": "-", "Workstation_Name": "-"}, "wineventlog-security")
    assert "source" not in event
    assert get_path(event, ERRORS_FIELD) is None


# --- WinEventLog accounts, level and outcome ----------------------------------------------------------------

def security_event(code: str, names: Any, domains: Any, **extra: Any) -> dict[str, Any]:
    event: dict[str, Any] = {"event": {"code": code}, "user": {"name": names, "domain": domains}}
    event.update(extra)
    finish_security(event)
    return event


def test_logon_user_is_the_account_logged_on_and_the_subject_is_kept() -> None:
    event = security_event("4624", ["WE8105DESK$", "bob"], ["WAYNECORPINC", "WAYNECORPINC"])
    assert event["user"] == {"name": "bob", "domain": "WAYNECORPINC"}
    assert event["botes"]["winlog"]["subject"] == {"name": "WE8105DESK$", "domain": "WAYNECORPINC"}


def test_explicit_credentials_go_to_the_effective_user() -> None:
    event = security_event("4648", ["bob", "admin"], ["WAYNECORPINC", "WE9041SRV"])
    assert event["user"] == {"name": "bob", "domain": "WAYNECORPINC",
                             "effective": {"name": "admin", "domain": "WE9041SRV"}}


def test_account_management_targets_go_to_the_target_user() -> None:
    event = security_event("4726", ["Administrator", "svc_old"], ["WAYNECORPINC", "WAYNECORPINC"])
    assert event["user"]["target"] == {"name": "svc_old", "domain": "WAYNECORPINC"}
    unknown = security_event("4662", ["bob", "alice"], ["D", "D"])
    assert unknown["user"] == {"name": "bob", "domain": "D", "target": {"name": "alice", "domain": "D"}}


def test_empty_slots_leave_no_account_behind() -> None:
    event = security_event("4625", ["-", "-"], ["-", "-"])
    assert "user" not in event and "botes" not in event
    single = security_event("4634", "bob", "WAYNECORPINC")
    assert single["user"] == {"name": "bob", "domain": "WAYNECORPINC"}


@pytest.mark.parametrize(("level", "keywords", "outcome", "kept_level"), [
    ("Information", "Audit Success", "success", "information"),
    ("Information", "Audit Failure", "failure", "information"),
    ("Audit Success", None, "success", None),
    ("Audit Failure", None, "failure", None),
    ("Warning", "Classic", None, "warning"),
    ("Error", ["Classic", "Audit Failure"], "failure", "error"),
])
def test_audit_keywords_are_the_outcome_and_levels_stay_levels(level: str, keywords: Any, outcome: str | None,
                                                                kept_level: str | None) -> None:
    event: dict[str, Any] = {"event": {"code": "4656"}, "log": {"level": level}}
    if keywords is not None:
        event["botes"] = {"winlog": {"keywords": keywords}}
    finish_security(event)
    assert get_path(event, "event.outcome") == outcome
    assert get_path(event, "log.level") == kept_level
    if kept_level is None:
        assert "log" not in event


def test_unknown_codes_are_events_without_a_guessed_category() -> None:
    event: dict[str, Any] = {"event": {"code": "9999"}}
    finish_security(event)
    assert event["event"] == {"code": "9999", "kind": "event"}


# --- Sysmon ---------------------------------------------------------------------------------------------

def test_hashes_split_into_lower_case_algorithms() -> None:
    assert parse_hashes("SHA1=AB,MD5=CD, SHA256 = EF ,IMPHASH=01,junk,EMPTY=") == {
        "sha1": "ab", "md5": "cd", "sha256": "ef", "imphash": "01"}


def test_driver_loads_describe_a_file() -> None:
    event: dict[str, Any] = {
        "event": {"code": "6"}, "dll": {"path": "C:\\Windows\\System32\\drivers\\evil.sys"},
        "botes": {"file": {"hash": {"table": "SHA256=AA,IMPHASH=BB"}}},
    }
    finish_sysmon(event)
    assert "dll" not in event
    assert event["file"] == {"path": "C:\\Windows\\System32\\drivers\\evil.sys", "name": "evil.sys",
                             "hash": {"sha256": "aa"}, "pe": {"imphash": "bb"}}
    assert event["event"]["category"] == ["driver"]


def test_extracted_hash_fields_fill_in_and_follow_the_process() -> None:
    event: dict[str, Any] = {"event": {"code": "1"}, "file": {"hash": {"md5": "AA"}, "pe": {"imphash": "CC"}},
                             "botes": {"file": {"hash": {"table": "MD5=AA,SHA1=BB"}}}}
    finish_sysmon(event)
    assert "file" not in event
    assert event["process"] == {"hash": {"md5": "aa", "sha1": "bb"}, "pe": {"imphash": "cc"}}


@pytest.mark.parametrize(("operation", "path", "kind", "key", "value"), [
    ("CreateKey", "HKLM\\SOFTWARE\\Evil", "creation", "SOFTWARE\\Evil", None),
    ("DeleteKey", "HKLM\\SOFTWARE\\Evil", "deletion", "SOFTWARE\\Evil", None),
    ("DeleteValue", "HKLM\\SOFTWARE\\Run\\evil", "deletion", "SOFTWARE\\Run", "evil"),
])
def test_sysmon_registry_operations(operation: str, path: str, kind: str, key: str, value: str | None) -> None:
    event: dict[str, Any] = {"event": {"code": "12"}, "registry": {"path": path},
                             "botes": {"sysmon": {"event_type": operation}}}
    finish_sysmon(event)
    assert event["event"]["type"] == [kind]
    assert get_path(event, "registry.key") == key
    assert get_path(event, "registry.value") == value


@pytest.mark.parametrize(("details", "strings", "kind"), [
    ("DWORD (0x00000010)", ["16"], "REG_DWORD"),
    ("QWORD (0x00000001-0x00000002)", [str((1 << 32) | 2)], "REG_QWORD"),
    ("C:\\evil.exe", ["C:\\evil.exe"], None),
    ("Binary Data", ["Binary Data"], None),
])
def test_sysmon_registry_data(details: str, strings: list[str], kind: str | None) -> None:
    event: dict[str, Any] = {"event": {"code": "13"}, "registry": {"path": "HKLM\\S\\v", "data": {"strings": details}}}
    finish_sysmon(event)
    assert get_path(event, "registry.data.strings") == strings
    assert get_path(event, "registry.data.type") == kind
    assert get_path(event, "registry.value") == "v"   # without EventType, event 13 is a value operation


def test_connections_not_initiated_by_the_host_are_ingress() -> None:
    event: dict[str, Any] = {"event": {"code": "3"}, "network": {"transport": "UDP"},
                             "botes": {"winlog": {"connection_init": {"flag": False}}}}
    finish_sysmon(event)
    assert event["network"] == {"transport": "udp", "direction": "ingress"}


# --- registry paths and WinRegistry ------------------------------------------------------------------------

@pytest.mark.parametrize(("path", "is_value", "expected"), [
    ("HKLM\\SOFTWARE\\Run\\evil", True, RegistryPath("HKLM", "SOFTWARE\\Run", "evil")),
    ("HKEY_LOCAL_MACHINE\\SOFTWARE\\Run", False, RegistryPath("HKLM", "SOFTWARE\\Run", None)),
    ("HKEY_CURRENT_USER\\Software\\X\\v", True, RegistryPath("HKCU", "Software\\X", "v")),
    ("\\REGISTRY\\USER\\S-1-5-18\\Software", False, RegistryPath("HKU", "S-1-5-18\\Software", None)),
    ("\\REGISTRY\\MACHINE\\SYSTEM\\Setup\\", False, RegistryPath("HKLM", "SYSTEM\\Setup", None)),
    ("HKCR\\.exe", False, RegistryPath("HKCR", ".exe", None)),
    ("HKLM", False, RegistryPath("HKLM", None, None)),
    ("SOFTWARE\\Run\\evil", True, RegistryPath(None, "SOFTWARE\\Run", "evil")),
])
def test_registry_paths_split_into_hive_key_and_value(path: str, is_value: bool, expected: RegistryPath) -> None:
    assert split_registry_path(path, is_value) == expected


@pytest.mark.parametrize(("status", "description", "outcome"), [
    ("success", None, "success"),
    ("Failure", "(0)The operation completed successfully.", "failure"),  # status wins
    ("weird", "(5)Access is denied.", "failure"),
    (None, "(0)The operation completed successfully.", "success"),
    (None, "The operation completed.", None),
])
def test_registry_outcome(status: str | None, description: str | None, outcome: str | None) -> None:
    event: dict[str, Any] = {"event": {"action": "OpenKey"}, "botes": {"registry": {"status": status},
                                                                       "event": {"description": description}}}
    finish_winregistry(event)
    assert get_path(event, "event.outcome") == outcome
    assert event["event"]["type"] == ["access"]


def test_a_value_name_outside_the_path_leaves_the_path_a_key() -> None:
    event: dict[str, Any] = {"event": {"action": "SetValue"},
                             "registry": {"path": "HKLM\\SOFTWARE\\Run", "value": "evil"}}
    finish_winregistry(event)
    assert event["registry"] == {"path": "HKLM\\SOFTWARE\\Run", "value": "evil", "hive": "HKLM", "key": "SOFTWARE\\Run"}


def test_unknown_registry_operations_are_info() -> None:
    event: dict[str, Any] = {"event": {"action": "Frobnicate"}}
    finish_winregistry(event)
    assert event["event"]["category"] == ["registry"] and event["event"]["type"] == ["info"]
