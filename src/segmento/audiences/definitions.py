"""Audience definitions: declared in segmento.yaml or through the library, checked together.

A definition is checked against the feature catalog and against the other audiences
(``in_audience()`` references, cycles), and every error says where the rule is written:
the project file and line, or the library.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

import ibis
import pyarrow as pa
from ibis.backends import BaseBackend

from segmento.audiences.ast import EventCount, Node, RuleError, audience_refs, event_counts, fields_of
from segmento.audiences.check import check_rule
from segmento.audiences.parser import parse_rule, suggest
from segmento.audiences.tables import AUDIENCES
from segmento.audiences.settings import AUDIENCE_NAME_PATTERN
from segmento.errors import SegmentoError
from segmento.store.tables import table

if TYPE_CHECKING:
    from segmento.config import Project

NAME = re.compile(AUDIENCE_NAME_PATTERN)
LIBRARY = "library"


class AudienceError(SegmentoError):
    """An audience that cannot be used; the message starts with where it is declared."""


@dataclass(frozen=True)
class Audience:
    """A named, rule-based group of customers. ``where`` is the file and line, or 'library'."""

    name: str
    rule: str
    description: str = ""
    owner: str = ""
    tags: tuple[str, ...] = ()
    where: str = LIBRARY


def check_name(name: str) -> None:
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise AudienceError(
            f"bad audience name {name!r}: use lowercase letters, digits, '_' or '-' (at most 63), e.g. email_vips"
        )


def declared(con: BaseBackend, project: Project | None) -> list[Audience]:
    """Every audience: the project file's, then the library's (stored in the ``audiences`` table)."""
    found: dict[str, Audience] = {}
    for index, item in enumerate(project.audiences if project else []):
        audience = Audience(
            item.name, item.rule, item.description, item.owner, tuple(item.tags),
            project.where("audiences", index, "rule"),
        )
        if item.name in found:
            raise AudienceError(
                f"{project.where('audiences', index, 'name')}: audience {item.name!r} is declared twice "
                f"(first at {found[item.name].where})"
            )
        found[item.name] = audience
    for row in table(con, "audiences").order_by("name").to_pyarrow().to_pylist():
        if row["name"] in found:
            raise AudienceError(
                f"audience {row['name']!r} is declared both in {found[row['name']].where} and through the library; "
                f"drop one (ws.audiences.drop({row['name']!r}))"
            )
        found[row["name"]] = Audience(
            row["name"], row["rule"], row["description"] or "", row["owner"] or "", tuple(row["tags"] or ())
        )
    return list(found.values())


def store(con: BaseBackend, audience: Audience | None, drop: str | None = None) -> None:
    """Add or replace a library audience (or drop one): the table is small, so rewrite it."""
    replaced = {drop, audience.name if audience else None}
    rows = [r for r in table(con, "audiences").to_pyarrow().to_pylist() if r["name"] not in replaced]
    if audience is not None:
        rows.append(
            {
                "name": audience.name,
                "rule": audience.rule,
                "description": audience.description,
                "owner": audience.owner,
                "tags": list(audience.tags),
                "updated_at": datetime.now(),
            }
        )
    saved = pa.Table.from_pylist(rows, schema=AUDIENCES.to_pyarrow())
    con.insert("audiences", ibis.memtable(saved), overwrite=True)


@dataclass
class AudienceSet:
    """Checked audiences, ready to compile: name -> AST, with references resolved."""

    audiences: dict[str, Audience]
    rules: dict[str, Node] = field(default_factory=dict)

    @classmethod
    def check(cls, audiences: Iterable[Audience], fields: Mapping[str, str]) -> AudienceSet:
        """Parse and check every rule against ``fields`` (name -> kind) and the other audiences."""
        by_name = {a.name: a for a in audiences}
        checked = cls(by_name)
        for audience in by_name.values():
            try:
                checked.rules[audience.name] = check_rule(audience.rule, parse_rule(audience.rule), fields, by_name)
            except RuleError as exc:
                raise checked.error(audience, exc) from None
        for name in by_name:
            checked._no_cycle(name, [])
        return checked

    @staticmethod
    def error(audience: Audience, exc: RuleError) -> AudienceError:
        prefix = f"{audience.where}: " if audience.where != LIBRARY else ""
        return AudienceError(f"{prefix}audience {audience.name!r}: {exc}")

    def _no_cycle(self, name: str, path: list[str]) -> None:
        path = [*path, name]
        for ref in audience_refs(self.rules[name]):
            if ref.name in path:
                cycle = " -> ".join([*path[path.index(ref.name) :], ref.name])
                rule = self.audiences[name].rule
                raise self.error(
                    self.audiences[name], RuleError(f"in_audience({ref.name!r}) makes a cycle: {cycle}", rule, ref.span)
                )
            self._no_cycle(ref.name, path)

    @property
    def names(self) -> list[str]:
        return list(self.rules)

    def closure(self, names: Sequence[str]) -> list[str]:
        """``names`` and every audience they refer to, each once."""
        unknown = [n for n in names if n not in self.rules]
        if unknown:
            raise AudienceError(f"unknown audience {unknown[0]!r}{suggest(unknown[0], sorted(self.rules))}")
        seen: dict[str, None] = {}

        def visit(name: str) -> None:
            if name not in seen:
                seen[name] = None
                for ref in audience_refs(self.rules[name]):
                    visit(ref.name)

        for name in names:
            visit(name)
        return list(seen)

    def fields(self, names: Sequence[str]) -> list[str]:
        """Features read by these audiences (and those they refer to), sorted."""
        return sorted({f for n in self.closure(names) for f in fields_of(self.rules[n])})

    def event_counts(self, names: Sequence[str]) -> list[EventCount]:
        return list(dict.fromkeys(e for n in self.closure(names) for e in event_counts(self.rules[n])))
