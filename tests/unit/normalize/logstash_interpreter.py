"""Test helper: runs generated Logstash pipelines with Logstash 8.19.7's semantics, for the subset of the
pipeline language the generator uses. Logstash cannot run on these machines, so its behaviour is modelled
from the sources (repository, tag, file):

- elastic/logstash v8.19.7:
  logstash-core/src/main/java/org/logstash/config/ir/CompiledPipeline.java (expandConfigVariables copies
  every hash option into a java.util.HashMap: its entries run in HashMap order, not file order),
  .../config/ir/compiler/EventCondition.java (==, !=, =~, !~, in, truthiness),
  logstash-core/lib/logstash/compiler/lscl.rb (Condition#join_conditions: "and" before "or"),
  .../StringInterpolation.java and KeyNode.java (sprintf: lists joined with ",", maps as JSON, a missing
  field left as "%{...}"), .../Timestamp.java (toString), .../Event.java (tag, remove),
  logstash-core/lib/logstash/filters/base.rb and util/decorators.rb (add_field, remove_field, add_tag,
  remove_tag, only after the filter succeeded), util/charset.rb (a line that is not UTF-8 becomes its
  String#inspect), json.rb + guyboertje/jrjackson v0.4.20 JrJacksonRuby.java and JrParse.java (JSON floats
  become BigDecimal; the last of several root values is kept);
- logstash-plugins/logstash-filter-mutate v3.5.9 lib/logstash/filters/mutate.rb (the order of operations
  in one mutate; rename, replace, convert with 3.5.9's rules on JRuby 9.4, where Float("-0x1A") fails so
  parse_signed_hex_str takes its own path; gsub, strip, lowercase, join, merge, copy; an exception stops the
  rest of the mutate and tags the event);
- logstash-plugins/logstash-filter-date v3.1.15 src/main/java/org/logstash/filters/DateFilter.java and
  parser/{TimestampParserFactory, CasualISO8601Parser, JodaParser, UnixEpochParser,
  UnixMillisEpochParser}.java; JodaOrg/joda-time DateTimeFormat.java (pattern letters),
  DateTimeFormatterBuilder.java (NumberFormatter, Fraction, TextField, TimeZoneOffset parsing) and
  ISODateTimeFormat.java (dateTimeParser);
- logstash-plugins/logstash-filter-kv v4.7.0 lib/logstash/filters/kv.rb (the scan regexp it builds);
- logstash-plugins/logstash-filter-json v3.2.1, logstash-filter-prune v3.0.4, logstash-codec-plain v3.1.0;
- logstash-plugins/logstash-input-file v4.4.6 lib/filewatch/discoverer.rb (Dir.glob, exclude by
  File.fnmatch on the base name), watched_file.rb (gzip by a case-sensitive ".gz" suffix),
  read_mode/handlers/read_zip_file.rb (gzip lines through Java's BufferedReader);
- logstash-plugins/logstash-integration-kafka v11.6.4 lib/logstash/outputs/kafka.rb (topic_id sprintf).

What the generator does not use raises :class:`NotModelled`, so a generator change cannot silently rely
on an unmodelled behaviour.
"""

from __future__ import annotations

import functools
import gzip
import json
import math
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from tests.unit.normalize.logstash_grammar import Bareword, Branch, Config, Expression, Field, Plugin, Regexp

__all__ = ["NotModelled", "Timestamp", "Event", "Pipeline", "Output", "java_hash_order", "ruby_inspect",
           "ruby_regex", "convert_integer", "convert_float", "convert_boolean", "convert_string", "joda_parse",
           "casual_iso8601", "glob_match", "fnmatch", "read_lines", "HASH_ORDERS"]


class NotModelled(Exception):
    """The config uses a part of Logstash this interpreter does not model."""


class RubyError(Exception):
    """An exception a plugin's Ruby code raises (ArgumentError, TypeError, ...)."""


HASH_ORDERS = ("java", "file", "reverse")


# --- values -----------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Timestamp:
    """org.logstash.Timestamp at millisecond precision (what the date filter sets)."""

    millis: int

    def __str__(self) -> str:
        moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=self.millis)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{self.millis % 1000:03d}Z"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def json_load(text: str) -> Any:
    """LogStash::Json.load: Jackson (no NaN/Infinity), floats as BigDecimal, several root values -> the last."""
    def no_constant(name: str) -> Any:
        raise RubyError(f"Unrecognized token '{name}'")
    decoder = json.JSONDecoder(parse_float=Decimal, parse_constant=no_constant)
    position, result = 0, None
    found = False
    while True:
        while position < len(text) and text[position] in " \t\r\n":
            position += 1
        if position >= len(text):
            break
        try:
            result, position = decoder.raw_decode(text, position)
        except json.JSONDecodeError as exc:
            raise RubyError(str(exc)) from None
        found = True
    return result if found else None


def ruby_float_to_s(value: float) -> str:
    """Ruby's Float#to_s (numeric.c flo_to_s): shortest digits; fixed notation when -4 < exponent <= 16."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    sign = "-" if math.copysign(1.0, value) < 0 else ""
    digits, exponent = _shortest_digits(abs(value))
    point = len(digits) + exponent  # value = 0.digits * 10**point
    if -4 < point <= 16:
        if point <= 0:
            return f"{sign}0.{'0' * -point}{digits}"
        if point >= len(digits):
            return f"{sign}{digits}{'0' * (point - len(digits))}.0"
        return f"{sign}{digits[:point]}.{digits[point:]}"
    mantissa = f"{digits[0]}.{digits[1:] or '0'}"
    return f"{sign}{mantissa}e{point - 1:+03d}"


def _shortest_digits(value: float) -> tuple[str, int]:
    """Shortest round-trip decimal digits of a positive float and their exponent (value = digits * 10**exp)."""
    if value == 0:
        return "0", 0
    text = repr(value)
    mantissa, _, exp = text.partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = (whole + fraction).lstrip("0")
    exponent = int(exp or 0) - len(fraction)
    stripped = digits.rstrip("0")
    return stripped, exponent + len(digits) - len(stripped)


def bigdecimal_to_s(value: Decimal) -> str:
    """Ruby BigDecimal#to_s: "0.15e1" (sign, "0.", digits without trailing zeros, "e", exponent)."""
    if value == 0:
        return "-0.0" if value.is_signed() else "0.0"
    sign, digits, exponent = value.normalize().as_tuple()
    text = "".join(map(str, digits))
    return f"{'-' if sign else ''}0.{text}e{len(text) + int(exponent)}"


