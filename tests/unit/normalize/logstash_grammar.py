"""Test helper: a parser for Logstash's pipeline-config language (LSCL), so the generated pipelines can be
checked without Logstash, which cannot run on these machines.

The grammar follows Logstash's own PEG grammar rule by rule (``lscl_grammar.treetop`` in
``logstash-core/lib/logstash/compiler/lscl/`` of elastic/logstash): plugin sections ``input``/``filter``/
``output``; plugins ``name { attribute => value ... }``; values: plugins, barewords, "..."/'...'
strings, numbers, arrays, hashes; ``if``/``else if``/``else`` branches whose conditions use
``== != < > <= >=``, ``in``, ``not in``, ``=~``, ``!~``, ``and/or/xor/nand``, ``!`` and parentheses, over
field references ``[a][b]``, strings, numbers, arrays, regexps and method calls. Whitespace and ``#``
comments are where that grammar allows them: in particular attributes and hash entries must be separated
by whitespace, and arrays take no trailing comma. On top of the grammar it rejects what Logstash's
compiler rejects right after parsing: duplicate keys in a hash, and a plugin called ``if`` or ``else``
(what the PEG makes of an ``else`` with no ``if`` before it).

Why not a PyPI package: ``lscl`` (0.5, CeCILL-C) accepts attributes directly in a section and any block
name at the top level, and rejects a plugin as an attribute value (``codec => json { ... }``), which the
real grammar allows; ``logstash-pipeline-parser`` (0.0.3) accepts ``[1,]`` and ``if {} else {} else {}``,
which Logstash rejects. A strict grammar of ~60 lines on ``lark`` is smaller than either workaround.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from lark import Lark, Token, Transformer, Tree, v_args
from lark.exceptions import LarkError, VisitError

__all__ = ["LogstashSyntaxError", "Bareword", "Plugin", "Branch", "Clause", "Section", "Config", "Field", "Regexp",
           "Expression", "parse_config", "plugins_in", "GRAMMAR"]

# The grammar is written for lark's LALR parser (its Earley parser takes seconds per generated file).
# LALR looks one token ahead, so where the PEG decides by what follows some whitespace, the token carries
# that whitespace: a plugin name with its "{" (PLUGIN_OPEN), "else"/"else if" and the binary operators
# with the whitespace before them. _CS is treetop's `cs` (whitespace and comments); where treetop needs
# `whitespace cs` between attributes or hash entries, one _CS is required (so "a => 1 b => 2" must be
# separated; a separator that starts with a comment rather than a space is accepted here, not by treetop).
# Whitespace is one terminal on purpose: LALR's shared reduce states would otherwise let a second one
# be picked where the first was meant. In strings and regexps a backslash pairs with the closing quote
# or slash whenever it can, as in the PEG, which never backtracks into such a pair (`[\\]"` is a
# backslash then a quote: lark's literal escaping would turn backslash-backslash-quote into a quote).
GRAMMAR = r"""
start: _CS? (plugin_section _CS?)*

plugin_section: PLUGIN_TYPE _CS? "{" _CS? (_branch_or_plugin _CS?)* "}"
_branch_or_plugin: branch | plugin

plugin: PLUGIN_OPEN _CS? (attribute (_CS attribute)* _CS?)? "}"
attribute: _name _CS? "=>" _CS? _value
_name: name_word | number | string
name_word: WORD
_value: plugin | bareword | string | number | array | hash
bareword: WORD
string: DQ_STRING | SQ_STRING
number: NUMBER
array: "[" _CS? (_value (_CS? "," _CS? _value)* _CS?)? "]"
hash: "{" _CS? (hashentry (_CS hashentry)* _CS?)? "}"
hashentry: (number | bareword | string) _CS? "=>" _CS? _value

branch: if_clause else_if_clause* else_clause?
if_clause: IF _CS? condition _CS? "{" _CS? (_branch_or_plugin _CS?)* "}"
else_if_clause: ELSE_IF _CS? condition _CS? "{" _CS? (_branch_or_plugin _CS?)* "}"
else_clause: ELSE _CS? "{" _CS? (_branch_or_plugin _CS?)* "}"

condition: _expression (BOOLEAN_OPERATOR _CS? _expression)*
_expression: "(" _CS? condition _CS? ")" | negative_expression | in_expression | not_in_expression
           | compare_expression | regexp_expression | _rvalue
negative_expression: "!" _CS? "(" _CS? condition _CS? ")" | "!" _CS? selector
in_expression: _rvalue IN _CS? _rvalue
not_in_expression: _rvalue NOT_IN _CS? _rvalue
_rvalue: string | number | selector | array | method_call | regexp
method_call: bareword _CS? "(" _CS? (_rvalue (_CS? "," _CS? _rvalue)* _CS?)? ")"
compare_expression: _rvalue COMPARE_OPERATOR _CS? _rvalue
regexp_expression: _rvalue REGEXP_OPERATOR _CS? (string | regexp)
selector: SELECTOR_ELEMENT+
regexp: REGEXP

