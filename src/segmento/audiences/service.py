"""The audiences stage for one workspace: what the Workspace, CLI and REST API call.

It holds what is worth keeping between calls: the checked definitions and the
real-time state. Each method hands over to the module that does the work.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import ibis
from ibis.backends import BaseBackend

from segmento.audiences import definitions, history
from segmento.audiences.ast import Node, audience_refs
from segmento.audiences.check import check_rule
from segmento.audiences.definitions import Audience, AudienceError, AudienceSet
from segmento.audiences.evaluate import (
    FeatureSource, catalog_kinds, evaluate, feature_kinds, members, project_features, project_lookback,
)
from segmento.audiences.guidance import Guidance, Thresholds, guidance
from segmento.audiences.history import Change, RefreshReport
from segmento.audiences.instants import instant
from segmento.audiences.parser import parse_rule
from segmento.audiences.realtime import Realtime
from segmento.audiences.tables import MEMBERSHIP_VIEW, current_membership
from segmento.errors import SegmentoError
from segmento.store.backend import staged
from segmento.store.tables import ensure_tables

if TYPE_CHECKING:
    from segmento.config import Project

AsOf = datetime | date | str | None


class Audiences:
    """Definitions, batch evaluation, history, real time and guidance over one knowledge base."""

    def __init__(self, con: BaseBackend, project: Project | None = None, features: FeatureSource | None = None):
        self.con = con
        self.project = project
        self.source = features or project_features(project)
        self.custom_source = features is not None
        self._checked: AudienceSet | None = None
        self._kinds: dict[str, str] | None = None
        self._realtime: Realtime | None = None
        ensure_tables(con)

    # -- definitions --------------------------------------------------------------------

    def list(self) -> list[Audience]:
        """Every audience, from the project file then the library."""
        return list(self.checked().audiences.values())

    def checked(self) -> AudienceSet:
        if self._checked is None:
            self._checked = AudienceSet.check(definitions.declared(self.con, self.project), self.kinds())
        return self._checked

    def kinds(self) -> dict[str, str]:
        """Feature name -> kind, for checking rules."""
        if self._kinds is None:
            self._kinds = (feature_kinds(self.con, self.source) if self.custom_source
                           else catalog_kinds(self.con, self.project))
        return self._kinds

    def define(self, name: str, rule: str, description: str = "", owner: str = "",
               tags: Sequence[str] = ()) -> Audience:
        """Declare (or replace) a library audience; the rule is checked before it is stored."""
        definitions.check_name(name)
        current = self.checked()
        existing = current.audiences.get(name)
        if existing is not None and existing.where != definitions.LIBRARY:
            raise AudienceError(f"audience {name!r} is declared in {existing.where}; change it there")
        audience = Audience(name, rule, description, owner, tuple(tags))
        AudienceSet.check([*(a for a in current.audiences.values() if a.name != name), audience], self.kinds())
        definitions.store(self.con, audience)
        self._changed()
        return audience

    def drop(self, name: str) -> None:
        """Remove a library audience; its members exit at the next refresh."""
        audience = self.checked().audiences.get(name)
        if audience is None or audience.where != definitions.LIBRARY:
            where = f" (declared in {audience.where})" if audience else ""
            raise AudienceError(f"no library audience {name!r} to drop{where}")
        users = [a for a, rule in self.checked().rules.items() if a != name and name in _refs(rule)]
        if users:
            raise AudienceError(f"audience {name!r} is used by in_audience() in: {', '.join(users)}")
        definitions.store(self.con, None, drop=name)
        self._changed()

    def check(self, rule: str) -> None:
        """Raise RuleError if ``rule`` is not valid against the catalog and audiences."""
        check_rule(rule, parse_rule(rule), self.kinds(), self.checked().audiences)

    def _changed(self) -> None:
        self._checked = None
        self._realtime = None

    # -- batch --------------------------------------------------------------------------

    def members(self, name: str, as_of: AsOf = None) -> ibis.Table:
        """customer_id of every member of ``name`` as of ``as_of`` (default now), evaluated in the engine."""
        checked = self.checked()
        checked.closure([name])
        return members(self.con, checked, name, instant(as_of), self.source)

    def evaluate(self, as_of: AsOf = None, names: Sequence[str] | None = None) -> ibis.Table:
        """(customer_id, audience) of every member as of ``as_of``."""
        return evaluate(self.con, self.checked(), instant(as_of), self.source, names)

    def refresh(self, as_of: AsOf = None) -> RefreshReport:
        """Re-evaluate every audience as of ``as_of`` (default now) and record enters and exits."""
        at = instant(as_of)
        if self._realtime is not None and self._realtime.clock is not None and at < self._realtime.clock:
            raise SegmentoError(f"cannot refresh as of {at:%Y-%m-%d %H:%M:%S}: events were evaluated up to "
                             f"{self._realtime.clock:%Y-%m-%d %H:%M:%S} and history only moves forward")
        report = history.refresh(self.con, self.checked(), at, self.source)
        if self._realtime is not None:
            self._realtime.reset()
        return report

    # -- real time ----------------------------------------------------------------------

    @property
    def realtime(self) -> Realtime | None:
        """The real-time state once an event was pushed (its timings, for benchmarks and tests)."""
        return self._realtime

    def push_event(self, event: Mapping[str, Any]) -> list[Change]:
        """Record one event and update that customer's memberships now; returns the changes."""
        return self._engine().push(event)

    def warm(self, at: AsOf = None) -> None:
        """Load the real-time state now (at service start, and at midnight for the new day's static
        features) instead of at the first event: minutes on a 1M-customer base."""
        self._engine().warm(instant(at))

    def ingested(self, table: str, customers: Sequence[str]) -> None:
        """Rows of ``table`` for these customers were just ingested by this process (see Realtime.ingested)."""
        if self._realtime is not None:
            self._realtime.ingested(table, customers)

    def drop_realtime(self) -> None:
        """Forget the real-time state (after an erasure): it is read again from the base when next used."""
        self._realtime = None

    def _engine(self) -> Realtime:
        if self._realtime is None:
            lookback = None if self.custom_source else project_lookback(self.project)  # a custom source: all rows
            self._realtime = Realtime(self.con, self.checked(), self.source, lookback)
        return self._realtime

    # -- history ------------------------------------------------------------------------

    def history(self, customer_id: str | None = None, audience: str | None = None) -> ibis.Table:
        """Membership intervals (entered_at, exited_at NULL while a member) with their reasons."""
        table = self.con.table(MEMBERSHIP_VIEW)
        if customer_id is not None:
            table = table.filter(table.customer_id == customer_id)
        if audience is not None:
            table = table.filter(table.audience == audience)
        return table.order_by(["customer_id", "audience", "entered_at"])

    def changes(self, after_seq: int = 0) -> ibis.Table:
        """Enter/exit records after ``after_seq``, in order."""
        table = self.con.table("audience_changes")
        return table.filter(table.seq > after_seq).order_by("seq")

    def current(self) -> ibis.Table:
        """(customer_id, audience) of every open interval: membership as last recorded."""
        return current_membership(self.con.table("audience_changes"))

    # -- guidance -----------------------------------------------------------------------

    def guidance(self, as_of: AsOf = None, thresholds: Thresholds = Thresholds()) -> Guidance:
        """Sizes, overlaps and granularity warnings of every audience as of ``as_of``."""
        at = instant(as_of)
        checked = self.checked()
        base = self.source(self.con, at, []).count().execute()
        with staged(self.con, evaluate(self.con, checked, at, self.source)) as found:
            return guidance(found, checked.names, int(base), at, thresholds)


def _refs(rule: Node) -> set[str]:
    return {ref.name for ref in audience_refs(rule)}
