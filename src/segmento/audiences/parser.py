"""Rule text -> our AST, with sqlglot as the parser.

Analysts already write SQL conditions, so the rule language is a SQL boolean expression
plus two kinds of function: event conditions (``viewed(category = 'tennis', within = '30d')``)
and audience references (``in_audience('vip')``). Only syntax is checked here; names and
types are checked against the feature catalog by :mod:`segmento.audiences.check`.
"""

from __future__ import annotations

import difflib
import re

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import Tokenizer, TokenType

from segmento.audiences.ast import (
    AUDIENCE_FUNCTION,
    EVENT_FUNCTIONS,
    WINDOW_ARGUMENT,
    And,
    AudienceRef,
    Between,
    Compare,
    Contains,
    EventCount,
    Field,
    InList,
    IsNull,
    Like,
    Literal,
    Node,
    Not,
    Or,
    RuleError,
    Span,
)
from segmento.features.settings import WINDOW_PATTERN

FUNCTIONS = (*EVENT_FUNCTIONS, AUDIENCE_FUNCTION)
LIFETIME = "lifetime"
_OPERATORS = {"in", "and", "or", "not", "between", "like", "ilike", "is", "any", "all"}
_COMPARE = {exp.EQ: "=", exp.NEQ: "!=", exp.LT: "<", exp.LTE: "<=", exp.GT: ">", exp.GTE: ">="}
_ARITHMETIC = {exp.Add: "+", exp.Sub: "-", exp.Mul: "*", exp.Div: "/", exp.Mod: "%", exp.DPipe: "||"}


def parse_rule(text: str) -> Node:
    """Parse a rule's text into our AST; syntax errors raise :class:`RuleError` with the position."""
    if not text or not text.strip():
        raise RuleError("the rule is empty", text or "")
    try:
        statements = sqlglot.parse(text, dialect="duckdb")
    except TokenError:
        raise _unclosed_quote(text) from None
    except ParseError as exc:
        raise _unknown_function(text) or _syntax_error(text, exc) from None
    statements = [s for s in statements if s is not None]
    if len(statements) != 1:
        raise RuleError("a rule is one condition; remove the ';'", text, _find(text, ";"))
    return _Converter(text).convert(statements[0])


