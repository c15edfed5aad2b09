"""Series selectors as Prometheus 2's ``/federate`` parses each ``match[]``
(``promql/parser.ParseMetricSelector``).

One selector Prometheus cannot parse makes ``/federate`` answer 400 for the
whole request, so the global Prometheus loses every series of that lower
server, not just the bad selector's. The grammar: an optional metric name,
then optional ``{label op "value", ...}``; ops ``= != =~ !~``; values in
double, single or back quotes with Go escapes; regexes in RE2 syntax.
"""

from __future__ import annotations

import re

_METRIC = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_SPACE = re.compile(r"\s*")
# Lexer keywords the selector grammar does not take as a metric name
# (aggregators such as sum, and by/offset/start/end, it does).
_NOT_METRIC = {"atan2", "on", "ignoring", "group_left", "group_right", "bool", "inf", "nan"}
_SIMPLE_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\"}
_HEX_LEN = {"x": 2, "u": 4, "U": 8}
# RE2 refuses these Python-only constructs: look-around, backreferences,
# atomic groups, possessive quantifiers, conditionals.
_NOT_RE2 = re.compile(r"\(\?(?:=|!|<=|<!|>|P=|\()|\\[1-9]|[*+?}]\+")
HINT = 'examples: up, job:redis_memory:ratio, {__name__=~"job:.*"}, {job="redis",team!=""}'


class _Parser:
    def __init__(self, text: str) -> None:
        self.text, self.pos = text, 0

    def fail(self, what: str) -> ValueError:
        return ValueError(f"{self.text!r} is not a series selector: {what} at character {self.pos + 1} ({HINT})")

    def space(self) -> None:
        self.pos = _SPACE.match(self.text, self.pos).end()

    def peek(self) -> str:
        return self.text[self.pos:self.pos + 1]

    def take(self, pattern: re.Pattern) -> str | None:
        match = pattern.match(self.text, self.pos)
        if not match:
            return None
        self.pos = match.end()
        return match.group()

    def string(self) -> str:
        quote = self.peek()
        if quote not in ('"', "'", "`"):
            raise self.fail("expected a quoted value")
        self.pos += 1
        out = []
        while True:
            if self.pos >= len(self.text):
                raise self.fail("unterminated quoted string")
            char = self.text[self.pos]
            self.pos += 1
            if char == quote:
                return "".join(out)
            if quote == "`":
                out.append(char)
            elif char == "\n":
                raise self.fail("newline in a quoted string")
            elif char == "\\":
                out.append(self.escape(quote))
            else:
                out.append(char)

    def escape(self, quote: str) -> str:
        char = self.text[self.pos:self.pos + 1]
        self.pos += 1
        if char in _SIMPLE_ESCAPES:
            return _SIMPLE_ESCAPES[char]
        if char == quote:
            return quote
        if char in "01234567":
            digits = self.text[self.pos - 1:self.pos + 2]
            if not re.fullmatch(r"[0-7]{3}", digits) or int(digits, 8) > 255:
                raise self.fail("bad octal escape")
            self.pos += 2
            return chr(int(digits, 8))
        if char in _HEX_LEN:
            digits = self.text[self.pos:self.pos + _HEX_LEN[char]]
            if not re.fullmatch(r"[0-9a-fA-F]{%d}" % _HEX_LEN[char], digits):
                raise self.fail(f"bad \\{char} escape")
            value = int(digits, 16)
            if char != "x" and (value > 0x10FFFF or 0xD800 <= value <= 0xDFFF):
                raise self.fail("escape is not a Unicode code point")
            self.pos += len(digits)
            return chr(value)
        raise self.fail(f"unknown escape sequence \\{char}")

    def matcher(self) -> tuple[str, str, str]:
        name = self.take(_LABEL)
        if name is None:
            raise self.fail("expected a label name")
        self.space()
        op = next((o for o in ("=~", "!~", "!=", "=") if self.text.startswith(o, self.pos)), None)
        if op is None:
            raise self.fail("expected one of = != =~ !~")
        self.pos += len(op)
        self.space()
        value = self.string()
        if op in ("=~", "!~"):
            check_re2(value, self)
        return name, op, value

    def selector(self) -> tuple[str | None, list[tuple[str, str, str]]]:
        self.space()
        name = self.take(_METRIC)
        if name is not None and name.lower() in _NOT_METRIC:
            self.pos -= len(name)
            raise self.fail(f"{name!r} is a PromQL keyword, not a metric name")
        self.space()
        matchers: list[tuple[str, str, str]] = []
        if self.peek() == "{":
            self.pos += 1
            self.space()
            while self.peek() != "}":
                matchers.append(self.matcher())
                self.space()
                if self.peek() == ",":
                    self.pos += 1
                    self.space()
                elif self.peek() != "}":
                    raise self.fail("expected ',' or '}'")
            self.pos += 1
            self.space()
        elif name is None:
            raise self.fail("expected a metric name or '{'")
        if self.pos != len(self.text):
            raise self.fail("unexpected text after the selector (ranges, offsets and functions are not selectors)")
        return name, matchers


def check_re2(pattern: str, parser: _Parser | None = None) -> None:
    problem = None
    if _NOT_RE2.search(pattern):
        problem = "uses a construct RE2 does not have (look-around, backreference, atomic or possessive)"
    else:
        try:
            re.compile(pattern)
        except re.error as err:
            problem = f"is not a valid regular expression ({err})"
    if problem:
        if parser is not None:
            raise parser.fail(f"the regex {pattern!r} {problem}")
        raise ValueError(f"{pattern!r} {problem}")


def _matches_empty(op: str, value: str) -> bool:
    if op == "=":
        return value == ""
    if op == "!=":
        return value != ""
    matches = re.fullmatch(f"(?s:{value})", "") is not None
    return matches if op == "=~" else not matches


def check_selector(value: str) -> str:
    name, matchers = _Parser(value).selector()
    # Parsed, but meaningless for federation: Prometheus evaluates these to
    # "every series" or "no series" without an error.
    if name is None and all(_matches_empty(op, v) for _, op, v in matchers):
        raise ValueError(f"{value!r} selects every series: give a metric name or a matcher that cannot match an empty value ({HINT})")
    if name is not None and any(label == "__name__" for label, _, _ in matchers):
        raise ValueError(f"{value!r} names the metric twice ({name!r} and a __name__ matcher)")
    return value
