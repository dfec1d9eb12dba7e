"""Reading stored segmentation models without loading them: which are fitted, their versions,
the JSON document of one, and its segment labels.

Plain SQL (see store/quick.py), so listing verbs (``segmento models``, the segment names
``segmento alerts`` prints) answer without Ibis, pandas or scikit-learn; ``registry``
turns a document into a working model when one is needed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any

from segmento.errors import NotFoundError
from segmento.store.quick import Source, rows

MODELS = "segmentation_models"  # declared in store/registry_stages.py


def fitted(source: Source) -> list[str]:
    """Names of the segmentations with at least one stored version, sorted."""
    return [row["name"] for row in rows(source, f"SELECT DISTINCT name FROM {MODELS} ORDER BY name")]


def versions(source: Source, name: str) -> list[int]:
    """Stored versions of ``name``, oldest first."""
    return [row["version"] for row in rows(source, f"SELECT version FROM {MODELS} WHERE name = ? ORDER BY version", name)]


def model_document(source: Source, name: str, version: int | None = None) -> dict[str, Any]:
    """The stored JSON document of ``version`` of ``name`` (the latest by default), or a message saying
    what is fitted and how to fit it."""
    known = versions(source, name)
    if not known:
        raise NotFoundError(f"no fitted segmentation {name!r} (fitted: {', '.join(fitted(source)) or 'none'}); "
                            f"fit it first: segmento fit {name} --as-of YYYY-MM-DD")
    wanted = known[-1] if version is None else version
    if wanted not in known:
        raise NotFoundError(f"segmentation {name!r} has no version {wanted}; versions: {', '.join(map(str, known))}")
    found = rows(source, f"SELECT model FROM {MODELS} WHERE name = ? AND version = ?", name, wanted)
    return json.loads(found[0]["model"])


def segment_labels(document: dict[str, Any]) -> dict[str, str]:
    """Segment id -> label, best segment first."""
    return {s["id"]: s["label"] for s in document["state"]["learned"]["segments_"]}


def summary(name: str, version: int, kind: str, as_of: date | str, labels: Sequence[tuple[str, str]]) -> str:
    """One line saying what a model version is: its kind, as-of date and segments (id and label)."""
    segments = ", ".join(f"{id_} ({label})" for id_, label in labels)
    return f"{name} v{version} [{kind}] as of {as_of}: {segments}"


def describe(document: dict[str, Any]) -> str:
    """The summary line of a stored document (the same as ``str()`` of the loaded model)."""
    return summary(document["name"], document["version"], document["kind"], document["as_of"],
                   list(segment_labels(document).items()))