def java_to_string(value: Any) -> str:
    """Object#toString of the Java value sprintf sees (Javafier: RubyString -> String, RubyFloat -> Double,
    RubyBigDecimal -> BigDecimal)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if _is_int(value):
        return str(value)
    if isinstance(value, Decimal):
        return str(value)  # java.math.BigDecimal#toString and Python's share the scientific-string rules
    if isinstance(value, float):
        return _java_double(value)
    if isinstance(value, Timestamp):
        return str(value)
    raise NotModelled(f"toString of {type(value).__name__}")


def _java_double(value: float) -> str:
    """Double.toString (JDK 19+: shortest digits): plain for 1e-3 <= |v| < 1e7, else d.dddE±n."""
    if math.isnan(value) or math.isinf(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    sign = "-" if math.copysign(1.0, value) < 0 else ""
    digits, exponent = _shortest_digits(abs(value))
    point = len(digits) + exponent
    if value == 0 or 1e-3 <= abs(value) < 1e7:
        if point <= 0:
            return f"{sign}0.{'0' * -point}{digits}"
        if point >= len(digits):
            return f"{sign}{digits}{'0' * (point - len(digits))}.0"
        return f"{sign}{digits[:point]}.{digits[point:]}"
    return f"{sign}{digits[0]}.{digits[1:] or '0'}E{point - 1}"


_INSPECT_NAMED = {0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t", 0x0C: "\\f", 0x0B: "\\v", 0x08: "\\b", 0x07: "\\a",
                  0x1B: "\\e"}


def _printable(char: str) -> bool:
    return unicodedata.category(char) not in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")


def ruby_inspect(data: bytes | str) -> str:
    """Ruby's String#inspect of a UTF-8 string (string.c rb_str_inspect), quotes included: each invalid
    byte as \\xHH, named escapes, unprintable characters as \\uHHHH."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    out = ['"']
    position = 0
    while position < len(raw):
        char, size = _next_char(raw, position)
        if char is None:
            out.append(f"\\x{raw[position]:02X}")
            position += 1
            continue
        following = raw[position + size:position + size + 1]
        code = ord(char)
        if char in '"\\':
            out.append("\\" + char)
        elif char == "#" and following in (b"{", b"$", b"@"):
            out.append("\\#")
        elif code in _INSPECT_NAMED:
            out.append(_INSPECT_NAMED[code])
        elif _printable(char):
            out.append(char)
        else:
            out.append(f"\\u{code:04X}" if code < 0x10000 else f"\\u{{{code:X}}}")
        position += size
    return "".join(out) + '"'


def _next_char(raw: bytes, position: int) -> tuple[str | None, int]:
    for size in (1, 2, 3, 4):
        try:
            return raw[position:position + size].decode("utf-8"), size
        except UnicodeDecodeError:
            continue
    return None, 1


def _inspect_value(value: Any) -> str:
    """Ruby's #inspect of an element inside an array or hash (what #to_s of an Array or Hash shows)."""
    if value is None:
        return "nil"
    if isinstance(value, str):
        return ruby_inspect(value)
    if isinstance(value, list):
        return "[" + ", ".join(_inspect_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_inspect_value(k)}=>{_inspect_value(v)}" for k, v in value.items()) + "}"
    return ruby_to_s(value)


def ruby_to_s(value: Any) -> str:
    """Ruby's #to_s of an event value."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if _is_int(value):
        return str(value)
    if isinstance(value, float):
        return ruby_float_to_s(value)
    if isinstance(value, Decimal):
        return bigdecimal_to_s(value)
    if isinstance(value, (list, dict)):
        return _inspect_value(value)
    if isinstance(value, Timestamp):
        return str(value)
    raise NotModelled(f"to_s of {type(value).__name__}")


_RUBY_WHITESPACE = "\0\t\n\v\f\r "


def ruby_strip(text: str) -> str:
    return text.strip(_RUBY_WHITESPACE)


# --- Ruby regexps -----------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=4096)
def ruby_regex(pattern: str) -> re.Pattern[str]:
    """A Ruby (Onigmo) regexp as a Python one, for the constructs the generator writes: ^ and $ are line
    anchors in Ruby, \\z ends the string, \\s, \\d and \\w are ASCII (re.ASCII), Ruby's (?m:...) is dotall,
    and the (?-mix:...) of an interpolated regexp sets no flag."""
    out: list[str] = []
    i = 0
    in_class = False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            n = pattern[i + 1]
            if n in "hHpPkgGRXK":
                raise NotModelled(f"Ruby regexp escape \\{n}")
            if not in_class and n == "z":
                out.append(r"\Z")
            elif not in_class and n == "Z":
                out.append(r"(?=\n?\Z)")
            else:
                out.append(pattern[i:i + 2])
            i += 2
            continue
        if in_class:
            if c == "[":
                raise NotModelled("nested character classes")
            in_class = c != "]"
            out.append(c)
        elif c == "[":
            in_class = True
            out.append(c)
            if pattern.startswith("[^", i):
                out.append("^")
                i += 1
            if pattern.startswith("]", i + 1):
                out.append("\\]")
                i += 1
        elif c == "^":
            out.append("(?m:^)")
        elif c == "$":
            out.append("(?m:$)")
        elif pattern.startswith("(?m:", i):
            out.append("(?s:")
            i += 4
            continue
        elif pattern.startswith("(?-mix:", i):
            out.append("(?:")
            i += 7
            continue
        else:
            out.append(c)
        i += 1
    return re.compile("".join(out), re.ASCII)


def _ruby_replacement(template: str) -> Callable[[re.Match[str]], str]:
    """String#gsub's replacement text: \\1..\\9, \\0 and \\& for groups, \\\\ for a backslash."""
    def replace(match: re.Match[str]) -> str:
        out: list[str] = []
        i = 0
        while i < len(template):
            c = template[i]
            if c == "\\" and i + 1 < len(template):
                n = template[i + 1]
                if n.isdigit():
                    out.append(match.group(int(n)) or "")
                elif n == "&":
                    out.append(match.group(0))
                elif n == "\\":
                    out.append("\\")
                else:
                    out.append(c + n)
                i += 2
                continue
            out.append(c)
            i += 1
        return "".join(out)
    return replace


# --- Java HashMap iteration ---------------------------------------------------------------------------

def _java_string_hash(text: str) -> int:
    """String#hashCode over UTF-16 code units, as an unsigned 32-bit value."""
    encoded = text.encode("utf-16-be", "surrogatepass")
    h = 0
    for i in range(0, len(encoded), 2):
        h = (31 * h + int.from_bytes(encoded[i:i + 2], "big")) & 0xFFFFFFFF
    return h


def java_hash_order(keys: list[str]) -> list[str]:
    return list(_java_hash_order(tuple(keys)))


@functools.lru_cache(maxsize=4096)
def _java_hash_order(keys: tuple[str, ...]) -> tuple[str, ...]:
    """The iteration order of a java.util.HashMap<String, _> filled by put() in the given order (capacity
    16, doubled when the size passes 3/4 of it; a bucket keeps insertion order, which a resize preserves)."""
    capacity = 16
    while len(keys) > capacity * 3 // 4:
        capacity *= 2

    def bucket(key: str) -> int:
        h = _java_string_hash(key)
        return (h ^ (h >> 16)) & (capacity - 1)
    return tuple(key for _, key in sorted(enumerate(keys), key=lambda item: (bucket(item[1]), item[0])))