_WS: /(?:[ \t\r\n]|#[^\r\n]*\r?\n)*/
_END_OF_WORD: /(?![A-Za-z0-9_-])/
PLUGIN_TYPE: /(?:input|filter|output)/ _END_OF_WORD
WORD: /[A-Za-z0-9_-]+/
DQ_STRING: /"(?:[\\]"|\\(?!")|[^"\\])*"/
SQ_STRING: /'(?:[\\]'|\\(?!')|[^'\\])*'/
NUMBER.2: /-?[0-9]+(?:\.[0-9]*)?/
PLUGIN_OPEN.3: /(?!(?:if|else)(?![A-Za-z0-9_-]))[A-Za-z0-9_-]+/ _WS "{"
             | (DQ_STRING | SQ_STRING) _WS "{"
IF.2: "if" _END_OF_WORD
ELSE_IF.4: _WS "else" _WS "if" _END_OF_WORD
ELSE.3: _WS "else" _END_OF_WORD
BOOLEAN_OPERATOR.3: _WS /(?:and|or|xor|nand)/ _END_OF_WORD
IN.3: _WS "in" _END_OF_WORD
NOT_IN.4: _WS "not " _WS "in" _END_OF_WORD
COMPARE_OPERATOR.3: _WS /(?:==|!=|<=|>=|<|>)/
REGEXP_OPERATOR.4: _WS /(?:=~|!~)/
SELECTOR_ELEMENT.2: /\[[^\]\[,]+\]/
REGEXP: /\/(?:[\\]\/|\\(?!\/)|[^\/\\])*\//
_CS: /(?:[ \t\r\n]|#[^\r\n]*\r?\n)+/
"""

_PARSER = Lark(GRAMMAR, parser="lalr", lexer="contextual", propagate_positions=True)
_BAREWORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]+")
_PLUGIN_NAME = re.compile(r"""[A-Za-z0-9_-]+|"(?:[\\]"|\\(?!")|[^"\\])*"|'(?:[\\]'|\\(?!')|[^'\\])*'""")


_KEYWORDS = frozenset({"if", "else"})


class LogstashSyntaxError(ValueError):
    """The text is not a valid Logstash pipeline config."""


class Bareword(str):
    """An unquoted value (``codec => json``), as opposed to a quoted string."""


@dataclass(frozen=True, slots=True)
class Plugin:
    name: str
    attributes: tuple[tuple[str, Any], ...]

    def get(self, name: str, default: Any = None) -> Any:
        """The value of the last attribute called ``name``."""
        found = [value for key, value in self.attributes if key == name]
        return found[-1] if found else default


@dataclass(frozen=True, slots=True)
class Field:
    """A field reference in a condition (``[a][b]``)."""

    reference: str


@dataclass(frozen=True, slots=True)
class Regexp:
    """A regexp literal in a condition, as Logstash passes it to Ruby (``\\/`` unescaped)."""

    pattern: str


# A condition's tree: ("and"|"or", left, right), ("not", e), ("truthy", Field), ("==" | "!=" | "<" | ...,
# left, right), ("=~" | "!~", left, Regexp | str), ("in" | "not in", left, right); leaves are Field, Regexp or
# values (str, int, float, list).
Expression = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class _Condition:
    text: str
    tree: Expression


@dataclass(frozen=True, slots=True)
class Clause:
    keyword: str            # "if", "else if" or "else"
    condition: str | None   # the condition's source text
    body: tuple[Plugin | Branch, ...]
    expression: Expression | None = None  # the condition's tree


@dataclass(frozen=True, slots=True)
class Branch:
    clauses: tuple[Clause, ...]


@dataclass(frozen=True, slots=True)
class Section:
    kind: str  # input, filter or output
    body: tuple[Plugin | Branch, ...]


@dataclass(frozen=True, slots=True)
class Config:
    sections: tuple[Section, ...]

    def section(self, kind: str) -> tuple[Plugin | Branch, ...]:
        return tuple(node for s in self.sections if s.kind == kind for node in s.body)


