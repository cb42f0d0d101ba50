"""Windows specifics: Splunk's classic WinEventLog (Application, Security, System), Sysmon read as
XmlWinEventLog, and Splunk's registry monitor (WinRegistry).

The ECS shape follows what Elastic's Winlogbeat and Windows integrations produce, where ECS 9.4.0 has
the field: ``event.code`` as text, ``user.*`` for the account, ``process.*`` for programs, ``registry.*``
for keys and values, and ``event.category/type/action`` from a small table of well-known event codes.
ECS has no ``winlog.*`` field set, so the maps' ``winlog.*`` targets live under ``botes.winlog.*``.

Decisions that are not a plain field-to-field move:

- Time. ``time``/``_time`` is the event time. Classic WinEventLog and registry-monitor time strings
  ("08/10/2016 09:55:12 PM", "08/10/2016 21:55:12.123") carry no zone: they are the host's local
  time and are read in the normaliser's default time zone. Sysmon's ``*UtcTime`` fields are UTC
  whatever that default is. A Sysmon record without ``time``/``_time`` takes ``TimeCreated``, else
  ``UtcTime``.
- "-" is how Windows renders "no value": such fields are dropped, and "-" inside a multi-value field
  means that slot is empty.
- Security events list the subject account first and the target account second (Splunk gives
  ``Account_Name``/``Account_Domain`` as two-value arrays). Logon events (4624, 4625) describe the
  account that logged on: it is ``user.*`` and the subject goes to ``botes.winlog.subject.*``.
  Explicit-credential and process events (4648, 4688) keep the subject as ``user.*`` and the other
  account as ``user.effective.*``; any other event keeps the subject as ``user.*`` and the other
  account as ``user.target.*``.
- Sysmon ``Hashes`` ("SHA1=..,MD5=..,IMPHASH=..") and the MD5/SHA1/SHA256/IMPHASH fields Splunk
  extracts from it describe the process image (event 1), the loaded module (event 7, ``dll.*``) or a
  file (driver loads, file events): they are placed on that object, lower-cased.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from pipeline.events import Event, get_path, set_path
from pipeline.normalize.sourcetype import SourceType

__all__ = [
    "SOURCES",
    "Meaning",
    "RegistryPath",
    "SECURITY_EVENTS",
    "SYSTEM_EVENTS",
    "SYSMON_EVENTS",
    "prepare_wineventlog",
    "prepare_sysmon",
    "prepare_winregistry",
    "finish_application",
    "finish_security",
    "finish_system",
    "finish_sysmon",
    "finish_winregistry",
    "iso_from_classic_time",
    "parse_hashes",
    "split_registry_path",
]


class Meaning(NamedTuple):
    """What a well-known event code means in ECS categorisation terms."""

    category: tuple[str, ...]
    type: tuple[str, ...]
    action: str


# Security log: categorisation as in Elastic's Winlogbeat security module, for the codes most seen.
SECURITY_EVENTS: Mapping[str, Meaning] = {
    "1102": Meaning(("iam",), ("admin", "change"), "audit-log-cleared"),
    "4624": Meaning(("authentication",), ("start",), "logged-in"),
    "4625": Meaning(("authentication",), ("start",), "logon-failed"),
    "4634": Meaning(("authentication",), ("end",), "logged-out"),
    "4647": Meaning(("authentication",), ("end",), "logged-out"),
    "4648": Meaning(("authentication",), ("start",), "logged-in-explicit"),
    "4657": Meaning(("registry", "configuration"), ("change",), "registry-value-modified"),
    "4672": Meaning(("iam",), ("admin",), "logged-in-special"),
    "4688": Meaning(("process",), ("start",), "created-process"),
    "4689": Meaning(("process",), ("end",), "exited-process"),
    "4697": Meaning(("iam", "configuration"), ("admin", "change"), "service-installed"),
    "4698": Meaning(("iam", "configuration"), ("creation", "admin"), "scheduled-task-created"),
    "4719": Meaning(("iam", "configuration"), ("admin", "change"), "changed-audit-config"),
    "4720": Meaning(("iam",), ("user", "creation"), "added-user-account"),
    "4722": Meaning(("iam",), ("user", "change"), "enabled-user-account"),
    "4723": Meaning(("iam",), ("user", "change"), "changed-password"),
    "4724": Meaning(("iam",), ("user", "change"), "reset-password"),
    "4725": Meaning(("iam",), ("user", "deletion"), "disabled-user-account"),
    "4726": Meaning(("iam",), ("user", "deletion"), "deleted-user-account"),
    "4728": Meaning(("iam",), ("group", "change"), "added-member-to-group"),
    "4732": Meaning(("iam",), ("group", "change"), "added-member-to-group"),
    "4738": Meaning(("iam",), ("user", "change"), "modified-user-account"),
    "4740": Meaning(("iam",), ("user", "change"), "locked-out-user-account"),
    "4756": Meaning(("iam",), ("group", "change"), "added-member-to-group"),
    "4767": Meaning(("iam",), ("user", "change"), "unlocked-user-account"),
    "4768": Meaning(("authentication",), ("start",), "kerberos-authentication-ticket-requested"),
    "4769": Meaning(("authentication",), ("start",), "kerberos-service-ticket-requested"),
    "4771": Meaning(("authentication",), ("start",), "kerberos-preauth-failed"),
    "4776": Meaning(("authentication",), ("start",), "credential-validated"),
    "4778": Meaning(("authentication", "session"), ("start",), "session-reconnected"),
    "4779": Meaning(("authentication", "session"), ("end",), "session-disconnected"),
}

SYSTEM_EVENTS: Mapping[str, Meaning] = {
    "104": Meaning(("iam",), ("admin", "change"), "audit-log-cleared"),
    "1074": Meaning(("host",), ("end",), "shutdown-initiated"),
    "7040": Meaning(("configuration",), ("change",), "service-start-type-changed"),
    "7045": Meaning(("iam", "configuration"), ("admin", "change"), "service-installed"),
}

SYSMON_EVENTS: Mapping[str, Meaning] = {
    "1": Meaning(("process",), ("start",), "process-created"),
    "2": Meaning(("file",), ("change",), "file-creation-time-changed"),
    "3": Meaning(("network",), ("connection", "start"), "network-connection"),
    "5": Meaning(("process",), ("end",), "process-terminated"),
    "6": Meaning(("driver",), ("start",), "driver-loaded"),
    "7": Meaning(("library",), ("start",), "image-loaded"),
    "8": Meaning(("process",), ("change",), "create-remote-thread"),
    "9": Meaning(("file",), ("access",), "raw-access-read"),
    "10": Meaning(("process",), ("access",), "process-accessed"),
    "11": Meaning(("file",), ("creation",), "file-created"),
    "12": Meaning(("registry",), ("change",), "registry-object-added-or-deleted"),
    "13": Meaning(("registry",), ("change",), "registry-value-set"),
    "14": Meaning(("registry",), ("change",), "registry-key-renamed"),
    "15": Meaning(("file",), ("creation",), "file-stream-created"),
    "17": Meaning(("file",), ("creation",), "pipe-created"),
    "18": Meaning(("file",), ("access",), "pipe-connected"),
    "22": Meaning(("network",), ("protocol", "info"), "dns-query"),
    "23": Meaning(("file",), ("deletion",), "file-deleted"),
}

_NO_VALUE = "-"
_EVENT_TIME_FIELDS = ("_time", "time")
_HEX_NUMBER_FIELDS = ("New_Process_ID", "Creator_Process_ID", "Process_ID", "Exit_Status")
_SYSMON_UTC_FIELDS = ("UtcTime", "CreationUtcTime", "PreviousCreationUtcTime")
_CLASSIC_TIME = re.compile(
    r"^(?P<month>\d{1,2})/(?P<day>\d{1,2})/(?P<year>\d{4}) (?P<hour>\d{1,2}):(?P<minute>\d{2}):(?P<second>\d{2})"
    r"(?P<fraction>\.\d+)?(?: ?(?P<half>[AaPp][Mm]))?$"
)
_HAS_ZONE = re.compile(r"(?:[Zz]|[+-]\d{2}:?\d{2})$")
_HEX = re.compile(r"^0[xX][0-9a-fA-F]+$")

_AUDIT_OUTCOMES = {"audit success": "success", "audit failure": "failure"}
_LOGON_CODES = frozenset({"4624", "4625"})           # the target account is the one that logged on
_EFFECTIVE_CODES = frozenset({"4648", "4688"})       # the target account is the one acted as

_HASH_ALGORITHMS = frozenset({"md5", "sha1", "sha256", "sha384", "sha512"})
_HASH_OWNER = {"1": "process", "7": "dll"}           # any other Sysmon event: the hashes are a file's

_HIVES = {"HKEY_LOCAL_MACHINE": "HKLM", "HKLM": "HKLM", "HKEY_USERS": "HKU", "HKU": "HKU",
          "HKEY_CURRENT_USER": "HKCU", "HKCU": "HKCU", "HKEY_CLASSES_ROOT": "HKCR", "HKCR": "HKCR",
          "HKEY_CURRENT_CONFIG": "HKCC", "HKCC": "HKCC"}
_KERNEL_HIVES = {"MACHINE": "HKLM", "USER": "HKU"}   # \REGISTRY\MACHINE\..., as drivers name them
_REGISTRY_TYPES = {"createkey": "creation", "deletekey": "deletion", "deletevalue": "deletion",
                   "setvalue": "change", "renamekey": "change", "openkey": "access", "querykey": "access",
                   "queryvalue": "access", "enumeratekey": "access", "enumeratevalue": "access"}
_VALUE_OPERATIONS = frozenset({"setvalue", "deletevalue", "queryvalue"})
_SYSMON_NUMBER = re.compile(r"^(?P<kind>DWORD|QWORD) \((?P<high>0x[0-9a-fA-F]+)(?:-(?P<low>0x[0-9a-fA-F]+))?\)$")
_STATUS_CODE = re.compile(r"^\((?P<code>-?\d+)\)")


# --- raw-record fixes (before the field table) -----------------------------------------------------

def iso_from_classic_time(text: str) -> str | None:
    """"08/10/2016 09:55:12 PM" (or 24-hour, with a fraction) as naive ISO text; None if not that form."""
    match = _CLASSIC_TIME.match(text.strip())
    if match is None:
        return None
    hour = int(match["hour"])
    if match["half"]:
        hour = hour % 12 + (12 if match["half"].upper() == "PM" else 0)
    return (f"{match['year']}-{int(match['month']):02d}-{int(match['day']):02d}"
            f"T{hour:02d}:{match['minute']}:{match['second']}{match['fraction'] or ''}")


def _without_placeholders(flat: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in flat.items()
            if not (isinstance(value, str) and value.strip() == _NO_VALUE)}


def _decoded_hex(value: Any) -> Any:
    if isinstance(value, list):
        return [_decoded_hex(item) for item in value]
    if isinstance(value, str) and _HEX.match(value.strip()):
        return int(value.strip(), 16)
    return value


def _with_local_times(flat: dict[str, Any]) -> dict[str, Any]:
    for key in _EVENT_TIME_FIELDS:
        value = flat.get(key)
        iso = iso_from_classic_time(value) if isinstance(value, str) else None
        if iso is not None:
            flat[key] = iso
    return flat


def prepare_wineventlog(flat: dict[str, Any]) -> dict[str, Any]:
    """Drop "-" values, decode hexadecimal process ids, read classic local times, prefer ``Message``."""
    flat = _with_local_times(_without_placeholders(flat))
    for key in _HEX_NUMBER_FIELDS:
        if key in flat:
            flat[key] = _decoded_hex(flat[key])
    if "Message" in flat and "message" in flat:
        # both go to ECS message: the rendered text wins; the raw Splunk text stays in event.original
        del flat["message"]
    return flat


def prepare_sysmon(flat: dict[str, Any]) -> dict[str, Any]:
    """Drop "-" values, mark Sysmon's UTC times as UTC, and find the event time."""
    flat = _with_local_times(_without_placeholders(flat))
    for key in _SYSMON_UTC_FIELDS:
        value = flat.get(key)
        if isinstance(value, str) and value.strip() and not _HAS_ZONE.search(value.strip()):
            flat[key] = f"{value.strip()}+00:00"
    if not any(flat.get(key) for key in _EVENT_TIME_FIELDS):
        for key in ("TimeCreated", "UtcTime"):
            if flat.get(key):
                flat["_time"] = flat[key]
                break
    return flat