def suggest(name: str, valid: list[str] | tuple[str, ...]) -> str:
    """"; did you mean 'x'?" when a valid name is close, else nothing."""
    close = difflib.get_close_matches(name, list(valid), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def parse_window(text: str, rule: str, span: Span) -> str | None:
    """A window as features count them ('30d', '6w', '12m', '2y'); 'lifetime' means no window."""
    label = text.strip().lower()
    if not re.fullmatch(WINDOW_PATTERN, label):
        raise RuleError(
            f"{WINDOW_ARGUMENT} = {text!r} is not a window; write a number then d, w, m or y "
            "(e.g. '30d', '12m'), or 'lifetime'",
            rule,
            span,
        )
    return None if label == LIFETIME else label


def _find(text: str, token: str) -> Span | None:
    at = text.find(token)
    return (at, at + len(token)) if at >= 0 else None


def _unknown_function(text: str) -> RuleError | None:
    """A call of a name we do not know, found on tokens: sqlglot reads some names (VIEW) as keywords."""
    tokens = Tokenizer().tokenize(text)
    for token, following in zip(tokens, tokens[1:]):
        name = token.text.lower()
        if following.token_type == TokenType.L_PAREN and re.fullmatch(r"[a-z_][a-z0-9_]*", name):
            if name not in FUNCTIONS and name not in _OPERATORS:
                return RuleError(
                    f"unknown function {name!r}{suggest(name, FUNCTIONS)} (functions: {', '.join(FUNCTIONS)})",
                    text,
                    (token.start, token.end + 1),
                )
    return None


def _unclosed_quote(text: str) -> RuleError:
    """The tokenizer only says it failed; find the quote that is never closed."""
    opened, position = None, 0
    while position < len(text):
        char = text[position]
        if opened is None and char in "'\"":
            opened = position
        elif opened is not None and char == text[opened]:
            if text[position + 1 : position + 2] == char:  # '' inside a string
                position += 1
            else:
                opened = None
        position += 1
    span = (opened, len(text)) if opened is not None else None
    return RuleError("text is not closed: a quote is missing", text, span)


def _syntax_error(text: str, exc: ParseError) -> RuleError:
    error = exc.errors[0] if exc.errors else {}
    highlight = (error.get("highlight") or "").strip()
    line, column = error.get("line"), error.get("col")
    span = None
    if line and column:
        offset = sum(len(part) + 1 for part in text.split("\n")[: line - 1])
        end = offset + column
        span = (end - len(highlight), end) if highlight else (end - 1, end)
    description = error.get("description", str(exc))
    at_end = span is not None and not text[span[1] :].strip()
    if description.startswith("Expecting )"):
        message = "a ')' is missing"
    elif description.startswith("Required keyword") and highlight:
        ending = "the rule ends too early: " if at_end else ""
        message = f"{ending}something is missing after {highlight!r}"
    elif highlight:
        message = f"unexpected {highlight!r}"
    else:
        message = f"not a valid rule: {description}"
    return RuleError(message, text, span)


class _Converter:
    """sqlglot expression -> our AST, rejecting everything outside the rule language."""

    def __init__(self, text: str) -> None:
        self.text = text

    def error(self, message: str, node: exp.Expression) -> RuleError:
        return RuleError(message, self.text, self.span(node))

    def span(self, node: exp.Expression) -> Span | None:
        meta = node.meta if hasattr(node, "meta") else {}
        spans = [(meta["start"], meta["end"] + 1)] if "start" in meta else []
        spans += [s for child in node.iter_expressions() if (s := self.span(child))]
        if not spans:
            return None
        start, end = min(s[0] for s in spans), max(s[1] for s in spans)
        if isinstance(node, (exp.Func, exp.Paren, exp.Tuple)) and ")" in self.text[end:]:
            end = self.text.index(")", end) + 1  # include the closing parenthesis
        return start, end

    def convert(self, node: exp.Expression) -> Node:
        span = self.span(node) or (0, 0)
        kind = type(node)
        if kind is exp.Paren:
            return self.convert(node.this)
        if kind in (exp.And, exp.Or):
            items = [self.convert(part) for part in node.flatten()]
            return (And if kind is exp.And else Or)(tuple(items), span=span)
        if kind is exp.Not:
            return self.negate(node.this, span)
        if kind in _COMPARE:
            return Compare(_COMPARE[kind], self.convert(node.this), self.convert(node.expression), span=span)
        if kind is exp.Between:
            return Between(
                self.convert(node.this), self.convert(node.args["low"]), self.convert(node.args["high"]), span=span
            )
        if kind is exp.In:
            return self.membership(node, span)
        if kind is exp.Is:
            if not isinstance(node.expression, exp.Null):
                raise self.error("IS only tests for NULL; compare values with = instead", node)
            return IsNull(self.convert(node.this), span=span)
        if kind in (exp.Like, exp.ILike):
            if isinstance(node.expression, exp.Escape):
                raise self.error("LIKE ... ESCAPE is not supported", node)
            return Like(
                self.convert(node.this), self.convert(node.expression), case_insensitive=kind is exp.ILike, span=span
            )
        if kind in (exp.Column, exp.Identifier):
            return self.field(node, span)
        if kind is exp.Literal:
            if node.is_string:
                return Literal(node.this, span=span)
            number = float(node.this) if re.search(r"[.eE]", node.this) else int(node.this)
            return Literal(number, span=span)
        if kind is exp.Neg and isinstance(node.this, exp.Literal) and not node.this.is_string:
            value = self.convert(node.this)
            return Literal(-value.value, span=span)
        if kind is exp.Boolean:
            return Literal(bool(node.this), span=span)
        if kind is exp.Null:
            return Literal(None, span=span)
        if isinstance(node, exp.Func):
            return self.function(node, span)
        raise self.unsupported(node)

    def negate(self, inner: exp.Expression, span: Span) -> Node:
        """NOT x IN / IS / LIKE / BETWEEN folds into the node; any other NOT stays a Not."""
        converted = self.convert(inner)
        if isinstance(inner, exp.Paren):
            return Not(converted, span=span)
        if isinstance(converted, (InList, Contains, IsNull, Like, Between)):
            return type(converted)(**{**vars(converted), "negated": not converted.negated, "span": span})
        return Not(converted, span=span)

    def field(self, node: exp.Expression, span: Span) -> Field:
        if isinstance(node, exp.Column) and node.table:
            raise self.error(f"qualified name {node.sql()!r} is not supported; write the field name alone", node)
        identifier = node.this if isinstance(node, exp.Column) else node
        if isinstance(identifier, exp.Star):
            raise self.error("'*' is not a field", node)
        name = identifier.this if identifier.quoted else identifier.this.lower()
        return Field(name, quoted=bool(identifier.quoted), span=span)

    def membership(self, node: exp.In, span: Span) -> Node:
        value = self.convert(node.this)
        if node.args.get("query") is not None:
            raise self.error("subqueries are not supported; list the values: x IN ('a', 'b')", node)
        collection = node.args.get("field")
        if collection is not None:
            return Contains(value, self.convert(collection), span=span)
        options = node.expressions
        if len(options) == 1 and isinstance(options[0], exp.Column) and not isinstance(node.this, exp.Column):
            return Contains(value, self.convert(options[0]), span=span)  # 'tennis' IN (interests_90d)
        return InList(value, tuple(self.convert(o) for o in options), span=span)

    def function(self, node: exp.Func, span: Span) -> Node:
        name = (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).lower()
        name_span = (span[0], span[0] + len(name))
        if name == AUDIENCE_FUNCTION:
            args = node.expressions
            if len(args) != 1 or not (isinstance(args[0], exp.Literal) and args[0].is_string):
                raise RuleError(
                    f"{AUDIENCE_FUNCTION}() takes one audience name in quotes, e.g. {AUDIENCE_FUNCTION}('vip')",
                    self.text,
                    span,
                )
            return AudienceRef(args[0].this, span=span)
        if name not in EVENT_FUNCTIONS:
            raise _unknown_function(self.text) or RuleError(f"unknown function {name!r}", self.text, name_span)
        window, filters = None, []
        for arg in node.expressions if isinstance(node, exp.Anonymous) else node.iter_expressions():
            target = arg.this if isinstance(arg, (exp.EQ, exp.Kwarg, exp.PropertyEQ)) else None
            if target is not None and target.name.lower() == WINDOW_ARGUMENT:
                if not (isinstance(arg.expression, exp.Literal) and arg.expression.is_string):
                    raise self.error(f"{WINDOW_ARGUMENT} takes a window in quotes, e.g. {WINDOW_ARGUMENT} = '30d'", arg)
                if window is not None:
                    raise self.error(f"{WINDOW_ARGUMENT} is given twice", arg)
                window = parse_window(arg.expression.this, self.text, self.span(arg) or span)
            elif isinstance(arg, (exp.Kwarg, exp.PropertyEQ)):
                filters.append(Compare("=", self.field(arg.this, self.span(arg.this)), self.convert(arg.expression),
                                       span=self.span(arg)))
            else:
                filters.append(self.convert(arg))
        where = None if not filters else filters[0] if len(filters) == 1 else And(tuple(filters), span=span)
        return EventCount(name, EVENT_FUNCTIONS[name], where, window, span=span)

    def unsupported(self, node: exp.Expression) -> RuleError:
        kind = type(node)
        if kind in _ARITHMETIC:
            operator = _ARITHMETIC[kind]
            return self.error(f"arithmetic ({operator!r}) is not supported; compare a field with a value", node)
        if kind is exp.Escape:
            return self.error("LIKE ... ESCAPE is not supported; % and _ are the only wildcards", node)
        if kind is exp.Alias:
            return RuleError(f"unexpected {node.alias!r}", self.text, self.span(node.args["alias"]))
        if isinstance(node, (exp.Select, exp.Subquery, exp.Query)):
            return self.error("queries are not supported; write a condition", node)
        return self.error(f"{node.sql(dialect='duckdb')!r} is not supported in rules", node)
