"""What the workspace reads from the dynamics stage: periods, transitions, trajectories, the
Markov view with its interval and backtest, alerts with their totals, and period checks.

A mixin of :class:`segmento.workspace.Workspace` (it needs ``con`` and ``project``); each
method imports its module when called, so opening a workspace loads none of them.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import ibis
    from ibis.backends import BaseBackend

    from segmento.config import Project
    from segmento.dynamics.forecast import Backtest
    from segmento.dynamics.markov import MarkovModel
    from segmento.dynamics.trajectories import Trajectories
    from segmento.dynamics.transitions import TransitionMatrix


class DynamicsReads:
    """Read-only views of the snapshots, Markov model and alerts."""

    con: BaseBackend
    project: Project

    def periods(self, segmentation: str) -> list[date]:
        """Period ends with a snapshot of ``segmentation``, oldest first."""
        from segmento.dynamics.store import taken_periods

        return taken_periods(self.con, segmentation)

    def transitions(self, segmentation: str, from_period: date | str, to_period: date | str) -> TransitionMatrix:
        """Transition matrix between two snapshot periods ('YYYY-MM' means that month's end)."""
        from segmento.dynamics.periods import period_end
        from segmento.dynamics.transitions import transition_matrix

        grid = self.project.dynamics.grid
        self._known(segmentation)
        return transition_matrix(self.con, segmentation, period_end(from_period, grid), period_end(to_period, grid))

    def trajectories(self, segmentation: str, last: int = 6, customer_id: str | None = None) -> Trajectories:
        """Paths over the last ``last`` snapshot periods."""
        from segmento.dynamics.store import require_snapshots
        from segmento.dynamics.trajectories import trajectories

        self._known(segmentation)
        return trajectories(self.con, segmentation, require_snapshots(self.con, segmentation)[-last:], customer_id)

    def markov(self, segmentation: str, window: int | None = None) -> MarkovModel:
        """The Markov view over the last ``window`` period pairs (project default when omitted)."""
        from segmento.dynamics.markov import fit_markov

        self._known(segmentation)
        return fit_markov(self.con, segmentation, window or self.project.dynamics.markov_window)

    def segment_value(self, segmentation: str, period: date | str | None = None) -> Any:
        """Mean p_alive and clv_12m, and total clv_12m, per segment at a snapshot period (default: the latest)."""
        from segmento.dynamics.markov import segment_value
        from segmento.dynamics.periods import period_end
        from segmento.dynamics.store import require_snapshots

        self._known(segmentation)
        grid = self.project.dynamics.grid
        when = period_end(period, grid) if period is not None else require_snapshots(self.con, segmentation)[-1]
        return segment_value(self.con, segmentation, when, self.project)

    def _known(self, segmentation: str) -> None:
        from segmento.dynamics.store import require_segmentation

        require_segmentation(self.con, segmentation, [s.name for s in self.project.segmentations])

    def markov_interval(self, segmentation: str, steps: int = 6, level: float = 0.9) -> Any:
        """Forecast mix (with inflow) 0..steps ahead with its ``level`` interval from Dirichlet draws of P (DataFrame)."""
        from segmento.dynamics.forecast import forecast_interval

        return forecast_interval(self.markov(segmentation), steps, level)

    def markov_backtest(self, segmentation: str, horizon: int = 6) -> Backtest:
        """The forecast made ``horizon`` periods back against the mix actually observed, with its error."""
        from segmento.dynamics.forecast import backtest

        return backtest(self.con, segmentation, horizon, self.project.dynamics.markov_window)

    def alerts(self, **filters: Any) -> ibis.Table:
        """Stored trajectory alerts, latest period then highest value at stake first, with their reasons
        (filters: period, kind, rule, min_priority, limit)."""
        from segmento.dynamics.alerts import list_alerts

        return list_alerts(self.con, **filters)

    def alert_totals(self, **filters: Any) -> Any:
        """Alerts and value at stake per period, kind and rule, latest period first (a DataFrame; filters:
        period, kind, rule)."""
        import pandas as pd

        from segmento.dynamics.alert_reads import alert_totals

        totals = pd.DataFrame(alert_totals(self.con, **filters), columns=["period", "kind", "rule", "alerts", "value_at_stake"])
        return totals.assign(period=pd.to_datetime(totals.period))  # as in ``alerts().to_pandas()``

    def period_checks(self, segmentation: str | None = None) -> ibis.Table:
        """Per snapshot period: complete feature windows or not (and why), and the data's span then."""
        from segmento.dynamics.freshness import period_checks

        return period_checks(self.con, segmentation)
