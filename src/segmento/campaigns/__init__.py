"""Campaigns: first-class data with a control group, results by segment, and the loop back.

A campaign (declared under ``campaigns:`` or created through the CLI, API or library)
targets an audience, a segment or a trajectory alert rule (a journey) and goes out
through a destination. At launch (or as alerts are raised, for a journey), the targets
who can be reached on its channel are split by a keyed draw into treated (sent) and
control (held out, never sent); both are recorded. Results compare the two groups, in
total and per segment, with confidence intervals.

launch (activation's outbox and holdout) -> targets -> results (uplift by segment);
history: the customers' campaign history as features (the loop back into audiences and segmentations).
The modules are imported where used (``segmento.campaigns.api.Campaigns`` is ``Workspace.campaigns``).
"""