@v_args(inline=True)
class _ToConfig(Transformer[Token, Any]):
    def __init__(self, text: str) -> None:
        super().__init__()
        self._text = text

    def start(self, *sections: Section) -> Config:
        return Config(sections)

    def plugin_section(self, kind: Token, *body: Plugin | Branch) -> Section:
        return Section(str(kind), body)

    def plugin(self, opener: Token, *attributes: tuple[str, Any]) -> Plugin:
        match = _PLUGIN_NAME.match(opener)
        assert match is not None  # PLUGIN_OPEN starts with a name
        name = match.group()
        name = name[1:-1] if name[0] in "\"'" else name
        if name in _KEYWORDS:
            # The PEG reads `else { }` with no `if` before it as a plugin called "else", which
            # Logstash then fails to find; say what it really is.
            raise LogstashSyntaxError(f"{name} {{ ... }} without an if before it (or an if without a condition)")
        return Plugin(name, attributes)

    def attribute(self, name: Any, value: Any) -> tuple[str, Any]:
        if isinstance(name, float):
            raise LogstashSyntaxError(f"{name} is not a name")
        return str(name), value

    def name_word(self, token: Token) -> str:
        return str(token)

    def bareword(self, token: Token) -> Bareword:
        if not _BAREWORD.fullmatch(token):
            raise LogstashSyntaxError(f"{token!s} at line {token.line} is not a bareword ([A-Za-z_][A-Za-z0-9_]+)")
        return Bareword(token)

    def string(self, token: Token) -> str:
        return str(token)[1:-1]  # Logstash keeps the text between the quotes as it is (no escapes by default)

    def number(self, token: Token) -> int | float:
        text = str(token)
        return float(text) if "." in text else int(text)

    def array(self, *values: Any) -> list[Any]:
        return list(values)

    def hash(self, *entries: tuple[Any, Any]) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        for key, value in entries:
            if key in result:
                raise LogstashSyntaxError(f"duplicate key {key!r} in a hash")
            result[key] = value
        return result

    def hashentry(self, key: Any, value: Any) -> tuple[Any, Any]:
        return key, value

    def branch(self, *clauses: Clause) -> Branch:
        return Branch(clauses)

    def if_clause(self, keyword: Token, condition: _Condition, *body: Plugin | Branch) -> Clause:
        return Clause("if", condition.text, body, condition.tree)

    def else_if_clause(self, keyword: Token, condition: _Condition, *body: Plugin | Branch) -> Clause:
        return Clause("else if", condition.text, body, condition.tree)

    def else_clause(self, keyword: Token, *body: Plugin | Branch) -> Clause:
        return Clause("else", None, body)

    @v_args(meta=True)
    def condition(self, meta: Any, children: list[Any]) -> _Condition:
        """Operands and operators, joined as lscl.rb's Condition#join_conditions does: "and" binds tighter
        than "or" (Logstash knows no precedence for xor and nand)."""
        operands = [_operand(child) for child in children[::2]]
        operators = [str(token).strip() for token in children[1::2]]
        alternatives = [operands[0]]
        for op, operand in zip(operators, operands[1:], strict=True):
            if op == "or":
                alternatives.append(operand)
            else:  # and (xor and nand are kept as they are; the interpreter refuses them)
                alternatives[-1] = (op, alternatives[-1], operand)
        tree = alternatives[0]
        for alternative in alternatives[1:]:
            tree = ("or", tree, alternative)
        return _Condition(self._text[meta.start_pos:meta.end_pos], tree)

    def negative_expression(self, inner: Any) -> Expression:
        return ("not", _operand(inner))

    def in_expression(self, left: Any, op: Token, right: Any) -> Expression:
        return ("in", left, right)

    def not_in_expression(self, left: Any, op: Token, right: Any) -> Expression:
        return ("not in", left, right)

    def compare_expression(self, left: Any, op: Token, right: Any) -> Expression:
        return (str(op).strip(), left, right)

    def regexp_expression(self, left: Any, op: Token, right: Any) -> Expression:
        return (str(op).strip(), left, right)

    def selector(self, *elements: Token) -> Field:
        return Field("".join(elements))

    def regexp(self, token: Token) -> Regexp:
        return Regexp(str(token)[1:-1].replace("\\/", "/"))

    def method_call(self, name: Any, *arguments: Any) -> Expression:
        return ("method", str(name), *arguments)


def _operand(value: Any) -> Expression:
    """An operand of and/or/not: a parenthesised condition, an expression, or a value tested for truth."""
    if isinstance(value, _Condition):
        return value.tree
    if isinstance(value, tuple):
        return value
    return ("truthy", value)


def parse_config(text: str) -> Config:
    """The parsed config; LogstashSyntaxError says where it is not valid."""
    try:
        tree: Tree[Token] = _PARSER.parse(text)
        config: Config = _ToConfig(text).transform(tree)
    except VisitError as exc:
        raise LogstashSyntaxError(str(exc.orig_exc)) from exc.orig_exc
    except LarkError as exc:
        raise LogstashSyntaxError(str(exc)) from exc
    return config


def plugins_in(nodes: tuple[Plugin | Branch, ...], conditions: tuple[str, ...] = ()
               ) -> Iterator[tuple[Plugin, tuple[str, ...]]]:
    """Every plugin under ``nodes``, with the clauses it sits in (``if <cond>``, ``else``, ...)."""
    for node in nodes:
        if isinstance(node, Plugin):
            yield node, conditions
            continue
        for clause in node.clauses:
            label = f"{clause.keyword} {clause.condition}" if clause.condition else clause.keyword
            yield from plugins_in(clause.body, (*conditions, label))