def prepare_winregistry(flat: dict[str, Any]) -> dict[str, Any]:
    """Drop "-" values and read the registry monitor's local times."""
    return _with_local_times(_without_placeholders(flat))


# --- helpers on the ECS event -------------------------------------------------------------------------

def _pop_path(event: Event, path: str) -> Any:
    """Remove and return a value, dropping the objects it leaves empty."""
    *parents, leaf = path.split(".")
    nodes = [event]
    for part in parents:
        child = nodes[-1].get(part)
        if not isinstance(child, dict):
            return None
        nodes.append(child)
    value = nodes[-1].pop(leaf, None)
    for depth in range(len(parents), 0, -1):  # nodes[depth] is the object under parents[depth - 1]
        if nodes[depth]:
            break
        del nodes[depth - 1][parents[depth - 1]]
    return value


def _values(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


def _present(value: Any) -> str | None:
    """A multi-value slot's text, or None where Windows wrote "-" or nothing."""
    if value is None:
        return None
    text = str(value).strip()
    return None if text in ("", _NO_VALUE) else text


def _categorise(event: Event, events: Mapping[str, Meaning]) -> None:
    set_path(event, "event.kind", "event")
    meaning = events.get(str(get_path(event, "event.code")))
    if meaning is not None:
        set_path(event, "event.category", list(meaning.category))
        set_path(event, "event.type", list(meaning.type))
        set_path(event, "event.action", meaning.action)


def _name_from_path(event: Event, path_field: str, name_field: str) -> None:
    path = get_path(event, path_field)
    if isinstance(path, str) and get_path(event, name_field) is None:
        name = re.split(r"[\\/]", path.rstrip("\\/"))[-1]
        if name:
            set_path(event, name_field, name)


def _name_programs(event: Event) -> None:
    for prefix in ("process", "process.parent", "dll", "file"):
        path_field = "path" if prefix in ("dll", "file") else "executable"
        _name_from_path(event, f"{prefix}.{path_field}", f"{prefix}.name")


def _split_qualified_user(event: Event) -> None:
    """``DOMAIN\\name`` (Sysmon, the classic ``User`` field) as user.domain and user.name."""
    name = get_path(event, "user.name")
    if isinstance(name, str) and "\\" in name:
        domain, _, short = name.partition("\\")
        set_path(event, "user.name", short)
        if get_path(event, "user.domain") is None and domain:
            set_path(event, "user.domain", domain)


# --- WinEventLog ------------------------------------------------------------------------------------

def _set_level_and_outcome(event: Event) -> None:
    """``Type``/``Keywords`` say either a level (Information, Warning, Error) or an audit result."""
    level = get_path(event, "log.level")
    words = [str(w).strip().lower() for w in (*_values(get_path(event, "botes.winlog.keywords")), *_values(level))]
    outcomes = [_AUDIT_OUTCOMES[w] for w in words if w in _AUDIT_OUTCOMES]
    if outcomes:
        set_path(event, "event.outcome", "failure" if "failure" in outcomes else "success")
    if isinstance(level, str):
        if level.strip().lower() in _AUDIT_OUTCOMES:
            _pop_path(event, "log.level")
        else:
            set_path(event, "log.level", level.strip().lower())


def _set_account(event: Event, prefix: str, name: str | None, domain: str | None) -> None:
    if name is not None:
        set_path(event, f"{prefix}.name", name)
    if domain is not None:
        set_path(event, f"{prefix}.domain", domain)


def _assign_accounts(event: Event) -> None:
    """Splunk's two-value ``Account_Name``/``Account_Domain``: subject first, target second."""
    names, domains = _values(get_path(event, "user.name")), _values(get_path(event, "user.domain"))
    if len(names) < 2 and len(domains) < 2:
        return
    _pop_path(event, "user.name")
    _pop_path(event, "user.domain")
    subject = (_present(names[0]) if names else None, _present(domains[0]) if domains else None)
    target = (_present(names[-1]) if len(names) > 1 else None, _present(domains[-1]) if len(domains) > 1 else None)
    code = str(get_path(event, "event.code"))
    if code in _LOGON_CODES:
        _set_account(event, "user", *target)
        _set_account(event, "botes.winlog.subject", *subject)
    else:
        _set_account(event, "user", *subject)
        _set_account(event, "user.effective" if code in _EFFECTIVE_CODES else "user.target", *target)


def _finish_wineventlog(event: Event, events: Mapping[str, Meaning]) -> None:
    _categorise(event, events)
    _set_level_and_outcome(event)
    _assign_accounts(event)
    _split_qualified_user(event)
    _name_programs(event)


def finish_application(event: Event) -> None:
    _finish_wineventlog(event, {})


def finish_security(event: Event) -> None:
    _finish_wineventlog(event, SECURITY_EVENTS)


def finish_system(event: Event) -> None:
    _finish_wineventlog(event, SYSTEM_EVENTS)


# --- registry (Sysmon 12-14 and WinRegistry) ---------------------------------------------------------

class RegistryPath(NamedTuple):
    hive: str | None   # HKLM, HKU, HKCU, HKCR, HKCC
    key: str | None    # hive-relative key path
    value: str | None  # value name, for operations on a value


def split_registry_path(path: str, is_value: bool) -> RegistryPath:
    """``HKLM\\SOFTWARE\\...\\Run\\evil`` -> hive HKLM, key ``SOFTWARE\\...\\Run``, value ``evil``."""
    parts = [part for part in path.strip().split("\\") if part]
    hive: str | None = None
    if len(parts) > 1 and parts[0].upper() == "REGISTRY" and parts[1].upper() in _KERNEL_HIVES:
        hive, parts = _KERNEL_HIVES[parts[1].upper()], parts[2:]
    elif parts and parts[0].upper() in _HIVES:
        hive, parts = _HIVES[parts[0].upper()], parts[1:]
    value = parts.pop() if is_value and parts else None
    return RegistryPath(hive, "\\".join(parts) or None, value)


def _describe_registry(event: Event, operation: str | None, is_value: bool) -> None:
    path = get_path(event, "registry.path")
    if isinstance(path, str):
        hive, key, value = split_registry_path(path, is_value)
        for field, part in (("hive", hive), ("key", key), ("value", value)):
            if part is not None and get_path(event, f"registry.{field}") is None:
                set_path(event, f"registry.{field}", part)
    kind = _REGISTRY_TYPES.get((operation or "").strip().lower())
    if kind is not None:
        set_path(event, "event.type", [kind])
    data = get_path(event, "registry.data.strings")
    if data is not None and not isinstance(data, list):
        set_path(event, "registry.data.strings", [data])


def _decoded_registry_number(event: Event) -> None:
    """Numbers as ECS wants them: decimal text (Sysmon writes "DWORD (0x00000001)", Splunk "0x00000001")."""
    data = get_path(event, "registry.data.strings")
    if not isinstance(data, list) or len(data) != 1 or not isinstance(data[0], str):
        return
    number = _SYSMON_NUMBER.match(data[0].strip())
    if number is not None:
        high, low = int(number["high"], 16), number["low"]
        value = (high << 32) | int(low, 16) if low else high
        set_path(event, "registry.data.type", f"REG_{number['kind']}")
        set_path(event, "registry.data.strings", [str(value)])
    elif get_path(event, "registry.data.type") in ("REG_DWORD", "REG_QWORD") and _HEX.match(data[0].strip()):
        set_path(event, "registry.data.strings", [str(int(data[0].strip(), 16))])


# --- Sysmon -------------------------------------------------------------------------------------------

def parse_hashes(text: str) -> dict[str, str]:
    """``"SHA1=AB..,MD5=CD..,IMPHASH=EF.."`` -> ``{"sha1": "ab..", "md5": "cd..", "imphash": "ef.."}``."""
    hashes: dict[str, str] = {}
    for item in text.split(","):
        algorithm, sep, digest = item.partition("=")
        if sep and algorithm.strip() and digest.strip():
            hashes[algorithm.strip().lower()] = digest.strip().lower()
    return hashes


def _place_hashes(event: Event, code: str) -> None:
    table = get_path(event, "botes.file.hash.table")
    hashes = parse_hashes(table) if isinstance(table, str) else {}
    for algorithm in ("md5", "sha1", "sha256"):
        digest = _pop_path(event, f"file.hash.{algorithm}")
        if isinstance(digest, str):
            hashes.setdefault(algorithm, digest.strip().lower())
    imphash = _pop_path(event, "file.pe.imphash")
    if isinstance(imphash, str):
        hashes.setdefault("imphash", imphash.strip().lower())
    owner = _HASH_OWNER.get(code, "file")
    for algorithm, digest in hashes.items():
        if algorithm == "imphash":
            set_path(event, f"{owner}.pe.imphash", digest)
        elif algorithm in _HASH_ALGORITHMS:
            set_path(event, f"{owner}.hash.{algorithm}", digest)


def _describe_network(event: Event) -> None:
    for field in ("network.transport", "network.protocol"):
        value = get_path(event, field)
        if isinstance(value, str):
            set_path(event, field, value.lower())
    initiated = get_path(event, "botes.winlog.connection_init.flag")
    if isinstance(initiated, bool):
        set_path(event, "network.direction", "egress" if initiated else "ingress")


def finish_sysmon(event: Event) -> None:
    code = str(get_path(event, "event.code"))
    _categorise(event, SYSMON_EVENTS)
    if code == "6":  # a driver load names the driver file, not a module loaded into a process
        for field in ("path", "name"):
            value = _pop_path(event, f"dll.{field}")
            if value is not None:
                set_path(event, f"file.{field}", value)
    _place_hashes(event, code)
    _split_qualified_user(event)
    _name_programs(event)
    _describe_network(event)
    if code in ("12", "13", "14"):
        operation = get_path(event, "botes.sysmon.event_type")
        operation = operation if isinstance(operation, str) else None
        is_value = operation.lower() in _VALUE_OPERATIONS if operation else code == "13"
        _describe_registry(event, operation, is_value)
        _decoded_registry_number(event)


# --- WinRegistry --------------------------------------------------------------------------------------

def _registry_outcome(event: Event) -> str | None:
    status = get_path(event, "botes.registry.status")
    if isinstance(status, str) and status.strip().lower() in ("success", "failure"):
        return status.strip().lower()
    description = get_path(event, "botes.event.description")  # event_status: "(0)The operation completed..."
    code = _STATUS_CODE.match(description.strip()) if isinstance(description, str) else None
    if code is not None:
        return "success" if int(code["code"]) == 0 else "failure"
    return None


def _is_value_operation(event: Event, operation: str | None) -> bool:
    value_name, path = get_path(event, "registry.value"), get_path(event, "registry.path")
    if isinstance(value_name, str) and isinstance(path, str):
        return path.lower().endswith("\\" + value_name.lower())
    return (operation or "").strip().lower() in _VALUE_OPERATIONS


def finish_winregistry(event: Event) -> None:
    set_path(event, "event.kind", "event")
    set_path(event, "event.category", ["registry"])
    set_path(event, "event.type", ["info"])
    operation = get_path(event, "event.action")
    operation = operation if isinstance(operation, str) else None
    _describe_registry(event, operation, _is_value_operation(event, operation))
    _decoded_registry_number(event)
    outcome = _registry_outcome(event)
    if outcome is not None:
        set_path(event, "event.outcome", outcome)
    _name_programs(event)


# --- the source types -------------------------------------------------------------------------------

_WINDOWS = {"vendor": "Microsoft", "product": "Windows"}
_FAMILY = "winevent"  # as BOTES itself groups them: the event logs, Sysmon and the registry monitor


def _wineventlog(name: str, finish: Callable[[Event], None], alias: str) -> SourceType:
    return SourceType(name, _FAMILY, "windows", _WINDOWS, finish, prepare_wineventlog, (alias,))


SOURCES = (
    _wineventlog("wineventlog-application", finish_application, "wineventlog:application"),
    _wineventlog("wineventlog-security", finish_security, "wineventlog:security"),
    _wineventlog("wineventlog-system", finish_system, "wineventlog:system"),
    SourceType("xmlwineventlog", _FAMILY, "sysmon", {"vendor": "Microsoft", "product": "Sysmon"},
               finish_sysmon, prepare_sysmon,
               ("xmlwineventlog:microsoft-windows-sysmon/operational",
                "xmlwineventlog-microsoft-windows-sysmon-operational")),
    SourceType("winregistry", _FAMILY, "windows", {"vendor": "Splunk", "product": "WinRegMon"},
               finish_winregistry, prepare_winregistry),
)