def _ordered(items: Mapping[Any, Any], order: str) -> list[tuple[Any, Any]]:
    pairs = list(items.items())
    if order == "file":
        return pairs
    if order == "reverse":
        return pairs[::-1]
    by_key = dict(pairs)
    return [(key, by_key[key]) for key in java_hash_order([str(k) for k, _ in pairs])]


# --- the event ----------------------------------------------------------------------------------------

_REFERENCE = re.compile(r"\[([^\[\],]+)\]")


@functools.lru_cache(maxsize=65536)
def field_path(reference: str) -> tuple[str, ...]:
    """FieldReference: ``[a][b]`` -> (a, b); a bare name is one key (dots included)."""
    if reference.startswith("["):
        parts = tuple(_REFERENCE.findall(reference))
        if "".join(f"[{p}]" for p in parts) != reference:
            raise NotModelled(f"field reference {reference!r}")
        return parts
    if "[" in reference or "]" in reference:
        raise NotModelled(f"field reference {reference!r}")
    return (reference,)


_MISSING = object()


@dataclass
class Event:
    """A Logstash event: its data (with @timestamp) and @metadata, and whether a filter dropped it."""

    data: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    cancelled: bool = False

    def _root(self, path: tuple[str, ...]) -> tuple[dict[str, Any], tuple[str, ...]]:
        if path and path[0] == "@metadata":
            return self.metadata, path[1:]
        return self.data, path

    def get(self, reference: str) -> Any:
        value = self.lookup(reference)
        return None if value is _MISSING else value

    def lookup(self, reference: str) -> Any:
        node, path = self._root(field_path(reference))
        current: Any = node
        for part in path:
            if isinstance(current, dict):
                current = current.get(part, _MISSING)
            elif isinstance(current, list) and re.fullmatch(r"-?[0-9]+", part):
                index = int(part)
                current = current[index] if -len(current) <= index < len(current) else _MISSING
            else:
                return _MISSING
            if current is _MISSING:
                return _MISSING
        return current

    def includes(self, reference: str) -> bool:
        return self.lookup(reference) is not _MISSING

    def set(self, reference: str, value: Any) -> None:
        node, path = self._root(field_path(reference))
        if not path:
            raise NotModelled("setting @metadata as a whole")
        for part in path[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                if child is not None:
                    raise NotModelled(f"setting {reference} through a {type(child).__name__}")
                child = node[part] = {}
            node = child
        node[path[-1]] = value

    def remove(self, reference: str) -> Any:
        node, path = self._root(field_path(reference))
        for part in path[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                return None
            node = child
        return node.pop(path[-1], None)

    def tag(self, name: str) -> None:
        """Event#tag (Java): appended unless already there."""
        tags = self.data.get("tags")
        if tags is None:
            self.data["tags"] = [name]
        elif isinstance(tags, list):
            if name not in tags:
                tags.append(name)
        elif tags != name:
            self.data["tags"] = [tags, name]

    def sprintf(self, template: str) -> str:
        """StringInterpolation.evaluate for %{field} references."""
        out: list[str] = []
        position = 0
        while True:
            start = template.find("%{", position)
            end = template.find("}", start) if start >= 0 else -1
            if start < 0 or end < 0:
                out.append(template[position:])
                return "".join(out)
            out.append(template[position:start])
            reference = template[start + 2:end]
            if reference.startswith(("+", "{")):
                raise NotModelled("time formats in sprintf")
            value = self.get(reference) if _valid_reference(reference) else None
            if value is None:
                out.append("%{" + reference + "}")
            elif isinstance(value, list):
                out.append(_join_java(value))
            elif isinstance(value, dict):
                out.append(json.dumps(_to_json_value(value), separators=(",", ":"), ensure_ascii=False))
            else:
                out.append(java_to_string(value))
            position = end + 1

    def to_json(self) -> dict[str, Any]:
        """What the json codec writes (Event#toJson: the data without @metadata), read back as JSON."""
        result: dict[str, Any] = json.loads(json.dumps(_to_json_value(self.data)))
        return result


def _valid_reference(reference: str) -> bool:
    try:
        field_path(reference)
    except NotModelled:
        return False
    return True


def _join_java(values: list[Any]) -> str:
    """KeyNode.join(list, ","): null as "", nested lists joined too."""
    return ",".join("" if v is None else _join_java(v) if isinstance(v, list) else java_to_string(v)
                    if not isinstance(v, dict) else json.dumps(_to_json_value(v)) for v in values)


def _to_json_value(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _to_json_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_json_value(v) for v in value]
    if isinstance(value, Timestamp):
        return str(value)
    if isinstance(value, Decimal):
        return float(value)
    return value


def _deep_copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_copy(v) for v in value]
    return value


def _ruby_array(value: Any) -> list[Any]:
    """Kernel#Array: nil -> [], an array as it is, a hash as its pairs, anything else wrapped."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        return [[k, v] for k, v in value.items()]
    return [value]


# --- mutate conversions (logstash-filter-mutate 3.5.9 on JRuby 9.4) -------------------------------------

_RUBY_INT = re.compile(r"[ \t\n\v\f\r]*([+-]?[0-9]+(?:_[0-9]+)*)")
_RUBY_FLOAT = re.compile(r"[ \t\n\v\f\r]*[+-]?[0-9]+(?:_[0-9]+)*(?:\.[0-9]+(?:_[0-9]+)*)?"
                         r"(?:[eE][+-]?[0-9]+(?:_[0-9]+)*)?[ \t\n\v\f\r]*")
_RUBY_HEX_FLOAT = re.compile(r"[ \t\n\v\f\r]*0[xX]([0-9a-f]+)(?:\.([0-9a-f]*))?(?:p([+-]?[0-9]+))?[ \t\n\v\f\r]*")
_RUBY_HEX_INT = re.compile(r"[ \t\n\v\f\r]*([+-]?)0[xX]([0-9a-fA-F]+(?:_[0-9a-fA-F]+)*)[ \t\n\v\f\r]*")
_RUBY_DEC_INT = re.compile(r"[ \t\n\v\f\r]*[+-]?[0-9]+(?:_[0-9]+)*[ \t\n\v\f\r]*")
_BIGDECIMAL = re.compile(r"[ \t\n\v\f\r]*[+-]?(?:[0-9]+(?:_[0-9]+)*)?(?:\.[0-9]+)?(?:[eEdD][+-]?[0-9]+)?[ \t\n\v\f\r]*")
_TRUE = re.compile(r"^(true|t|yes|y|1|1\.0)$", re.IGNORECASE | re.MULTILINE)
_FALSE = re.compile(r"^(false|f|no|n|0|0\.0)$", re.IGNORECASE | re.MULTILINE)


def _ruby_to_i(text: str) -> int:
    """String#to_i: leading whitespace, a sign, digits (single underscores between); 0 if none."""
    match = _RUBY_INT.match(text)
    return int(match.group(1).replace("_", "")) if match else 0


def _kernel_float(text: str) -> float:
    """Kernel#Float of a string on JRuby 9.4 (decimal, or unsigned lower-case hexadecimal)."""
    if _RUBY_FLOAT.fullmatch(text):
        return float(text.strip(_RUBY_WHITESPACE).replace("_", ""))
    hexadecimal = _RUBY_HEX_FLOAT.fullmatch(text)
    if hexadecimal:
        whole, fraction, exponent = hexadecimal.groups()
        value = int(whole, 16) + (int(fraction, 16) / 16 ** len(fraction) if fraction else 0)
        return float(value * 2 ** int(exponent or 0))
    raise RubyError(f'invalid value for Float(): "{text}"')


def _kernel_integer(value: Any) -> int:
    """Kernel#Integer: strings with an optional 0x prefix; floats truncated; no nil, hash or array."""
    if isinstance(value, str):
        hexadecimal = _RUBY_HEX_INT.fullmatch(value)
        if hexadecimal:
            sign, digits = hexadecimal.groups()
            return (-1 if sign == "-" else 1) * int(digits.replace("_", ""), 16)
        if _RUBY_DEC_INT.fullmatch(value):
            return int(value.strip(_RUBY_WHITESPACE).replace("_", ""))
        raise RubyError(f'invalid value for Integer(): "{value}"')
    if isinstance(value, float):
        if not math.isfinite(value):
            raise RubyError("FloatDomainError")
        return int(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise RubyError("FloatDomainError")
        return int(value)
    if _is_int(value):
        return int(value)
    raise RubyError(f"can't convert {type(value).__name__} into Integer")


def _parse_signed_hex(value: str) -> float | None:
    """mutate's parse_signed_hex_str when Float() cannot read a signed hex string (JRuby 9.4)."""
    if not re.search(r"^[+-]?0x", value, re.IGNORECASE | re.MULTILINE):
        return None
    sign = -1 if value.startswith("-") else 1
    unsigned = re.sub(r"^[+-]", "", value, count=1, flags=re.MULTILINE)
    return sign * _kernel_float(unsigned)


def convert_integer(value: Any) -> Any:
    if isinstance(value, str):
        value = ruby_strip(value).replace(",", "").lower()
    if value is True:
        return 1
    if value is False:
        return 0
    if _is_int(value):
        return value
    if isinstance(value, str):
        signed = _parse_signed_hex(value)
        if signed is not None:
            return _kernel_integer(value) if value.count(".") == 0 else _kernel_integer(signed)
        if "e" in value:
            if not _BIGDECIMAL.fullmatch(value):
                raise RubyError(f"invalid value for BigDecimal(): \"{value}\"")
            try:
                return int(Decimal(value.strip(_RUBY_WHITESPACE).replace("_", "").replace("d", "e")))
            except (InvalidOperation, ValueError):
                raise RubyError(f"invalid value for BigDecimal(): \"{value}\"") from None
        return _ruby_to_i(value)
    return _kernel_integer(value)


def convert_float(value: Any) -> Any:
    if isinstance(value, str):
        value = ruby_strip(value).replace(",", "").lower()
    if value is True:
        return 1.0
    if value is False:
        return 0.0
    if isinstance(value, float):
        return value
    if isinstance(value, str):
        signed = _parse_signed_hex(value)
        if signed is not None:
            return signed
        return _kernel_float(value)
    if _is_int(value) or isinstance(value, Decimal):
        return float(value)
    raise RubyError(f"can't convert {type(value).__name__} into Float")


def convert_boolean(value: Any) -> Any:
    text = ruby_to_s(value)
    if _TRUE.search(text):
        return True
    if not text or _FALSE.search(text):
        return False
    return value  # "Failed to convert ... into boolean": unchanged


def convert_string(value: Any) -> Any:
    return ruby_to_s(value)


_CONVERTERS: dict[str, Callable[[Any], Any]] = {"integer": convert_integer, "float": convert_float,
                                                "boolean": convert_boolean, "string": convert_string}


# --- the date filter (Joda) --------------------------------------------------------------------------------

_MONTH_MAX = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_HALFDAY = {"am": 0, "pm": 1}


@dataclass
class _Parsed:
    fields: dict[str, int] = field(default_factory=dict)
    offset_ms: int | None = None


def _tokens(pattern: str) -> list[str]:
    """DateTimeFormat.parseToken: runs of one letter, quoted literals ('' is a quote), other characters."""
    tokens: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c.isalpha():
            j = i
            while j < len(pattern) and pattern[j] == c:
                j += 1
            tokens.append(pattern[i:j])
            i = j
        elif c == "'":
            j, text = i + 1, ""
            while j < len(pattern):
                if pattern[j] == "'":
                    if j + 1 < len(pattern) and pattern[j + 1] == "'":
                        text += "'"
                        j += 2
                        continue
                    break
                text += pattern[j]
                j += 1
            tokens.append("'" + (text or "'"))
            i = j + 1
        else:
            tokens.append("'" + c)
            i += 1
    return tokens


def _numeric(token: str) -> bool:
    return not token.startswith("'") and (token[0] in "CDFHKSWYcdefhkmsuwxy" or (token[0] == "M" and len(token) <= 2))


def _number(text: str, position: int, max_digits: int, signed: bool) -> tuple[int, int]:
    """NumberFormatter.parseInto: up to max_digits digits (a sign first when signed)."""
    limit = min(max_digits, len(text) - position)
    length = 0
    sign = 1
    if signed and limit > 0 and text[position] in "+-" and text[position + 1:position + 2].isdigit():
        sign = -1 if text[position] == "-" else 1
        position += 1
        limit = min(limit, len(text) - position)
    while length < limit and "0" <= text[position + length] <= "9":
        length += 1
    if length == 0:
        raise ValueError("no digits")
    return sign * int(text[position:position + length]), position + length


def _offset(text: str, position: int, zero: str | None) -> tuple[int, int]:
    """TimeZoneOffset.parseInto: the zero text ("Z"), or ±HH[[:]mm[[:]ss]]."""
    if zero and text[position:position + len(zero)].upper() == zero.upper():
        return 0, position + len(zero)
    if position >= len(text) - 1 or text[position] not in "+-":
        raise ValueError("no offset")
    negative = text[position] == "-"
    position += 1
    if not text[position:position + 2].isdigit() or len(text[position:position + 2]) < 2:
        raise ValueError("offset hours")
    hours = int(text[position:position + 2])
    if hours > 23:
        raise ValueError("offset hours")
    offset = hours * 3_600_000
    position += 2
    separators = False
    if position < len(text) and text[position] == ":":
        separators, position = True, position + 1
    elif not (position < len(text) and text[position].isdigit()):
        return (-offset if negative else offset), position
    digits = text[position:position + 2]
    if len(digits) < 2 or not digits.isdigit():
        raise ValueError("offset minutes")
    if int(digits) > 59:
        raise ValueError("offset minutes")
    offset += int(digits) * 60_000
    position += 2
    if position < len(text) and (text[position] == ":" if separators else text[position].isdigit()):
        raise NotModelled("offsets with seconds")
    return (-offset if negative else offset), position


def _compile_pattern(pattern: str) -> list[Callable[[str, int, _Parsed], int]]:
    """DateTimeFormat.parsePatternTo for the letters y M d H h m s S a Z and literals."""
    tokens = _tokens(pattern)
    steps: list[Callable[[str, int, _Parsed], int]] = []
    for index, token in enumerate(tokens):
        following_numeric = index + 1 < len(tokens) and _numeric(tokens[index + 1])
        letter, count = token[0], len(token)
        if letter == "'":
            literal = token[1:]
            steps.append(lambda t, p, r, literal=literal: p + len(literal) if t.startswith(literal, p) else _fail())
        elif letter == "y":
            if count == 2:
                raise NotModelled("two-digit years")
            steps.append(_field_step("year", count if following_numeric else 9, signed=True))
        elif letter == "M" and count <= 2:
            steps.append(_field_step("month", 2))
        elif letter == "d":
            steps.append(_field_step("day", 2 if count <= 2 else count))
        elif letter == "H":
            steps.append(_field_step("hour", 2 if count <= 2 else count))
        elif letter == "h":
            steps.append(_field_step("clockhour", 2 if count <= 2 else count))
        elif letter == "m":
            steps.append(_field_step("minute", 2 if count <= 2 else count))
        elif letter == "s":
            steps.append(_field_step("second", 2 if count <= 2 else count))
        elif letter == "S":
            steps.append(_fraction_step(count))
        elif letter == "a":
            steps.append(_halfday_step)
        elif letter == "Z" and count <= 2:
            steps.append(_offset_step)
        else:
            raise NotModelled(f"Joda pattern letter {token!r}")
    return steps


def _fail() -> int:
    raise ValueError("literal")


def _field_step(name: str, max_digits: int, signed: bool = False) -> Callable[[str, int, _Parsed], int]:
    def step(text: str, position: int, result: _Parsed) -> int:
        value, position = _number(text, position, max_digits, signed)
        result.fields[name] = value
        return position
    return step


def _fraction_step(max_digits: int) -> Callable[[str, int, _Parsed], int]:
    """Fraction.parseInto: the digits are the most significant; milliseconds truncated."""
    def step(text: str, position: int, result: _Parsed) -> int:
        digits = ""
        while len(digits) < max_digits and position < len(text) and "0" <= text[position] <= "9":
            digits += text[position]
            position += 1
        if not digits:
            raise ValueError("no fraction")
        result.fields["millis"] = int((digits + "000")[:3])
        return position
    return step


def _halfday_step(text: str, position: int, result: _Parsed) -> int:
    """TextField.parseInto for halfday in English: AM/PM as written, lower- or upper-case."""
    for word in ("AM", "PM", "am", "pm"):
        if text.startswith(word, position):
            result.fields["halfday"] = _HALFDAY[word.lower()]
            return position + 2
    raise ValueError("halfday")


def _offset_step(text: str, position: int, result: _Parsed) -> int:
    result.offset_ms, position = _offset(text, position, "Z")
    return position


def _instant(result: _Parsed, zone: ZoneInfo) -> int:
    """DateTimeParserBucket.computeMillis: checked fields, the parsed offset or the zone (no time in a gap)."""
    f = result.fields
    year, month, day = f.get("year", 1970), f.get("month", 1), f.get("day", 1)
    if "clockhour" in f:
        if not 1 <= f["clockhour"] <= 12:
            raise ValueError("clockhour")
        hour = f["clockhour"] % 12 + 12 * f.get("halfday", 0)
    else:
        hour = f.get("hour", 0)
        if "halfday" in f:
            raise NotModelled("halfday with hour of day")
    minute, second, millis = f.get("minute", 0), f.get("second", 0), f.get("millis", 0)
    if not (1 <= month <= 12 and 1 <= day <= _MONTH_MAX[month - 1] and 0 <= hour <= 23 and 0 <= minute <= 59
            and 0 <= second <= 59):
        raise ValueError("field out of range")
    # a naive local time, placed in the zone below; datetime() raises for Feb 29 of other years
    local = datetime(year, month, day, hour, minute, second, millis * 1000)  # noqa: DTZ001
    if result.offset_ms is not None:
        moment = local.replace(tzinfo=UTC) - timedelta(milliseconds=result.offset_ms)
    else:
        moment = local.replace(tzinfo=zone, fold=0)
        back = moment.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
        if back != local:
            raise ValueError("Illegal instant due to time zone offset transition")
    return int((moment - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(milliseconds=1))


def joda_parse(pattern: str, text: str, zone: ZoneInfo) -> int:
    """DateTimeFormat.forPattern(pattern).withZone(zone).parseMillis(text); ValueError when it fails."""
    result = _Parsed()
    position = 0
    for step in _compile_pattern(pattern):
        if position > len(text):
            raise ValueError("short")
        position = step(text, position, result)
    if position != len(text):
        raise ValueError("text left over")
    return _instant(result, zone)


def _iso_date_time(text: str, zone: ZoneInfo) -> int:
    """ISODateTimeFormat.dateTimeParser for calendar dates: yyyy[-MM[-dd]] [T HH[:mm[:ss]][(.|,)fraction]]
    [offset] (week dates, ordinal dates and times without a date are not modelled)."""
    result = _Parsed()
    year, position = _number(text, 0, 9, signed=True)
    result.fields["year"] = year
    for name in ("month", "day"):
        if position < len(text) and text[position] == "-":
            value, position = _number(text, position + 1, 2, False)
            result.fields[name] = value
        else:
            break
    if position < len(text) and text[position] == "W":
        raise NotModelled("ISO week dates")
    if position < len(text) and text[position] == "T":
        position += 1
        if position < len(text) and text[position].isdigit():
            for name, separator in (("hour", ""), ("minute", ":"), ("second", ":")):
                if separator:
                    if position < len(text) and text[position] == ":":
                        position += 1
                    else:
                        break
                value, position = _number(text, position, 2, False)
                result.fields[name] = value
            if position < len(text) and text[position] in ".,":
                if "second" not in result.fields:
                    raise NotModelled("fractions of minutes or hours")
                position = _fraction_step(9)(text, position + 1, result)
        if position < len(text):
            result.offset_ms, position = _offset(text, position, "Z")
    if position != len(text):
        raise ValueError("text left over")
    return _instant(result, zone)


_CASUAL_PATTERNS = ("yyyy-MM-dd HH:mm:ss.SSSZ", "yyyy-MM-dd HH:mm:ss.SSS", "yyyy-MM-dd HH:mm:ss,SSSZ",
                    "yyyy-MM-dd HH:mm:ss,SSS")


def casual_iso8601(text: str, zone: ZoneInfo) -> int:
    """CasualISO8601Parser: dateTimeParser, then four space-separated patterns."""
    for parse in (lambda: _iso_date_time(text, zone),
                  *(lambda p=p: joda_parse(p, text, zone) for p in _CASUAL_PATTERNS)):
        try:
            return parse()
        except ValueError:
            continue
    raise ValueError(f"Invalid format: {text!r}")


_MAX_EPOCH_SECONDS = 2**31 - 1


def _java_long(text: str) -> int:
    if not re.fullmatch(r"[+-]?[0-9]+", text):
        raise ValueError(f"For input string: {text!r}")
    value = int(text)
    if not -(2**63) <= value < 2**63:
        raise ValueError("out of range")
    return value


def _unix(text: str) -> int:
    """UnixEpochParser.parse(String): the fraction's first three digits are milliseconds."""
    if "." in text:
        dot = text.index(".")
        seconds = _java_long(text[:dot])
        if seconds > _MAX_EPOCH_SECONDS:
            raise ValueError("larger than UNIX epoch maximum seconds")
        digits = text[dot + 1:dot + 4]
        return seconds * 1000 + (int(digits) * 10 ** (3 - len(digits)) if digits else 0)
    seconds = _java_long(text)
    if seconds > _MAX_EPOCH_SECONDS:
        raise ValueError("larger than UNIX epoch maximum seconds")
    return seconds * 1000


# --- file names (Dir.glob and File.fnmatch) -------------------------------------------------------------

def _glob_regex(pattern: str, braces: bool) -> str:
    out: list[str] = []
    i = 0
    depth = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = pattern.index("]", i + 1)
            out.append("[" + pattern[i + 1:end].replace("\\", "\\\\") + "]")
            i = end
        elif c == "{" and braces:
            out.append("(?:")
            depth += 1
        elif c == "}" and braces and depth:
            out.append(")")
            depth -= 1
        elif c == "," and braces and depth:
            out.append("|")
        elif c == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 1
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


def glob_match(pattern: str, name: str) -> bool:
    """Dir.glob's match of one path component (braces expanded; * and ? never match a leading dot)."""
    if name.startswith("."):
        return False
    return re.fullmatch(_glob_regex(pattern, braces=True), name) is not None


def fnmatch(pattern: str, name: str) -> bool:
    """File.fnmatch(pattern, name) with no flags (no braces; a leading dot needs a literal dot)."""
    if name.startswith(".") and not pattern.startswith("."):
        return False
    return re.fullmatch(_glob_regex(pattern, braces=False), name) is not None


def read_lines(name: str, content: bytes) -> Iterator[str]:
    """The lines the file input hands to the codec: a plain file split at "\\n" (BufferedTokenizer, the
    last line flushed at the end); a ".gz" file decompressed and read by Java's BufferedReader (UTF-8 with
    U+FFFD for bad bytes, lines end at \\n, \\r or \\r\\n)."""
    if name.endswith((".gz", ".gzip")):
        text = gzip.decompress(content).decode("utf-8", "replace")
        yield from re.split(r"\r\n|\r|\n", text)[:-1] if re.search(r"(?:\r\n|\r|\n)\Z", text) else re.split(
            r"\r\n|\r|\n", text)
        return
    pieces = content.split(b"\n")
    for number, piece in enumerate(pieces):
        if number == len(pieces) - 1 and not piece:
            break
        yield piece.decode("utf-8") if _valid_utf8(piece) else ruby_inspect(piece)[1:-1]


def _valid_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


# --- the pipeline --------------------------------------------------------------------------------------

_VARIABLE = re.compile(r"\$\{([A-Za-z_.][A-Za-z0-9_.]*)(?::([^}]*))?\}")


@dataclass(frozen=True, slots=True)
class Output:
    """One event an output sent: the Kafka topic and the JSON document."""

    topic: str
    document: dict[str, Any]


class Pipeline:
    """A parsed pipeline config run against lines of files. ``hash_order`` is how hash options iterate:
    ``java`` (java.util.HashMap, as Logstash), ``file`` or ``reverse`` (to show what depends on it)."""

    def __init__(self, config: Config, env: Mapping[str, str] | None = None, hash_order: str = "java",
                 host: str = "logstash-test", now: Callable[[], int] | None = None) -> None:
        if hash_order not in HASH_ORDERS:
            raise ValueError(hash_order)
        self._config = config
        self._env = dict(env or {})
        self._order = hash_order
        self._host = host
        self._now = now or (lambda: int(datetime.now(UTC).timestamp() * 1000))
        self._options: dict[int, tuple[Plugin, dict[str, Any]]] = {}  # the plugin is kept so its id stays its own
        (inputs,) = [node for node in config.section("input")]
        if not isinstance(inputs, Plugin) or inputs.name != "file":
            raise NotModelled("inputs other than one file input")
        self.file_input = self._expanded(inputs)

    # --- configuration values ---

    def _expand(self, value: Any) -> Any:
        """CompiledPipeline.expandConfigVariables: ${VAR} and ${VAR:default} in every string."""
        if isinstance(value, str):
            def variable(match: re.Match[str]) -> str:
                name, default = match.groups()
                if name in self._env:
                    return self._env[name]
                if default is None:
                    raise NotModelled(f"${{{name}}} without a value")
                return default
            expanded = _VARIABLE.sub(variable, value)
            return Bareword(expanded) if isinstance(value, Bareword) else expanded
        if isinstance(value, list):
            return [self._expand(v) for v in value]
        if isinstance(value, dict):
            return {self._expand(k): self._expand(v) for k, v in value.items()}
        return value

    def _expanded(self, plugin: Plugin) -> dict[str, Any]:
        if id(plugin) not in self._options:
            self._options[id(plugin)] = (plugin, self._expand_options(plugin))
        return self._options[id(plugin)][1]

    def _expand_options(self, plugin: Plugin) -> dict[str, Any]:
        options: dict[str, Any] = {}
        for key, value in plugin.attributes:
            options[key] = value if isinstance(value, Plugin) else self._expand(value)
        return options

    # --- the file input ---

    def reads(self, directory: str, name: str) -> bool:
        """Whether the file input reads ``directory/name`` (Dir.glob of each path, minus exclude)."""
        matched = False
        for path in self.file_input["path"]:
            folder, _, pattern = path.rpartition("/")
            if folder == directory and glob_match(pattern, name):
                matched = True
        return matched and not any(fnmatch(p, name) for p in self.file_input.get("exclude", []))

    def run_file(self, path: str, content: bytes) -> list[Output]:
        """The outputs of every line of a file the input reads (none if it does not read it)."""
        directory, _, name = path.rpartition("/")
        if not self.reads(directory, name):
            return []
        outputs: list[Output] = []
        for line in read_lines(name, content):
            outputs += self.run_line(line, path)
        return outputs

    def _codec(self) -> None:
        codec = self.file_input.get("codec")
        if not (isinstance(codec, Plugin) and codec.name == "plain" and codec.get("charset") == "UTF-8"):
            raise NotModelled("codecs other than plain with charset UTF-8")

    def run_line(self, message: str, path: str) -> list[Output]:
        """One line as the file input and the plain codec make it an event (ECS v8), through the filters
        and the outputs."""
        self._codec()
        event = Event(data={"@timestamp": Timestamp(self._now()), "@version": "1", "message": message,
                            "event": {"original": message}, "host": {"name": self._host},
                            "log": {"file": {"path": path}}},
                      metadata={"host": self._host, "path": path})
        self._run(self._config.section("filter"), event)
        if event.cancelled:
            return []
        outputs: list[Output] = []
        self._outputs(self._config.section("output"), event, outputs)
        return outputs

    # --- filters, branches and conditions ---

    def _run(self, nodes: tuple[Plugin | Branch, ...], event: Event) -> None:
        for node in nodes:
            if event.cancelled:
                return
            if isinstance(node, Branch):
                for clause in node.clauses:
                    if clause.expression is None or self._true(clause.expression, event):
                        self._run(clause.body, event)
                        break
            else:
                self._filter(node, event)

    def _outputs(self, nodes: tuple[Plugin | Branch, ...], event: Event, outputs: list[Output]) -> None:
        for node in nodes:
            if isinstance(node, Branch):
                for clause in node.clauses:
                    if clause.expression is None or self._true(clause.expression, event):
                        self._outputs(clause.body, event, outputs)
                        break
                continue
            options = self._expanded(node)
            if node.name != "kafka" or options.get("codec") != "json":
                raise NotModelled(f"output {node.name}")
            outputs.append(Output(event.sprintf(options["topic_id"]), event.to_json()))

    def _value(self, operand: Any, event: Event) -> Any:
        if isinstance(operand, Field):
            return event.get(operand.reference)
        if isinstance(operand, Regexp):
            raise NotModelled("a regexp as a value")
        return operand

    def _true(self, expression: Expression, event: Event) -> bool:
        """EventCondition: truthiness (null, "" and "false" are false), ==, !=, =~, !~, in, and, or, not."""
        op = expression[0]
        if op == "and":
            return self._true(expression[1], event) and self._true(expression[2], event)
        if op == "or":
            return self._true(expression[1], event) or self._true(expression[2], event)
        if op == "not":
            return not self._true(expression[1], event)
        if op == "truthy":
            value = self._value(expression[1], event)
            if value is None:
                return False
            text = java_to_string(value) if not isinstance(value, (list, dict)) else "[..]"
            return text not in ("", "false")
        left, right = expression[1], expression[2]
        if op in ("=~", "!~"):
            value = self._value(left, event)
            pattern = right.pattern if isinstance(right, Regexp) else right
            matched = isinstance(value, str) and ruby_regex(pattern).search(value) is not None
            return matched if op == "=~" else not matched
        if op in ("==", "!="):
            if isinstance(left, Field) and isinstance(right, Field):
                equal = _java_equals(event.lookup(left.reference), event.lookup(right.reference))
            elif isinstance(left, Field) or isinstance(right, Field):
                reference, constant = (left, right) if isinstance(left, Field) else (right, left)
                equal = _ruby_equals(constant, event.get(reference.reference))
            else:
                equal = left == right
            return equal if op == "==" else not equal
        if op in ("in", "not in"):
            found = self._in(left, right, event)
            return found if op == "in" else not found
        raise NotModelled(f"condition operator {op}")

    def _in(self, left: Any, right: Any, event: Event) -> bool:
        if isinstance(right, Field) and isinstance(left, str):  # ConstantStringInField
            found = event.get(right.reference)
            return (isinstance(found, str) and left in found) or (isinstance(found, list) and left in found)
        if isinstance(left, Field) and isinstance(right, list):  # FieldInConstantList
            found = event.get(left.reference)
            return found is not None and any(java_to_string(v) == java_to_string(found) for v in right
                                             if not isinstance(found, (list, dict)))
        raise NotModelled("this form of in")

    def _filter(self, plugin: Plugin, event: Event) -> None:
        options = self._expanded(plugin)
        handlers = {"mutate": self._mutate, "json": self._json, "kv": self._kv, "date": self._date,
                    "drop": self._drop, "prune": self._prune}
        if plugin.name not in handlers:
            raise NotModelled(f"filter {plugin.name}")
        known = {"add_field", "remove_field", "add_tag", "remove_tag", "tag_on_failure", "id"}
        handlers[plugin.name](options, event, known)

    def _unknown(self, options: Mapping[str, Any], known: set[str]) -> None:
        unknown = set(options) - known
        if unknown:
            raise NotModelled(f"options {sorted(unknown)}")

    def _filter_matched(self, options: Mapping[str, Any], event: Event) -> None:
        """Filters::Base#filter_matched: add_field (appending to an existing field), remove_field, add_tag,
        remove_tag."""
        for name, values in _ordered(options.get("add_field", {}), self._order):
            name = event.sprintf(name)
            for value in _ruby_array(values):
                value = event.sprintf(value)
                if event.includes(name):
                    event.set(name, [*_ruby_array(event.get(name)), value])
                else:
                    event.set(name, value)
        for name in options.get("remove_field", []):
            event.remove(event.sprintf(name))
        for tag in options.get("add_tag", []):
            event.tag(event.sprintf(tag))
        remove = options.get("remove_tag", [])
        if remove and event.get("tags") is not None:
            tags = list(_ruby_array(event.get("tags")))
            for tag in remove:
                tag = event.sprintf(tag)
                tags = [t for t in tags if t != tag]
            event.set("tags", tags)

    # --- plugins ---

    def _mutate(self, options: dict[str, Any], event: Event, known: set[str]) -> None:
        operations = ("rename", "replace", "convert", "gsub", "lowercase", "strip", "join", "merge", "copy")
        self._unknown(options, known | set(operations))
        try:
            for operation in operations:  # the order of LogStash::Filters::Mutate#filter
                if operation in options:
                    getattr(self, f"_mutate_{operation}")(options[operation], event)
        except RubyError:
            event.tag(options.get("tag_on_failure", "_mutate_error"))
            return
        self._filter_matched(options, event)

    def _mutate_rename(self, entries: dict[str, str], event: Event) -> None:
        for old, new in _ordered(entries, self._order):
            old, new = event.sprintf(old), event.sprintf(new)
            if event.includes(old):
                event.set(new, event.remove(old))

    def _mutate_replace(self, entries: dict[str, str], event: Event) -> None:
        for name, value in _ordered(entries, self._order):
            event.set(name, event.sprintf(value))

    def _mutate_convert(self, entries: dict[str, str], event: Event) -> None:
        for name, kind in _ordered(entries, self._order):
            if not event.includes(name):
                continue
            original = event.get(name)
            converter = _CONVERTERS[kind]
            if isinstance(original, dict) or original is None:
                continue
            if isinstance(original, list):
                event.set(name, [v if v is None else converter(v) for v in original])
            else:
                event.set(name, converter(original))

    def _mutate_gsub(self, entries: list[str], event: Event) -> None:
        for name, needle, replacement in (entries[i:i + 3] for i in range(0, len(entries), 3)):
            if "%{" in needle:
                raise NotModelled("gsub patterns with %{...}")
            value = event.get(name)
            regex = ruby_regex(needle)
            if isinstance(value, str):
                event.set(name, regex.sub(_ruby_replacement(event.sprintf(replacement)), value))
            elif isinstance(value, list):
                event.set(name, [regex.sub(_ruby_replacement(event.sprintf(replacement)), v) if isinstance(v, str)
                                 else v for v in value])

    def _mutate_lowercase(self, names: list[str], event: Event) -> None:
        for name in names:
            value = event.get(name)
            if isinstance(value, str):
                event.set(name, value.lower())
            elif isinstance(value, list):
                event.set(name, [v.lower() if isinstance(v, str) else v for v in value])

    def _mutate_strip(self, names: list[str], event: Event) -> None:
        for name in names:
            value = event.get(name)
            if isinstance(value, str):
                event.set(name, ruby_strip(value))
            elif isinstance(value, list):
                event.set(name, [ruby_strip(v) for v in value])

    def _mutate_join(self, entries: dict[str, str], event: Event) -> None:
        def flat(values: list[Any]) -> list[str]:
            return [piece for v in values for piece in (flat(v) if isinstance(v, list) else [ruby_to_s(v)])]
        for name, separator in _ordered(entries, self._order):
            value = event.get(name)
            if isinstance(value, list):
                event.set(name, separator.join(flat(value)))

    def _mutate_merge(self, entries: dict[str, str], event: Event) -> None:
        for destination, added in _ordered(entries, self._order):
            destination_value = event.get(destination)
            for source in _ruby_array(added):
                added_value = event.get(source)
                if isinstance(destination_value, dict) != isinstance(added_value, dict):
                    continue  # "Not possible to merge an array and a hash"
                if isinstance(destination_value, dict):
                    raise NotModelled("merging hashes")
                event.set(destination, [*_ruby_array(destination_value), *_ruby_array(added_value)])

    def _mutate_copy(self, entries: dict[str, str], event: Event) -> None:
        for source, destination in _ordered(entries, self._order):
            original = event.get(source)
            if original is not None:
                event.set(destination, _deep_copy(original))

    def _json(self, options: dict[str, Any], event: Event, known: set[str]) -> None:
        self._unknown(options, known | {"source", "target"})
        if "target" not in options:
            raise NotModelled("the json filter without a target")
        source = event.get(options["source"])
        if source is None or source is False:
            return
        try:
            parsed = json_load(source)
        except RubyError:
            for tag in options.get("tag_on_failure", ["_jsonparsefailure"]):
                event.tag(tag)
            return
        event.set(options["target"], parsed)
        self._filter_matched(options, event)

    def _kv(self, options: dict[str, Any], event: Event, known: set[str]) -> None:
        """kv.rb: the scan regexp built from field_split, value_split, whitespace and include_brackets."""
        self._unknown(options, known | {"source", "target", "field_split", "value_split", "whitespace",
                                        "include_brackets"})
        field_split, value_split = options.get("field_split", " "), options.get("value_split", "=")
        if "field_split_pattern" in options or "value_split_pattern" in options:
            raise NotModelled("kv split patterns")
        lenient = options.get("whitespace", "lenient") == "lenient"
        value_split_pattern = f"[{value_split}]" if not lenient else f" *[{value_split}] *"
        key = rf"((?:\\.|[^{re.escape(value_split + field_split)}])+)"
        quoted = [r'"((?:\\.|[^"])+)?"', r"'((?:\\.|[^'])+)?'"]
        if options.get("include_brackets", "true") not in (False, "false"):
            quoted += [r"\(((?:\\.|[^)])+)?\)", r"\[((?:\\.|[^\]])+)?\]", r"<((?:\\.|[^>])+)?>"]
        unquoted = rf"((?:\\.|[^{re.escape(field_split)}])+)"
        value = "(?:" + "|".join(f"(?:{p})" for p in [*quoted, unquoted]) + ")"
        scan = re.compile(rf"{key}{value_split_pattern}{value}?(?:[{re.escape(field_split)}]|(?m:$))")
        text = event.get(options.get("source", "message"))
        found: dict[str, Any] = {}
        if isinstance(text, str) and re.search(value_split_pattern, text):
            for match in scan.finditer(text):
                name, *candidates = match.groups()
                item = next((c for c in candidates if c is not None), "")
                if not item:
                    continue  # allow_empty_values is false
                if name in found:
                    found[name] = [*found[name], item] if isinstance(found[name], list) else [found[name], item]
                else:
                    found[name] = item
        if not found:
            return
        if "target" in options:
            event.set(options["target"], found)
        else:
            raise NotModelled("kv without a target")
        self._filter_matched(options, event)

    def _date(self, options: dict[str, Any], event: Event, known: set[str]) -> None:
        """DateFilter: each format in turn; the first that parses sets the target (@timestamp or a field)."""
        self._unknown(options, known | {"match", "target", "timezone", "locale"})
        source, *formats = options["match"]
        if options.get("locale", "en") != "en":
            raise NotModelled("locales other than en")
        zone = ZoneInfo(options.get("timezone", "UTC"))
        value = event.get(source)
        if value is None:
            return
        for fmt in formats:
            try:
                millis = self._parse_date(fmt, value, zone)
            except ValueError:
                continue
            event.set(options.get("target", "@timestamp"), Timestamp(millis))
            self._filter_matched(options, event)
            return
        for tag in options.get("tag_on_failure", ["_dateparsefailure"]):
            event.tag(tag)

    def _parse_date(self, fmt: str, value: Any, zone: ZoneInfo) -> int:
        if fmt in ("UNIX", "UNIX_MS"):  # NumericParserExecutor
            if isinstance(value, str):
                return _unix(value) if fmt == "UNIX" else _java_long(value)
            raise NotModelled("numeric values in the date filter")
        if not isinstance(value, str):  # TextParserExecutor: "Cannot parse date for value of type ..."
            raise ValueError("not a string")
        if fmt == "ISO8601":
            return casual_iso8601(value, zone)
        if fmt == "TAI64N":
            raise NotModelled("TAI64N")
        return joda_parse(fmt, value, zone)

    def _drop(self, options: dict[str, Any], event: Event, known: set[str]) -> None:
        self._unknown(options, set())
        event.cancelled = True

    def _prune(self, options: dict[str, Any], event: Event, known: set[str]) -> None:
        self._unknown(options, known | {"whitelist_names"})
        allowed = [ruby_regex(p) for p in options["whitelist_names"]]
        for name in list(event.data):
            if not any(p.search(name) for p in allowed):
                event.data.pop(name)
        self._filter_matched(options, event)


def _java_equals(left: Any, right: Any) -> bool:
    """Objects.equals of two stored values (a missing field is null)."""
    left = None if left is _MISSING else left
    right = None if right is _MISSING else right
    if type(left) is not type(right) and not (_is_int(left) and _is_int(right)):
        return False
    return bool(left == right)


def _ruby_equals(constant: Any, value: Any) -> bool:
    """A constant compared with a field: RubyString equals only a string of the same text, a number only an
    equal number."""
    if isinstance(constant, str):
        return isinstance(value, str) and value == constant
    if isinstance(constant, (int, float)) and not isinstance(value, bool):
        return isinstance(value, (int, float, Decimal)) and value == constant
    raise NotModelled(f"== with {type(constant).__name__}")
