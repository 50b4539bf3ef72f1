"""The `$filter` subset Spiris accepts, as a real parser: tokenizer, recursive descent, compiled predicates.

Supported: `eq ne gt ge lt le`, `and or not`, parentheses, single-quoted strings (`''` escapes a quote),
unquoted GUIDs, numbers, booleans, `null`, unquoted `yyyy-MM-dd` dates and ISO date-times with or without
`Z`/offset, unary minus, `year() month() day()`, `contains() startswith() endswith() tolower() toupper()`, and
lambdas `Collection/any(x: ...)` / `all(...)` with paths such as `x/Text`. Properties are checked against the
resource's schema: unknown or unfilterable properties and syntax errors raise `FilterError(6000)`; a malformed
date literal raises `FilterError(6001)`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from spiris_sandbox.schemas import UNFILTERABLE, Schema

QUERY_PARAMETER_ERROR = 6000
INVALID_INPUT = 6001

Predicate = Callable[[dict[str, Any]], bool]
Evaluator = Callable[[dict[str, Any], dict[str, Any]], Any]


class FilterError(Exception):
    """A rejected filter, carrying the Spiris error code (6000 syntax/property, 6001 bad date)."""

    def __init__(self, message: str, *, code: int = QUERY_PARAMETER_ERROR) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Guid:
    value: str


@dataclass(frozen=True)
class Token:
    kind: str  # ident, string, guid, datetime, number, punct
    text: str
    value: Any
    position: int


_TOKEN_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("ws", re.compile(r"\s+")),
    ("string", re.compile(r"'(?:[^']|'')*'")),
    (
        "guid",
        re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?![\w-])"),
    ),
    ("datetime", re.compile(r"\d{4}-\d{1,2}-\d{1,2}T[\d:.]+(?:Z|[+-]\d{2}:?\d{2})?(?![\w:.-])")),
    ("date", re.compile(r"\d{4}-\d{1,2}-\d{1,2}(?![\w:.-])")),
    ("number", re.compile(r"\d+(?:\.\d+)?(?![\w-])")),
    ("ident", re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:/[A-Za-z_][A-Za-z0-9_]*)*")),
    ("punct", re.compile(r"[(),:\-]")),
)
_DATE_SHAPE = re.compile(
    r"^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,7})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$"
)
_COMPARISONS = frozenset({"eq", "ne", "gt", "ge", "lt", "le"})
_KEYWORDS = _COMPARISONS | {"and", "or", "not"}


def parse_datetime_literal(text: str) -> datetime:
    """A date or date-time literal as naive UTC; raises `FilterError(6001)` when it is not a real date."""
    if not _DATE_SHAPE.match(text):
        raise FilterError(f"Invalid date/time format: '{text}'.", code=INVALID_INPUT)
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise FilterError(f"Invalid date/time format: '{text}'.", code=INVALID_INPUT) from exc
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    while position < len(text):
        for kind, pattern in _TOKEN_PATTERNS:
            match = pattern.match(text, position)
            if match is None:
                continue
            raw = match.group(0)
            if kind == "string":
                tokens.append(Token("string", raw, raw[1:-1].replace("''", "'"), position))
            elif kind == "guid":
                tokens.append(Token("guid", raw, Guid(raw.lower()), position))
            elif kind in ("datetime", "date"):
                tokens.append(Token("datetime", raw, parse_datetime_literal(raw), position))
            elif kind == "number":
                tokens.append(Token("number", raw, Decimal(raw), position))
            elif kind != "ws":
                tokens.append(Token(kind, raw, raw, position))
            position = match.end()
            break
        else:
            raise FilterError(f"Syntax error at position {position} in $filter.")
    return tokens


def _normalise(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, Decimal | datetime | Guid):
        return value
    if isinstance(value, int | float):
        return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    return value


def _coerce_pair(left: Any, right: Any) -> tuple[Any, Any] | None:
    """Bring two operands to one comparable type, or None when they cannot be compared."""
    left, right = _normalise(left), _normalise(right)
    if isinstance(left, Guid) or isinstance(right, Guid):
        return str(getattr(left, "value", left)).lower(), str(getattr(right, "value", right)).lower()
    if isinstance(left, datetime) != isinstance(right, datetime):
        left, right = _as_datetime(left), _as_datetime(right)
        if left is None or right is None:
            return None
    if isinstance(left, Decimal) != isinstance(right, Decimal):
        try:
            left, right = Decimal(str(left)), Decimal(str(right))
        except InvalidOperation:
            return None
    if isinstance(left, bool) != isinstance(right, bool):
        return None
    return left, right


def _compare(op: str, left: Any, right: Any) -> bool:
    if left is None or right is None:
        if op == "eq":
            return left is None and right is None
        if op == "ne":
            return not (left is None and right is None)
        return False
    pair = _coerce_pair(left, right)
    if pair is None:
        return op == "ne"
    a, b = pair
    try:
        if op == "eq":
            return bool(a == b)
        if op == "ne":
            return bool(a != b)
        if op == "gt":
            return bool(a > b)
        if op == "ge":
            return bool(a >= b)
        if op == "lt":
            return bool(a < b)
        return bool(a <= b)
    except TypeError:
        return False


def _as_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed
    return None


def _date_part(part: str) -> Callable[[Any], Any]:
    def extract(value: Any) -> Any:
        moment = _as_datetime(value)
        return None if moment is None else Decimal(getattr(moment, part))

    return extract


def _text(value: Any) -> str:
    return "" if value is None else str(getattr(value, "value", value))


_FUNCTIONS: dict[str, tuple[int, Callable[..., Any]]] = {
    "year": (1, _date_part("year")),
    "month": (1, _date_part("month")),
    "day": (1, _date_part("day")),
    "contains": (2, lambda a, b: _text(b).lower() in _text(a).lower()),
    "startswith": (2, lambda a, b: _text(a).lower().startswith(_text(b).lower())),
    "endswith": (2, lambda a, b: _text(a).lower().endswith(_text(b).lower())),
    "tolower": (1, lambda a: None if a is None else _text(a).lower()),
    "toupper": (1, lambda a: None if a is None else _text(a).upper()),
}


def _is_date_field(name: str) -> bool:
    return name.endswith(("Date", "Utc"))


class _Parser:
    def __init__(self, tokens: list[Token], schema: Schema) -> None:
        self._tokens = tokens
        self._index = 0
        self._schema = schema
        self._scopes: list[dict[str, Schema | None]] = []

    # -- token helpers --------------------------------------------------------------------------------------
    def _peek(self, offset: int = 0) -> Token | None:
        index = self._index + offset
        return self._tokens[index] if index < len(self._tokens) else None

    def _next(self) -> Token:
        token = self._peek()
        if token is None:
            raise FilterError("Unexpected end of $filter.")
        self._index += 1
        return token

    def _expect(self, text: str) -> None:
        token = self._next()
        if token.text != text:
            raise FilterError(f"Expected '{text}' at position {token.position} in $filter.")

    def _at_keyword(self, word: str) -> bool:
        token = self._peek()
        return token is not None and token.kind == "ident" and token.text.lower() == word

    # -- grammar --------------------------------------------------------------------------------------------
    def parse(self) -> Evaluator:
        if not self._tokens:
            raise FilterError("Empty $filter.")
        expression = self._or()
        token = self._peek()
        if token is not None:
            raise FilterError(f"Unexpected '{token.text}' at position {token.position} in $filter.")
        return expression

    def _or(self) -> Evaluator:
        left = self._and()
        while self._at_keyword("or"):
            self._next()
            right = self._and()
            left = (lambda a, b: lambda item, env: bool(a(item, env)) or bool(b(item, env)))(left, right)
        return left

    def _and(self) -> Evaluator:
        left = self._not()
        while self._at_keyword("and"):
            self._next()
            right = self._not()
            left = (lambda a, b: lambda item, env: bool(a(item, env)) and bool(b(item, env)))(left, right)
        return left

    def _not(self) -> Evaluator:
        if self._at_keyword("not"):
            self._next()
            inner = self._not()
            return lambda item, env: not inner(item, env)
        return self._comparison()

    def _comparison(self) -> Evaluator:
        left, left_field = self._value()
        token = self._peek()
        if token is None or token.kind != "ident" or token.text.lower() not in _COMPARISONS:
            return left
        op = self._next().text.lower()
        left_literal = self._tokens[self._index - 2]
        right_literal = self._peek()
        right, right_field = self._value()
        # A quoted string compared with a date field must be a date (a bad one is 6001, as in Spiris).
        if (
            left_field
            and _is_date_field(left_field)
            and right_literal is not None
            and right_literal.kind == "string"
        ):
            moment = parse_datetime_literal(right_literal.value)
            right = lambda item, env: moment  # noqa: E731
        if right_field and _is_date_field(right_field) and left_literal.kind == "string":
            moment_left = parse_datetime_literal(left_literal.value)
            left = lambda item, env: moment_left  # noqa: E731
        return lambda item, env: _compare(op, left(item, env), right(item, env))

    def _value(self) -> tuple[Evaluator, str | None]:
        token = self._next()
        if token.text == "(":
            inner = self._or()
            self._expect(")")
            return inner, None
        if token.text == "-":
            operand, _ = self._value()
            return (lambda item, env: None if (v := _normalise(operand(item, env))) is None else -v), None
        if token.kind in ("string", "guid", "datetime", "number"):
            value = token.value
            return (lambda item, env: value), None
        if token.kind != "ident":
            raise FilterError(f"Unexpected '{token.text}' at position {token.position} in $filter.")
        lowered = token.text.lower()
        if lowered in ("true", "false"):
            flag = lowered == "true"
            return (lambda item, env: flag), None
        if lowered == "null":
            return (lambda item, env: None), None
        if lowered in _KEYWORDS:
            raise FilterError(f"Unexpected '{token.text}' at position {token.position} in $filter.")
        following = self._peek()
        if lowered in _FUNCTIONS and following is not None and following.text == "(":
            return self._function(lowered), None
        return self._path(token)

    def _function(self, name: str) -> Evaluator:
        arity, function = _FUNCTIONS[name]
        self._expect("(")
        arguments = [self._or()]
        while self._peek() is not None and self._peek().text == ",":  # type: ignore[union-attr]
            self._next()
            arguments.append(self._or())
        self._expect(")")
        if len(arguments) != arity:
            raise FilterError(f"{name}() takes {arity} argument(s).")
        return lambda item, env: function(*(argument(item, env) for argument in arguments))

    def _resolve(
        self, segments: list[str], position: int
    ) -> tuple[list[str], str | None, Schema | None, bool]:
        """Canonical segment names, the lambda variable (if the path starts with one), the last schema."""
        variable: str | None = None
        schema: Schema | None = self._schema
        names: list[str] = []
        first = segments[0]
        for scope in reversed(self._scopes):
            if first in scope:
                variable = first
                schema = scope[first]
                segments = segments[1:]
                break
        is_scalar = False
        for segment in segments:
            if schema is None:
                raise FilterError(f"Property '{segment}' not found at position {position} in $filter.")
            match = next((name for name in schema if name.lower() == segment.lower()), None)
            if match is None or match in UNFILTERABLE:
                raise FilterError(f"Property '{segment}' is unknown or not filterable.")
            names.append(match)
            schema = schema[match]
            is_scalar = schema is None
        return names, variable, schema, is_scalar

    def _path(self, token: Token) -> tuple[Evaluator, str | None]:
        segments = token.text.split("/")
        following = self._peek()
        if segments[-1].lower() in ("any", "all") and following is not None and following.text == "(":
            return self._lambda(segments[:-1], segments[-1].lower(), token.position), None
        names, variable, _, _ = self._resolve(segments, token.position)

        def get(item: dict[str, Any], env: dict[str, Any]) -> Any:
            value: Any = env.get(variable) if variable else item
            for name in names:
                if not isinstance(value, dict):
                    return None
                value = value.get(name)
            return value

        return get, (names[-1] if names else None)

    def _lambda(self, segments: list[str], kind: str, position: int) -> Evaluator:
        if not segments:
            raise FilterError(f"{kind}() needs a collection at position {position} in $filter.")
        names, variable, element_schema, _ = self._resolve(segments, position)
        self._expect("(")
        closing = self._peek()
        if closing is not None and closing.text == ")":
            self._next()

            def non_empty(item: dict[str, Any], env: dict[str, Any]) -> bool:
                value: Any = env.get(variable) if variable else item
                for name in names:
                    value = value.get(name) if isinstance(value, dict) else None
                return bool(value)

            return non_empty
        name_token = self._next()
        if name_token.kind != "ident":
            raise FilterError(f"Expected a lambda variable at position {name_token.position} in $filter.")
        self._expect(":")
        self._scopes.append({name_token.text: element_schema})
        body = self._or()
        self._scopes.pop()
        self._expect(")")
        var = name_token.text

        def evaluate(item: dict[str, Any], env: dict[str, Any]) -> bool:
            value: Any = env.get(variable) if variable else item
            for name in names:
                value = value.get(name) if isinstance(value, dict) else None
            elements = value if isinstance(value, list) else []
            results = (bool(body(item, {**env, var: element})) for element in elements)
            return any(results) if kind == "any" else all(results)

        return evaluate


def compile_filter(text: str, schema: Schema) -> Predicate:
    """Parse `text` against `schema` into a predicate over records; raises `FilterError`."""
    evaluator = _Parser(tokenize(text), schema).parse()
    return lambda item: bool(evaluator(item, {}))
