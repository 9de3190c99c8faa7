"""Go text/template, the subset Podman's --format flag uses.

Podman renders `--format` with Go's text/template plus the helpers of containers/common
pkg/report. This module is our own implementation of what CLI formats use, so that
`otter ps --format 'table {{.ID}} {{.Names}}'` prints what Podman prints.

Vocabulary:
  format    what the user passed to --format, e.g. 'table {{.ID}}\\t{{.Names}}'.
  template  the format after normalisation (below); `compile_format` parses it once into a
            `Format`, which is then rendered once per record.
  record    what a template is rendered against: a dict (standing for a Go struct or map) or
            a Python object (its attributes are the Go fields).
  dot       the value `.` stands for: the record, narrowed by {{with}} and {{range}}.
  action    a {{...}} element; everything else in a template is text, copied through.
  pipeline  commands separated by '|', each one's value passed as the last argument of the
            next, optionally declaring ($x := ...) or assigning ($x = ...) variables.
  command   a field (.A.B), variable ($x, $x.A), function name, literal, '.', or a
            parenthesised pipeline, followed by its arguments.
  table     a format starting "table ": records become rows under a header row, aligned into
            columns by `render_table` the way Go's tabwriter aligns Podman's.

Normalisation, as Podman does it before parsing: a format starting "table " loses every
"table " in it and has every space turned into a tab (the column separator); in every format
the two-character sequences \\t and \\n become a tab and a newline; a newline is appended
unless the format already ends with one, so `render` returns a record's text with its
newline. When the normalised text does not parse (a \\n inside a quoted string has become a
raw newline), the format is parsed as typed, without the appended newline, as Podman does.

Values print as Go's fmt %v prints them: None as "<no value>" when an action prints it and
"<nil>" inside printf and collections; bools as true/false; floats in Go's shortest form (1.5,
2, 1e+06); lists as [a b]; dicts as map[k:v ...] with sorted keys; objects that define
__str__ by it (Go's Stringer); other objects with fields (a `__template_fields__` hook or a
dataclass) as {v1 v2}; anything else by str().

Fields: on a dict, .Name is the key "Name", else the first key equal to it ignoring case,
else None (Go's missing map key, printed "<no value>"). On an object, .Name is the attribute
`__template_fields__["Name"]` names if the object has that mapping and the key, else the
attribute "Name"; a missing attribute is an error, and a method is called with the
command's arguments. A field of None is None.

The reference is Podman 4.3, built with Go 1.19: no {{range}} over an integer, no
{{else with}}, and json writes \b and \f as \u0008 and \u000c. Deliberate departures: ints
and floats compare with each other (Go refuses to); json keeps a dict's own key order (a dict
may stand for a struct); truncate counts characters (Go cuts bytes, even inside one); parse
errors carry a column; {{define}}, {{template}} and {{block}} are not supported; the header
row of a table shows column names through the functions that would reshape a value, where
Podman shows a reshaped name or fails (see `render_table`). Error columns count characters
from 0 within the line of the normalised template, as Go counts bytes.
"""

from __future__ import annotations

import itertools
import math
import types
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple, NoReturn

from otter.cli.tabwriter import align

__all__ = ["Format", "TemplateError", "compile_format", "render_table"]

_SPACE = " \t\r\n"  # whitespace for Go's template lexer and trim markers
_JSON_FORMAT_SPACE = " \t\n\f\r"  # \s in the expression Podman uses to spot JSON formats
_KEYWORDS = frozenset({"if", "else", "end", "range", "with", "break", "continue", "define", "template", "block"})
_NO_VALUE: Any = object()  # no pipeline value to pass on, or no such attribute


class TemplateError(Exception):
    """A format that does not parse, or a record it cannot be rendered against.

    Messages follow Go's: 'template: :LINE:COL: MESSAGE' when parsing and
    'template: :LINE:COL: executing "" at <NODE>: MESSAGE' when rendering.
    """


class _FuncError(Exception):
    """A template function's failure; the executor says where it happened."""


class _BreakLoop(Exception):
    pass


class _ContinueLoop(Exception):
    pass


def _location(src: str, pos: int) -> str:
    """LINE:COL of an offset, the column counted from 0 as Go counts it."""
    line = src.count("\n", 0, pos) + 1
    column = pos - (src.rfind("\n", 0, pos) + 1)
    return f"{line}:{column}"


def _delimited(word: str) -> str:
    return "{{" + word + "}}"


# -- lexer ------------------------------------------------------------------------------------


class _Token(NamedTuple):
    kind: str  # text {{ }} ( ) | , := = field variable ident keyword dot nil bool number string eof
    value: Any
    pos: int
    end: int
    spaced: bool  # whitespace precedes it inside the action


def _space_at(src: str, i: int) -> bool:
    return i < len(src) and src[i] in _SPACE


def _word_end(src: str, i: int) -> int:
    while i < len(src) and (src[i] == "_" or src[i].isalnum()):
        i += 1
    return i


def _char_repr(ch: str) -> str:
    return f"U+{ord(ch):04X} '{ch}'" if ch.isprintable() else f"U+{ord(ch):04X}"


_DECIMAL_DIGITS = "0123456789_"
_PREFIXED_DIGITS = {"x": "0123456789abcdefABCDEF_", "o": "01234567_", "b": "01_"}  # after 0x, 0o, 0b
_SIMPLE_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\"}
_HEX_ESCAPE_WIDTH = {"x": 2, "u": 4, "U": 8}
_HEX_DIGITS = "0123456789abcdefABCDEF"


def _unquote(body: str, quote: str) -> str | None:
    """The value of a Go quoted string or character literal without its quotes; None if malformed."""
    if "\\" not in body:
        return body
    out: list[str] = []
    i, n = 0, len(body)
    while i < n:
        ch = body[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        escape = body[i + 1 : i + 2]
        if not escape:
            return None
        if escape in _SIMPLE_ESCAPES or escape == quote:
            out.append(_SIMPLE_ESCAPES.get(escape, quote))
            i += 2
        elif escape in _HEX_ESCAPE_WIDTH:
            digits = body[i + 2 : i + 2 + _HEX_ESCAPE_WIDTH[escape]]
            if len(digits) != _HEX_ESCAPE_WIDTH[escape] or not all(d in _HEX_DIGITS for d in digits):
                return None
            code = int(digits, 16)
            if code > 0x10FFFF or 0xD800 <= code < 0xE000:
                return None
            out.append(chr(code))
            i += 2 + len(digits)
        elif escape in "01234567":
            digits = body[i + 1 : i + 4]
            if len(digits) != 3 or not all(d in "01234567" for d in digits) or int(digits, 8) > 255:
                return None
            out.append(chr(int(digits, 8)))
            i += 4
        else:
            return None
    return "".join(out)


def _parse_number(text: str) -> int | float | None:
    """The value of a Go number literal (sign allowed); None if it is not one we support."""
    body = text.lstrip("+-")
    negative = text.startswith("-")
    value: int | float
    try:
        if len(body) > 1 and body[0] == "0" and body[1] in _DECIMAL_DIGITS:
            value = int(body, 8)  # Go reads a leading 0 as octal
        else:
            value = int(body, 0)
    except ValueError:
        try:
            value = float.fromhex(body) if body[:2] in ("0x", "0X") else float(body)
        except ValueError:
            return None
        if math.isinf(value):
            return None
    return -value if negative else value


class _Lexer:
    """Splits a template into tokens: text, delimiters, and the words inside actions."""

    def __init__(self, src: str) -> None:
        self.src = src
        self.tokens: list[_Token] = []
        self.depth = 0  # open parentheses in the current action

    def error(self, pos: int, message: str) -> NoReturn:
        raise TemplateError(f"template: :{_location(self.src, pos)}: {message}")

    def add(self, kind: str, value: Any, pos: int, end: int, spaced: bool = False) -> int:
        self.tokens.append(_Token(kind, value, pos, end, spaced))
        return end

    def run(self) -> list[_Token]:
        src = self.src
        pos, trim_text = 0, False
        while True:
            start = src.find("{{", pos)
            stop = len(src) if start < 0 else start
            trim_left = start >= 0 and src.startswith("-", start + 2) and _space_at(src, start + 3)
            text = src[pos:stop]
            if trim_text:
                text = text.lstrip(_SPACE)
            if trim_left:
                text = text.rstrip(_SPACE)
            if text:
                self.add("text", text, pos, stop)
            if start < 0:
                break
            inside = start + (4 if trim_left else 2)
            if src.startswith("/*", inside):
                pos, trim_text = self.comment(start, inside)
            else:
                self.add("{{", None, start, inside)
                pos, trim_text = self.action(start, inside)
        self.add("eof", None, len(src), len(src))
        return self.tokens

    def comment(self, start: int, pos: int) -> tuple[int, bool]:
        close = self.src.find("*/", pos + 2)
        if close < 0:
            self.error(start, "unclosed comment")
        after = close + 2
        if self.src.startswith("}}", after):
            return after + 2, False
        if _space_at(self.src, after) and self.src.startswith("-}}", after + 1):
            return after + 4, True
        self.error(after, "comment ends before closing delimiter")

    def action(self, start: int, pos: int) -> tuple[int, bool]:
        """Tokenise one action from `pos`; return where the text after it starts and whether
        that text loses its leading whitespace."""
        src = self.src
        self.depth = 0
        spaced = False
        while True:
            if pos >= len(src):
                self.error(start, "unclosed action")
            if src[pos] in _SPACE:
                while _space_at(src, pos):
                    pos += 1
                spaced = True
                if src.startswith("-}}", pos):
                    return self.close(pos, 3), True
                continue
            if src.startswith("}}", pos):
                return self.close(pos, 2), False
            pos = self.word(pos, spaced)
            spaced = False

    def close(self, pos: int, length: int) -> int:
        if self.depth:
            self.error(pos, "unclosed left paren")
        return self.add("}}", None, pos, pos + length)

    def word(self, pos: int, spaced: bool) -> int:
        """Lex the token at `pos`, which is neither whitespace nor a closing delimiter."""
        src = self.src
        ch = src[pos]
        if ch in "(),|=":
            if ch == "(":
                self.depth += 1
            elif ch == ")":
                self.depth = max(self.depth - 1, 0)  # a stray one is the parser's to report
            return self.add(ch, None, pos, pos + 1, spaced)
        if ch == ":":
            if not src.startswith(":=", pos):
                self.error(pos, "expected :=")
            return self.add(":=", None, pos, pos + 2, spaced)
        if ch == '"' or ch == "'":
            return self.quoted(pos, spaced)
        if ch == "`":
            close = src.find("`", pos + 1)
            if close < 0:
                self.error(pos, "unterminated raw quoted string")
            return self.add("string", src[pos + 1 : close].replace("\r", ""), pos, close + 1, spaced)
        if ch == "$":
            end = self.terminated(_word_end(src, pos + 1))
            return self.add("variable", src[pos:end], pos, end, spaced)
        if ch == "." and not src[pos + 1 : pos + 2].isdigit():
            end = self.terminated(_word_end(src, pos + 1))
            if end == pos + 1:
                return self.add("dot", None, pos, end, spaced)
            return self.add("field", src[pos + 1 : end], pos, end, spaced)
        if ch in "+-." or ch.isdigit():
            return self.number(pos, spaced)
        if ch == "_" or ch.isalpha():
            end = self.terminated(_word_end(src, pos))
            word = src[pos:end]
            if word in _KEYWORDS:
                return self.add("keyword", word, pos, end, spaced)
            if word in ("true", "false"):
                return self.add("bool", word == "true", pos, end, spaced)
            return self.add("nil" if word == "nil" else "ident", word, pos, end, spaced)
        self.error(pos, f"unrecognized character in action: {_char_repr(ch)}")

    def terminated(self, end: int) -> int:
        """Check that a field, variable or name ends where Go's lexer allows; return `end`."""
        src = self.src
        if end < len(src) and src[end] not in _SPACE + ".,|:()" and not src.startswith("}}", end):
            self.error(end, f"bad character {_char_repr(src[end])}")
        return end

    def quoted(self, pos: int, spaced: bool) -> int:
        src, quote = self.src, self.src[pos]
        what = "quoted string" if quote == '"' else "character constant"
        i = pos + 1
        while True:
            if i >= len(src) or src[i] == "\n":
                self.error(pos, f"unterminated {what}")
            if src[i] == quote:
                break
            i += 2 if src[i] == "\\" and src[i + 1 : i + 2] not in ("", "\n") else 1
        value = _unquote(src[pos + 1 : i], quote)
        if quote == '"':
            if value is None:
                self.error(pos, f"invalid syntax in {src[pos : i + 1]}")
            return self.add("string", value, pos, i + 1, spaced)
        if value is None or len(value) != 1:
            self.error(pos, f"malformed character constant: {src[pos : i + 1]}")
        return self.add("number", ord(value), pos, i + 1, spaced)

    def number(self, pos: int, spaced: bool) -> int:
        src, n = self.src, len(self.src)
        i = pos + (src[pos] in "+-")
        digits = _DECIMAL_DIGITS
        if src[i : i + 1] == "0" and src[i + 1 : i + 2].lower() in _PREFIXED_DIGITS:
            digits = _PREFIXED_DIGITS[src[i + 1].lower()]
            i += 2
        while i < n and src[i] in digits:
            i += 1
        if i < n and src[i] == ".":
            i += 1
            while i < n and src[i] in digits:
                i += 1
        exponent = "eE" if digits is _DECIMAL_DIGITS else "pP" if digits is _PREFIXED_DIGITS["x"] else ""
        if i < n and src[i] in exponent:
            i += 1 + (src[i + 1 : i + 2] in ("+", "-"))
            while i < n and src[i] in _DECIMAL_DIGITS:
                i += 1
        if i < n and (src[i] == "_" or src[i].isalnum()):
            self.error(pos, f"bad number syntax: {_go_quote(src[pos : i + 1])}")
        value = _parse_number(src[pos:i])
        if value is None:
            self.error(pos, f"illegal number syntax: {_go_quote(src[pos:i])}")
        return self.add("number", value, pos, i, spaced)


# -- parse tree -------------------------------------------------------------------------------
# Operands, commands and pipelines know their offset in the template (pos) and their text as Go
# writes it in error messages (text): the source with its spacing normalised.


class _Text(NamedTuple):
    text: str


class _Field(NamedTuple):
    pos: int
    text: str
    names: tuple[str, ...]


class _Variable(NamedTuple):
    pos: int
    text: str
    name: str
    names: tuple[str, ...]  # fields read from the variable's value


class _Ident(NamedTuple):
    pos: int
    text: str
    name: str  # a function


class _Literal(NamedTuple):
    pos: int
    text: str
    value: str | int | float | bool


class _Dot(NamedTuple):
    pos: int
    text: str


class _Nil(NamedTuple):
    pos: int
    text: str


class _Chain(NamedTuple):
    pos: int
    text: str
    operand: _Pipe | _Ident
    names: tuple[str, ...]  # fields read from the operand's value: (.A).B


class _Command(NamedTuple):
    pos: int
    text: str
    args: tuple[_Operand, ...]


class _Pipe(NamedTuple):
    pos: int
    text: str
    decl: tuple[str, ...]  # variables it declares or assigns
    assign: bool  # `=` rather than `:=`
    cmds: tuple[_Command, ...]


class _Action(NamedTuple):
    pipe: _Pipe


class _Control(NamedTuple):
    keyword: str  # if, with, range
    pipe: _Pipe
    body: list[_Node]
    orelse: list[_Node] | None


class _Jump(NamedTuple):
    keyword: str  # break, continue


class _Stop(NamedTuple):
    """An {{end}} or {{else}}, ending the list being parsed."""

    pos: int
    keyword: str
    chained: bool  # {{else if ...}}: the "if" is left for the enclosing if to parse


_OPERAND_STARTS = frozenset({"field", "variable", "ident", "dot", "nil", "bool", "number", "string", "("})
_Operand = _Field | _Variable | _Ident | _Literal | _Dot | _Nil | _Chain | _Pipe
_Node = _Text | _Action | _Control | _Jump
_Args = tuple[_Operand, ...]  # a command's arguments after its first word


class _Parser:
    def __init__(self, src: str) -> None:
        self.src = src
        self.tokens = _Lexer(src).run()
        self.i = 0
        self.vars = ["$"]  # variables in scope
        self.range_depth = 0

    def error(self, pos: int, message: str) -> NoReturn:
        raise TemplateError(f"template: :{_location(self.src, pos)}: {message}")

    def peek(self, ahead: int = 0) -> _Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def next(self) -> _Token:
        token = self.peek()
        self.i = min(self.i + 1, len(self.tokens) - 1)
        return token

    def unexpected(self, token: _Token, context: str) -> NoReturn:
        if token.kind == "eof":
            what = "EOF"
        elif token.kind == "keyword":
            what = f"<{token.value}>"
        else:
            word = self.src[token.pos : token.end]
            what = _go_quote(word[:10]) + "..." if len(word) > 10 else _go_quote(word)
        self.error(token.pos, f"unexpected {what} in {context}")

    def expect(self, kind: str, context: str) -> None:
        token = self.next()
        if token.kind != kind:
            self.unexpected(token, context)

    def parse(self) -> list[_Node]:
        nodes, stop = self.item_list()
        if stop is not None:
            self.error(stop.pos, "unexpected " + _delimited(stop.keyword))
        return nodes

    def item_list(self) -> tuple[list[_Node], _Stop | None]:
        nodes: list[_Node] = []
        while True:
            token = self.next()
            if token.kind == "eof":
                return nodes, None
            if token.kind == "text":
                nodes.append(_Text(token.value))
                continue
            item = self.action(token.pos)
            if isinstance(item, _Stop):
                return nodes, item
            nodes.append(item)

    def action(self, pos: int) -> _Node | _Stop:
        token = self.peek()
        if token.kind != "keyword":
            pipe = self.pipeline("command", "}}")
            return _Action(pipe)
        keyword = self.next().value
        if keyword in ("if", "with", "range"):
            return self.control(keyword, pos)
        if keyword == "else":
            following = self.peek()
            if following.kind == "keyword" and following.value == "if":
                return _Stop(pos, "else", True)
            self.expect("}}", "else")
            return _Stop(pos, "else", False)
        if keyword == "end":
            self.expect("}}", "end")
            return _Stop(pos, "end", False)
        if keyword in ("break", "continue"):
            if not self.range_depth:
                self.error(token.pos, f"{_delimited(keyword)} outside {_delimited('range')}")
            self.expect("}}", keyword)
            return _Jump(keyword)
        self.error(token.pos, f"{_delimited(keyword)} is not supported")

    def control(self, keyword: str, pos: int) -> _Control:
        """Parse if/with/range after its keyword, through its {{end}}."""
        mark = len(self.vars)
        pipe = self.pipeline(keyword, "}}")
        self.range_depth += keyword == "range"
        body, stop = self.item_list()
        self.range_depth -= keyword == "range"
        orelse: list[_Node] | None = None
        if stop is not None and stop.keyword == "else":
            if stop.chained:
                if keyword != "if":
                    self.unexpected(self.peek(), "input")
                self.next()
                orelse = [self.control("if", stop.pos)]  # the chain shares this if's {{end}}
            else:
                orelse, stop = self.item_list()
                self.expect_end(stop, keyword, pos)
        else:
            self.expect_end(stop, keyword, pos)
        del self.vars[mark:]
        return _Control(keyword, pipe, body, orelse)

    def expect_end(self, stop: _Stop | None, keyword: str, pos: int) -> None:
        if stop is None:
            self.error(pos, f"unexpected EOF: {_delimited(keyword)} has no {_delimited('end')}")
        if stop.keyword != "end":
            self.error(stop.pos, f"expected end; found {_delimited(stop.keyword)}")

    def pipeline(self, context: str, end: str) -> _Pipe:
        start = self.peek()
        decl: tuple[str, ...] = ()
        assign = False
        if start.kind == "variable":
            following = self.peek(1)
            if following.kind in (":=", "="):
                decl, assign = (start.value,), following.kind == "="
                self.i += 2
            elif following.kind == ",":
                if context != "range":
                    self.error(following.pos, f"too many declarations in {context}")
                second, operator = self.peek(2), self.peek(3)
                if second.kind != "variable":
                    self.error(second.pos, "range can only initialize variables")
                if operator.kind not in (":=", "="):
                    self.error(operator.pos, "too many declarations in range")
                decl, assign = (start.value, second.value), operator.kind == "="
                self.i += 4
        for name in decl if assign else ():
            if name not in self.vars:
                self.error(start.pos, f'undefined variable "{name}"')
        cmds: list[_Command] = []
        while True:
            token = self.peek()
            if token.kind == end:
                if not cmds:
                    self.error(token.pos, f"missing value for {context}")
                self.next()  # after a '|', as Go allows
                break
            if token.kind not in _OPERAND_STARTS:
                self.unexpected(token, context)
            cmds.append(self.command())
            token = self.next()
            if token.kind == end:
                break
            if token.kind != "|":
                self.unexpected(token, context)
        for stage, cmd in enumerate(cmds[1:], 2):
            if isinstance(cmd.args[0], (_Literal, _Dot, _Nil)):
                self.error(cmd.pos, f"non executable command in pipeline stage {stage}")
        if not assign:
            self.vars.extend(decl)
        text = " | ".join(cmd.text for cmd in cmds)
        if decl:
            text = ", ".join(decl) + (" = " if assign else " := ") + text
        return _Pipe(start.pos, text, decl, assign, tuple(cmds))

    def command(self) -> _Command:
        start = self.peek()
        args = [self.operand()]
        while self.peek().kind not in ("|", "}}", ")"):
            if not self.peek().spaced:
                self.unexpected(self.peek(), "operand")
            args.append(self.operand())
        return _Command(start.pos, " ".join(arg.text for arg in args), tuple(args))

    def operand(self) -> _Operand:
        term = self.term()
        names: list[str] = []
        while self.peek().kind == "field" and not self.peek().spaced:
            names.append(self.next().value)
        if not names:
            return term
        text = term.text + "".join("." + name for name in names)
        if isinstance(term, _Field):
            return _Field(term.pos, text, term.names + tuple(names))
        if isinstance(term, _Variable):
            return _Variable(term.pos, text, term.name, tuple(names))
        if isinstance(term, (_Pipe, _Ident)):
            return _Chain(term.pos, text, term, tuple(names))
        self.error(term.pos, f"unexpected . after term {_go_quote(term.text)}")

    def term(self) -> _Operand:
        token = self.next()
        text = self.src[token.pos : token.end]
        kind = token.kind
        if kind == "field":
            return _Field(token.pos, text, (token.value,))
        if kind == "variable":
            if token.value not in self.vars:
                self.error(token.pos, f'undefined variable "{token.value}"')
            return _Variable(token.pos, text, token.value, ())
        if kind == "ident":
            if token.value not in _FUNCS:
                self.error(token.pos, f'function "{token.value}" not defined')
            return _Ident(token.pos, text, token.value)
        if kind == "dot":
            return _Dot(token.pos, text)
        if kind == "nil":
            return _Nil(token.pos, text)
        if kind in ("bool", "number", "string"):
            return _Literal(token.pos, text, token.value)
        if kind == "(":
            pipe = self.pipeline("parenthesized pipeline", ")")
            return pipe._replace(pos=token.pos, text=f"({pipe.text})")
        self.unexpected(token, "operand")


# -- printing values as Go's fmt does ----------------------------------------------------------


class _Spec(NamedTuple):
    """One printf conversion: %[flags][width][.prec]verb."""

    verb: str = "v"
    minus: bool = False
    plus: bool = False
    sharp: bool = False
    space: bool = False
    zero: bool = False
    width: int | None = None
    prec: int | None = None


_PLAIN = _Spec()


def _go_type(value: Any) -> str:
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "[]interface {}"
    if isinstance(value, dict):
        return "map[string]interface {}"
    return type(value).__name__


def _struct_fields(value: Any) -> list[tuple[str, Any]] | None:
    """An object's Go fields in order, or None if it has none to show."""
    hook = getattr(value, "__template_fields__", None)
    if hook is not None:
        return [(name, getattr(value, attribute)) for name, attribute in hook.items()]
    record_fields = getattr(type(value), "__record_fields__", None)  # otter.record records
    if record_fields is not None:
        return [(field.name, getattr(value, field.name)) for field in record_fields]
    if hasattr(type(value), "__dataclass_fields__"):
        import dataclasses  # already loaded by whoever made the dataclass; kept off our import path

        return [(field.name, getattr(value, field.name)) for field in dataclasses.fields(value)]
    return None


def _sorted_keys(mapping: dict[Any, Any]) -> list[Any]:
    try:
        return sorted(mapping)
    except TypeError:
        return sorted(mapping, key=repr)


def _fill(text: str, spec: _Spec) -> str:
    """Pad to the conversion's width with spaces, on the left unless the '-' flag is given."""
    if spec.width is None or len(text) >= spec.width:
        return text
    padding = " " * (spec.width - len(text))
    return text + padding if spec.minus else padding + text


def _bad_verb(value: Any, verb: str) -> str:
    return f"%!{verb}({_go_type(value)}={_format(value, _PLAIN)})"


def _sprint_value(value: Any) -> str:
    return _format(value, _PLAIN)


def _format(value: Any, spec: _Spec) -> str:
    """Format one printf argument; collections apply the conversion to each element, as Go's do."""
    verb = spec.verb
    if verb == "T":
        return _fill(_go_type(value), spec)
    if value is None:
        return _fill("<nil>", spec) if verb == "v" else f"%!{verb}(<nil>)"
    if isinstance(value, bool):
        return _fill("true" if value else "false", spec) if verb in "tv" else _bad_verb(value, verb)
    if isinstance(value, int):
        return _format_int(value, spec)
    if isinstance(value, float):
        return _format_float(value, spec)
    if isinstance(value, str):
        return _format_str(value, spec)
    if isinstance(value, dict):
        pairs = (f"{_format(key, spec)}:{_format(value[key], spec)}" for key in _sorted_keys(value))
        return "map[" + " ".join(pairs) + "]"
    if isinstance(value, (list, tuple)):
        return "[" + " ".join(_format(item, spec) for item in value) + "]"
    if type(value).__str__ is not object.__str__:  # type: ignore[comparison-overlap]  # a Go Stringer
        return _format_str(str(value), spec) if verb in "vsqxX" else _bad_verb(value, verb)
    fields = _struct_fields(value)
    if fields is not None:
        return "{" + " ".join(_format(item, spec) for _, item in fields) + "}"
    return _format_str(str(value), spec)


_QUOTE_ESCAPES = {ch: "\\" + letter for ch, letter in zip("\a\b\f\n\r\t\v\\", "abfnrtv\\", strict=True)}


def _go_quote(text: str, quote: str = '"', ascii_only: bool = False) -> str:
    """strconv.Quote (or QuoteRune, with quote "'"); ascii_only escapes everything past ASCII."""
    out = [quote]
    for ch in text:
        code = ord(ch)
        if ch == quote:
            out.append("\\" + ch)
        elif ch in _QUOTE_ESCAPES:
            out.append(_QUOTE_ESCAPES[ch])
        elif ch.isprintable() and (code < 0x80 or not ascii_only):
            out.append(ch)
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append(quote)
    return "".join(out)


def _can_backquote(text: str) -> bool:
    return all(ch == "\t" or (ch >= " " and ch not in "`\x7f\ufeff") for ch in text)


def _format_str(text: str, spec: _Spec) -> str:
    verb = spec.verb
    if spec.prec is not None and verb in "vsq":
        text = text[: spec.prec]
    if verb in "vs":
        return _fill(text, spec)
    if verb == "q":
        if spec.sharp and _can_backquote(text):
            return _fill("`" + text + "`", spec)
        return _fill(_go_quote(text, ascii_only=spec.plus), spec)
    if verb in "xX":
        pieces = [format(byte, "02" + verb) for byte in text.encode()[: spec.prec]]
        prefix = "0" + verb if spec.sharp else ""
        if spec.space:
            return _fill(" ".join(prefix + piece for piece in pieces), spec)
        return _fill(prefix + "".join(pieces) if pieces else "", spec)
    return _bad_verb(text, verb)


_INT_BASES = {"d": "d", "v": "d", "b": "b", "o": "o", "O": "o", "x": "x", "X": "X"}


def _format_int(number: int, spec: _Spec) -> str:
    verb = spec.verb
    if verb == "c":
        return _fill(chr(number) if 0 <= number <= 0x10FFFF else "\ufffd", spec)
    if verb == "q":
        return _fill(_go_quote(chr(number) if 0 <= number <= 0x10FFFF else "\ufffd", "'", spec.plus), spec)
    if verb == "U":
        return _fill(f"U+{number:04X}", spec)
    base = _INT_BASES.get(verb)
    if base is None:
        return _bad_verb(number, verb)
    sign = "-" if number < 0 else "+" if spec.plus else " " if spec.space else ""
    digits = format(abs(number), base)
    if spec.prec is not None:
        digits = "" if spec.prec == 0 and number == 0 else digits.rjust(spec.prec, "0")
    elif spec.zero and not spec.minus and spec.width is not None:
        digits = digits.rjust(spec.width - len(sign), "0")
    if verb == "O":
        prefix = "0o"
    elif spec.sharp and verb == "o":
        prefix = "" if digits.startswith("0") else "0"
    elif spec.sharp:
        prefix = {"b": "0b", "x": "0x", "X": "0X"}.get(verb, "")
    else:
        prefix = ""
    return _fill(sign + prefix + digits, spec)


def _shortest_float(magnitude: float, json_style: bool = False) -> str:
    """The shortest digits that read back as `magnitude` (>= 0, finite), laid out as Go's %v
    does (exponent form below 1e-4 and from 1e+06), or as encoding/json does (below 1e-6 and
    from 1e+21, exponent without a leading zero)."""
    mantissa, _, exponent = repr(magnitude).partition("e")
    whole, _, fraction = mantissa.partition(".")
    all_digits = whole + fraction
    digits = all_digits.lstrip("0")
    point = len(whole) + int(exponent or 0) - (len(all_digits) - len(digits))  # value = 0.DIGITS * 10**point
    digits = digits.rstrip("0")
    if not digits:
        return "0"
    scientific = (magnitude < 1e-6 or magnitude >= 1e21) if json_style else not -4 <= point - 1 < 6
    if scientific:
        text = digits[0] + ("." + digits[1:] if len(digits) > 1 else "") + f"e{point - 1:+03d}"
        return text.replace("e-0", "e-") if json_style else text
    if point <= 0:
        return "0." + "0" * -point + digits
    if point >= len(digits):
        return digits + "0" * (point - len(digits))
    return digits[:point] + "." + digits[point:]


def _format_float(number: float, spec: _Spec) -> str:
    verb = spec.verb
    if verb not in "vgGeEfF":
        return _bad_verb(number, verb)
    if math.isnan(number):
        return _fill(("+" if spec.plus else " " if spec.space else "") + "NaN", spec)
    if math.isinf(number):
        return _fill(("-" if number < 0 else " " if spec.space and not spec.plus else "+") + "Inf", spec)
    magnitude = abs(number)
    if verb in "vgG":
        body = _shortest_float(magnitude) if spec.prec is None else format(magnitude, f".{spec.prec}g")
    else:
        body = format(magnitude, f".{6 if spec.prec is None else spec.prec}{verb.lower()}")
    if verb in "GE":
        body = body.upper()
    sign = "-" if math.copysign(1.0, number) < 0 else "+" if spec.plus else " " if spec.space else ""
    if spec.zero and not spec.minus and spec.width is not None:
        return sign + body.rjust(spec.width - len(sign), "0")
    return _fill(sign + body, spec)


def _sprintf(template: str, args: tuple[Any, ...]) -> str:
    """fmt.Sprintf, including its in-band complaints: %!d(string=x), %!v(MISSING), %!(EXTRA ...)."""
    out: list[str] = []
    used = 0
    i, n = 0, len(template)
    while i < n:
        percent = template.find("%", i)
        if percent < 0:
            out.append(template[i:])
            break
        out.append(template[i:percent])
        i = percent + 1
        flags = {"-": False, "+": False, "#": False, " ": False, "0": False}
        while i < n and template[i] in flags:
            flags[template[i]] = True
            i += 1
        width: int | None = None
        if template.startswith("*", i):
            i += 1
            argument = args[used] if used < len(args) else None
            used += used < len(args)
            if isinstance(argument, int) and not isinstance(argument, bool):
                width = abs(argument)
                flags["-"] = flags["-"] or argument < 0
            else:
                out.append("%!(BADWIDTH)")
        else:
            start = i
            while i < n and template[i].isdigit():
                i += 1
            width = int(template[start:i]) if i > start else None
        prec: int | None = None
        if template.startswith(".", i):
            i += 1
            if template.startswith("*", i):
                i += 1
                argument = args[used] if used < len(args) else None
                used += used < len(args)
                if isinstance(argument, int) and not isinstance(argument, bool):
                    prec = argument if argument >= 0 else None
                else:
                    out.append("%!(BADPREC)")
            else:
                start = i
                while i < n and template[i].isdigit():
                    i += 1
                prec = int(template[start:i] or "0")
        if i >= n:
            out.append("%!(NOVERB)")
            break
        verb = template[i]
        i += 1
        if verb == "%":
            out.append("%")
        elif used >= len(args):
            out.append(f"%!{verb}(MISSING)")
        else:
            minus, zero = flags["-"], flags["0"] and not flags["-"]
            spec = _Spec(verb, minus, flags["+"], flags["#"], flags[" "], zero, width, prec)
            out.append(_format(args[used], spec))
            used += 1
    if used < len(args):
        extra = ("<nil>" if arg is None else f"{_go_type(arg)}={_sprint_value(arg)}" for arg in args[used:])
        out.append("%!(EXTRA " + ", ".join(extra) + ")")
    return "".join(out)


# -- JSON as Podman's json helper writes it (Go's encoding/json, no HTML escaping) --------------

_JSON_ESCAPES: dict[int, str] = {code: f"\\u{code:04x}" for code in range(0x20)}
_JSON_ESCAPES.update({0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r"})
_JSON_ESCAPES.update({ord('"'): '\\"', ord("\\"): "\\\\", 0x2028: "\\u2028", 0x2029: "\\u2029"})


def _json_string(text: str) -> str:
    return '"' + text.translate(_JSON_ESCAPES) + '"'


def _json_object(pairs: Iterable[tuple[Any, Any]]) -> str:
    members = (
        _json_string(key if isinstance(key, str) else _sprint_value(key)) + ":" + _json(value) for key, value in pairs
    )
    return "{" + ",".join(members) + "}"


def _json(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _FuncError(f"json: unsupported value: {_sprint_value(value)}")
        return ("-" if math.copysign(1.0, value) < 0 else "") + _shortest_float(abs(value), json_style=True)
    if isinstance(value, str):
        return _json_string(value)
    if isinstance(value, dict):
        return _json_object(value.items())
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_json(item) for item in value) + "]"
    fields = _struct_fields(value)
    return _json_string(str(value)) if fields is None else _json_object(fields)


# -- functions --------------------------------------------------------------------------------


class _Func(NamedTuple):
    fn: Callable[..., Any]
    nargs: int  # the exact count, or the least when variadic
    variadic: bool = False
    lazy: bool = False  # fn receives thunks: and/or evaluate only the arguments they need


def _truth(value: Any) -> bool:
    """Go's notion of true: not false, 0, "", empty, nil (Python's truthiness agrees)."""
    return bool(value)


def _str_arg(value: Any) -> str:
    if isinstance(value, str):
        return value
    raise _FuncError(f"wrong type for value; expected string; got {_go_type(value)}")


def _int_arg(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise _FuncError(f"wrong type for value; expected int; got {_go_type(value)}")


def _and(*thunks: Callable[[], Any]) -> Any:
    for thunk in thunks:
        value = thunk()
        if not _truth(value):
            return value
    return value


def _or(*thunks: Callable[[], Any]) -> Any:
    for thunk in thunks:
        value = thunk()
        if _truth(value):
            return value
    return value


def _len(value: Any) -> int:
    if isinstance(value, str):
        return len(value.encode())  # Go counts bytes
    if isinstance(value, (list, tuple, dict)):
        return len(value)
    raise _FuncError("len of nil pointer" if value is None else f"len of type {_go_type(value)}")


def _position(index: Any, length: int, inclusive: bool) -> int:
    if index is None:
        raise _FuncError("cannot index slice/array with nil")
    if not isinstance(index, int) or isinstance(index, bool):
        raise _FuncError(f"cannot index slice/array with type {_go_type(index)}")
    if index < 0 or index > length or (index == length and not inclusive):
        raise _FuncError(f"index out of range: {index}")
    return index


def _index(item: Any, *indexes: Any) -> Any:
    if item is None:
        raise _FuncError("index of untyped nil")
    for index in indexes:
        if item is None:
            raise _FuncError("index of nil pointer")
        if isinstance(item, str):
            data = item.encode()
            item = data[_position(index, len(data), False)]
        elif isinstance(item, (list, tuple)):
            item = item[_position(index, len(item), False)]
        elif isinstance(item, dict):
            try:
                item = item.get(index)
            except TypeError:
                raise _FuncError(f"value has type {_go_type(index)}; should be string") from None
        else:
            raise _FuncError(f"can't index item of type {_go_type(item)}")
    return item


def _slice(item: Any, *indexes: Any) -> Any:
    if item is None:
        raise _FuncError("slice of untyped nil")
    if len(indexes) > 3:
        raise _FuncError(f"too many slice indexes: {len(indexes)}")
    if isinstance(item, str):
        if len(indexes) == 3:
            raise _FuncError("cannot 3-index slice a string")
        data: Any = item.encode()
    elif isinstance(item, (list, tuple)):
        data = item
    else:
        raise _FuncError(f"can't slice item of type {_go_type(item)}")
    bounds = [0, len(data), len(data)]
    for i, index in enumerate(indexes):
        bounds[i] = _position(index, len(data), True)
    for low, high in ((bounds[0], bounds[1]), (bounds[1], bounds[2])):
        if low > high:
            raise _FuncError(f"invalid slice index: {low} > {high}")
    part = data[bounds[0] : bounds[1]]
    return part.decode(errors="replace") if isinstance(item, str) else part


def _sprint(*args: Any) -> str:
    """fmt.Sprint: a space between operands when neither is a string."""
    out: list[str] = []
    for i, arg in enumerate(args):
        if i and not isinstance(arg, str) and not isinstance(args[i - 1], str):
            out.append(" ")
        out.append(_sprint_value(arg))
    return "".join(out)


def _sprintln(*args: Any) -> str:
    return " ".join(_sprint_value(arg) for arg in args) + "\n"


def _printf(template: Any, *args: Any) -> str:
    return _sprintf(_str_arg(template), args)


def _comparable_kind(value: Any) -> str | None:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return None


def _eq(first: Any, *others: Any) -> bool:
    if not others:
        raise _FuncError("missing argument for comparison")
    kind = _comparable_kind(first)
    for other in others:
        if first is None or other is None:
            equal = first is other
        elif kind != _comparable_kind(other):
            raise _FuncError("incompatible types for comparison")
        elif kind is None and isinstance(first, (list, tuple, dict)):
            raise _FuncError(f"non-comparable type {_sprint_value(first)}: {_go_type(first)}")
        else:
            equal = first == other
        if equal:
            return True
    return False


def _lt(first: Any, second: Any) -> bool:
    kind = _comparable_kind(first)
    if kind is None or kind == "bool" or _comparable_kind(second) in (None, "bool"):
        raise _FuncError("invalid type for comparison")
    if kind != _comparable_kind(second):
        raise _FuncError("incompatible types for comparison")
    return bool(first < second)


def _le(first: Any, second: Any) -> bool:
    return _lt(first, second) or _eq(first, second)


def _join(items: Any, separator: Any) -> str:
    if not isinstance(items, (list, tuple)):
        raise _FuncError(f"wrong type for value; expected []string; got {_go_type(items)}")
    return _str_arg(separator).join(_sprint_value(item) for item in items)


def _go_upper(text: str) -> str:
    """strings.ToUpper: one character for one; where Python's mapping grows (ß -> SS), the
    character stays as it is."""
    if text.isascii():
        return text.upper()
    return "".join(mapped if len(mapped := ch.upper()) == 1 else ch for ch in text)


def _go_lower(text: str) -> str:
    """strings.ToLower: one character for one; where Python's mapping grows (İ -> i + dot),
    its first character."""
    return text.lower() if text.isascii() else "".join(ch.lower()[0] for ch in text)


def _title_separator(ch: str) -> bool:
    if ch < "\x80":
        return not (ch.isalnum() or ch == "_")
    return not (ch.isalpha() or ch.isdecimal()) and ch.isspace()


def _title(text: Any) -> str:
    """strings.Title: upper-case the first letter of each word, leave the rest as it is."""
    out: list[str] = []
    separated = True
    for ch in _str_arg(text):
        out.append(_go_upper(ch) if separated else ch)
        separated = _title_separator(ch)
    return "".join(out)


def _pad(text: Any, prefix: Any, suffix: Any) -> str:
    """Podman's pad: prefix and suffix spaces around a non-empty string."""
    string, before, after = _str_arg(text), _int_arg(prefix), _int_arg(suffix)
    if before < 0 or after < 0:
        raise _FuncError("strings: negative Repeat count")
    return " " * before + string + " " * after if string else string


def _split(text: Any, separator: Any) -> list[str]:
    string, sep = _str_arg(text), _str_arg(separator)
    return string.split(sep) if sep else list(string)


def _truncate(text: Any, length: Any) -> str:
    string, count = _str_arg(text), _int_arg(length)
    if count < 0:
        raise _FuncError(f"slice bounds out of range [:{count}]")
    return string[:count]


def _first(value: Any, *_: Any) -> Any:
    return value


_FUNCS: dict[str, _Func] = {
    # Go's builtins
    "and": _Func(_and, 1, variadic=True, lazy=True),
    "or": _Func(_or, 1, variadic=True, lazy=True),
    "not": _Func(lambda value: not _truth(value), 1),
    "len": _Func(_len, 1),
    "index": _Func(_index, 1, variadic=True),
    "slice": _Func(_slice, 1, variadic=True),
    "print": _Func(_sprint, 0, variadic=True),
    "println": _Func(_sprintln, 0, variadic=True),
    "printf": _Func(_printf, 1, variadic=True),
    "eq": _Func(_eq, 1, variadic=True),
    "ne": _Func(lambda first, second: not _eq(first, second), 2),
    "lt": _Func(_lt, 2),
    "le": _Func(_le, 2),
    "gt": _Func(lambda first, second: not _le(first, second), 2),
    "ge": _Func(lambda first, second: not _lt(first, second), 2),
    # Podman's helpers
    "json": _Func(_json, 1),
    "join": _Func(_join, 2),
    "lower": _Func(lambda text: _go_lower(_str_arg(text)), 1),
    "upper": _Func(lambda text: _go_upper(_str_arg(text)), 1),
    "title": _Func(_title, 1),
    "pad": _Func(_pad, 3),
    "split": _Func(_split, 2),
    "truncate": _Func(_truncate, 2),
}

# The header row is the row template rendered against column names (see `_Header`). Functions
# that reshape a field's value pass the name through, so a column is headed by its name, not by
# a transformed name or an error; pad and printf still apply, keeping headers aligned with cells.
_HEADER_FUNCS: dict[str, _Func] = {
    **_FUNCS,
    **{
        name: _FUNCS[name]._replace(fn=_first)
        for name in ("index", "json", "join", "len", "lower", "slice", "split", "title", "truncate", "upper")
    },
}


# -- execution --------------------------------------------------------------------------------


def _camel_words(name: str) -> list[str]:
    """Split a Go identifier into words as Podman's headers do: CreatedAt -> Created At,
    PDFLoader -> PDF Loader, GL11Version -> GL 11 Version."""
    runs: list[list[str]] = []
    previous = ""
    for ch in name:
        kind = "lower" if ch.islower() else "upper" if ch.isupper() else "digit" if ch.isdecimal() else "other"
        if runs and kind == previous:
            runs[-1].append(ch)
        else:
            runs.append([ch])
        previous = kind
    for left, right in itertools.pairwise(runs):
        if left[0].isupper() and right[0].islower():
            right.insert(0, left.pop())
    return ["".join(run) for run in runs if run]


def _header_text(path: str, overrides: Mapping[str, str]) -> str:
    if path in overrides:
        return _go_upper(overrides[path])
    return _go_upper(" ".join(_camel_words(path.rpartition(".")[2])))


class _Header(str):
    """A column name standing in for a field's value when the header row is rendered.

    `.Names` on the header record gives "NAMES"; a deeper field gives the header of the deeper
    path (`.State.ExitCode` -> "EXIT CODE"). Overrides are keyed by the dotted field path.
    """

    path: str
    overrides: Mapping[str, str]

    def __new__(cls, path: str, overrides: Mapping[str, str]) -> _Header:
        header = super().__new__(cls, _header_text(path, overrides))
        header.path = path
        header.overrides = overrides
        return header

    def field(self, name: str) -> _Header:
        return _Header(f"{self.path}.{name}" if self.path else name, self.overrides)


_SCALARS = (str, int, float, list, tuple)


def _dict_field(record: dict[Any, Any], name: str) -> Any:
    if name in record:
        return record[name]
    folded = name.lower()
    for key, value in record.items():
        if isinstance(key, str) and key.lower() == folded:
            return value
    return None


def _object_field(record: Any, name: str) -> Any:
    hook = getattr(record, "__template_fields__", None)
    if hook is not None and name in hook:
        return getattr(record, hook[name])
    if name.startswith("_"):
        return _NO_VALUE
    return getattr(record, name, _NO_VALUE)


def _range_items(value: Any) -> list[tuple[Any, Any]] | None:
    """(index or key, element) pairs a {{range}} visits, or None if Go cannot range over it."""
    if value is None:
        return []
    if isinstance(value, _Header):
        return [(value, value)]
    if isinstance(value, (list, tuple)):
        return list(enumerate(value))
    if isinstance(value, dict):
        return [(key, value[key]) for key in _sorted_keys(value)]
    return None


class _Exec:
    """One rendering of a parsed template against a record."""

    def __init__(self, src: str, funcs: Mapping[str, _Func], record: Any) -> None:
        self.src = src
        self.funcs = funcs
        self.vars: list[list[Any]] = [["$", record]]  # [name, value], innermost last
        self.out: list[str] = []

    def fail(self, node: _Operand | _Command, message: str) -> NoReturn:
        location = _location(self.src, node.pos)
        raise TemplateError(f'template: :{location}: executing "" at <{node.text}>: {message}')

    def var(self, name: str) -> Any:
        return next(value for known, value in reversed(self.vars) if known == name)

    def set_var(self, name: str, value: Any) -> None:
        next(entry for entry in reversed(self.vars) if entry[0] == name)[1] = value

    def walk(self, dot: Any, nodes: list[_Node]) -> None:
        for node in nodes:
            if isinstance(node, _Text):
                self.out.append(node.text)
            elif isinstance(node, _Action):
                value = self.pipeline(dot, node.pipe)
                if not node.pipe.decl:
                    self.out.append("<no value>" if value is None else _sprint_value(value))
            elif isinstance(node, _Control):
                self.control(dot, node)
            else:
                raise _BreakLoop if node.keyword == "break" else _ContinueLoop

    def control(self, dot: Any, node: _Control) -> None:
        mark = len(self.vars)
        value = self.pipeline(dot, node.pipe)
        if node.keyword == "range":
            self.range(dot, node, value)
        elif _truth(value):
            self.walk(value if node.keyword == "with" else dot, node.body)
        elif node.orelse is not None:
            self.walk(dot, node.orelse)
        del self.vars[mark:]

    def range(self, dot: Any, node: _Control, value: Any) -> None:
        items = _range_items(value)
        if items is None:
            self.fail(node.pipe.cmds[-1], f"range can't iterate over {_sprint_value(value)}")
        decl = node.pipe.decl
        if not items:
            if node.orelse is not None:
                self.walk(dot, node.orelse)
            return
        mark = len(self.vars)
        for key, element in items:
            if len(decl) == 2:
                self.set_var(decl[0], key)
            if decl:
                self.set_var(decl[-1], element)
            try:
                self.walk(element, node.body)
            except _ContinueLoop:
                pass
            except _BreakLoop:
                break
            finally:
                del self.vars[mark:]

    def pipeline(self, dot: Any, pipe: _Pipe) -> Any:
        value = _NO_VALUE
        for cmd in pipe.cmds:
            first = cmd.args[0]
            if isinstance(first, _Nil):
                self.fail(first, "nil is not a command")
            if isinstance(first, _Ident):
                value = self.call(dot, first, cmd, cmd.args[1:], value)
            else:
                value = self.operand(dot, first, cmd.args[1:], value)
        for name in pipe.decl:
            if pipe.assign:
                self.set_var(name, value)
            else:
                self.vars.append([name, value])
        return value

    def argument(self, dot: Any, node: _Operand) -> Any:
        return self.operand(dot, node, (), _NO_VALUE)

    def operand(self, dot: Any, node: _Operand, args: _Args, final: Any) -> Any:
        """Evaluate an operand; as a command's first word it receives the command's arguments
        and `final`, the previous pipeline stage's value (or _NO_VALUE)."""
        if isinstance(node, _Field):
            return self.fields(dot, dot, node, args, final)
        if isinstance(node, _Chain):
            return self.fields(dot, self.argument(dot, node.operand), node, args, final)
        if isinstance(node, _Variable) and node.names:
            return self.fields(dot, self.var(node.name), node, args, final)
        if isinstance(node, _Ident):
            return self.call(dot, node, node, args, final)
        if args or final is not _NO_VALUE:
            self.fail(node, f"can't give argument to non-function {node.text}")
        if isinstance(node, _Variable):
            return self.var(node.name)
        if isinstance(node, _Pipe):
            return self.pipeline(dot, node)
        if isinstance(node, _Literal):
            return node.value
        return dot if isinstance(node, _Dot) else None

    def fields(self, dot: Any, receiver: Any, node: _Field | _Variable | _Chain, args: _Args, final: Any) -> Any:
        for name in node.names[:-1]:
            receiver = self.field(dot, receiver, name, node, (), _NO_VALUE)
        return self.field(dot, receiver, node.names[-1], node, args, final)

    def field(self, dot: Any, receiver: Any, name: str, node: _Operand, args: _Args, final: Any) -> Any:
        has_args = bool(args) or final is not _NO_VALUE
        if receiver is None:
            return None
        if isinstance(receiver, _Header):
            return receiver.field(name)
        if isinstance(receiver, dict):
            if has_args:
                self.fail(node, f"{name} is not a method but has arguments")
            return _dict_field(receiver, name)
        value = _NO_VALUE if isinstance(receiver, _SCALARS) else _object_field(receiver, name)
        if value is _NO_VALUE:
            self.fail(node, f"can't evaluate field {name} in type {_go_type(receiver)}")
        if isinstance(value, (types.MethodType, types.BuiltinMethodType)):
            argv = [self.argument(dot, arg) for arg in args]
            if final is not _NO_VALUE:
                argv.append(final)
            try:
                return value(*argv)
            except Exception as err:  # a record's method failing is the template's error
                self.fail(node, f"error calling {name}: {err}")
        if has_args:
            self.fail(node, f"{name} has arguments but cannot be invoked as function")
        return value

    def call(self, dot: Any, ident: _Ident, site: _Ident | _Command, args: _Args, final: Any) -> Any:
        """Call a function; `site`, the command it heads (or the name alone as an argument),
        is where its failures are reported."""
        func = self.funcs[ident.name]
        count = len(args) + (final is not _NO_VALUE)
        if count < func.nargs or (count > func.nargs and not func.variadic):
            want = f"at least {func.nargs}" if func.variadic else str(func.nargs)
            self.fail(ident, f"wrong number of args for {ident.name}: want {want} got {count}")
        if func.lazy:
            argv: list[Any] = [lambda arg=arg: self.argument(dot, arg) for arg in args]
            if final is not _NO_VALUE:
                argv.append(lambda: final)
        else:
            argv = [self.argument(dot, arg) for arg in args]
            if final is not _NO_VALUE:
                argv.append(final)
        try:
            return func.fn(*argv)
        except _FuncError as err:
            self.fail(site, f"error calling {ident.name}: {err}")


# -- public interface -------------------------------------------------------------------------


def _is_json_format(fmt: str) -> bool:
    """Podman's report.IsJSON: "json" or {{json .}}, allowing whitespace (and "{{json}}")."""
    text = fmt.strip(_JSON_FORMAT_SPACE)
    if text == "json":
        return True
    if not (text.startswith("{{") and text.endswith("}}") and len(text) >= 4):
        return False
    inner = text[2:-2].strip(_JSON_FORMAT_SPACE)
    return inner.startswith("json") and inner[4:].strip(_JSON_FORMAT_SPACE) in ("", ".")


_TABLE_REPLACEMENTS = (("table ", ""), ("\\t", "\t"), ("\\n", "\n"), (" ", "\t"))
_ESCAPE_REPLACEMENTS = (("\\t", "\t"), ("\\n", "\n"))


def _normalize(fmt: str, is_table: bool) -> str:
    """Podman's NormalizeFormat: one left-to-right pass, earlier replacements winning."""
    replacements = _TABLE_REPLACEMENTS if is_table else _ESCAPE_REPLACEMENTS
    out: list[str] = []
    i = 0
    while i < len(fmt):
        for old, new in replacements:
            if fmt.startswith(old, i):
                out.append(new)
                i += len(old)
                break
        else:
            out.append(fmt[i])
            i += 1
    text = "".join(out)
    return text if text.endswith("\n") else text + "\n"


class Format:
    """A compiled --format: made by `compile_format`, rendered once per record."""

    __slots__ = ("_nodes", "_source", "is_json", "is_table")

    def __init__(self, source: str, nodes: list[_Node], is_table: bool, is_json: bool) -> None:
        self.is_table = is_table  # the format started "table "; the prefix is gone
        self.is_json = is_json  # "json" or {{json .}}: callers print all records as one JSON array
        self._source = source
        self._nodes = nodes

    def headers(self, overrides: Mapping[str, str] | None = None) -> list[str]:
        """The column name of each top-level action that starts with a field: the field's
        last name split into words and upper-cased ("CreatedAt" -> "CREATED AT"), or the
        upper-cased override for its dotted path."""
        names = []
        for node in self._nodes:
            if isinstance(node, _Action) and not node.pipe.decl:
                first = node.pipe.cmds[0].args[0]
                if isinstance(first, _Field):
                    names.append(_header_text(".".join(first.names), overrides or {}))
        return names

    def render(self, obj: Any) -> str:
        """The text for one record, ending in the format's newline."""
        return self._execute(obj, _FUNCS)

    def _execute(self, record: Any, funcs: Mapping[str, _Func]) -> str:
        execution = _Exec(self._source, funcs, record)
        execution.walk(record, self._nodes)
        return "".join(execution.out)


def compile_format(fmt: str) -> Format:
    """Normalise and parse a --format string; raises TemplateError if it does not parse."""
    is_json = _is_json_format(fmt)
    is_table = fmt.startswith("table ")
    if is_json:
        source = "{{json .}}\n"
        return Format(source, _Parser(source).parse(), is_table, is_json)
    source = _normalize(fmt, is_table)
    try:
        nodes = _Parser(source).parse()
    except TemplateError:
        source = fmt[len("table ") :] if is_table else fmt
        nodes = _Parser(source).parse()
    return Format(source, nodes, is_table, is_json)


def render_table(
    fmt: Format,
    rows: Iterable[Any],
    header_overrides: Mapping[str, str] | None = None,
    noheading: bool = False,
) -> str:
    """Render rows under a header row and align tab-separated cells into columns as Podman's
    tabwriter does: each column as wide as its widest cell plus TABLE_PADDING, at least
    TABLE_MINWIDTH, over each run of consecutive lines that have that column.

    The header row is the row template rendered against column names: each field yields its
    header (see `Format.headers`), so literal text and padding in the format appear in it too.
    Functions that would reshape a value (json, join, split, index, slice, len, lower, upper,
    title, truncate) pass the name through, as Docker's header functions do.
    """
    chunks = [] if noheading else [fmt._execute(_Header("", header_overrides or {}), _HEADER_FUNCS)]
    chunks.extend(fmt.render(row) for row in rows)
    lines = [line.split("\t") for line in "".join(chunks).split("\n")]
    return align(lines)
