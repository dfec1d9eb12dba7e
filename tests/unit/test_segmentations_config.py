"""The segmentations section of segmento.yaml: valid examples load, mistakes name file, line and fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from segmento.config import ConfigError, parse_project

EXAMPLE = """\
segmentations:
  - name: rfm
    kind: rfm
    language: fr
  - name: value
    kind: tiers
    feature: spend_12m
    tiers:
      - {id: very_good, label: Très bons, quantile: 0.9}
      - {id: good, min: 300}
      - {id: occasional, above: 0}
      - {id: inactive}
  - name: behaviour
    kind: kmeans
    features: [spend_12m, orders_12m, recency_days, gender]
    categorical: [gender]
    transforms: {spend_12m: log}
    active: orders_lifetime
    k: auto
"""


def test_the_documented_example_loads():
    project = parse_project(EXAMPLE, Path("segmento.yaml"))
    assert [s.kind for s in project.segmentations] == ["rfm", "tiers", "kmeans"]
    assert project.segmentation("value").tiers[0].quantile == 0.9
    with pytest.raises(ConfigError, match="no segmentation named 'nope'; declared: rfm, value, behaviour"):
        project.segmentation("nope")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("segmentations:\n  - name: b\n    kind: kmeans\n    features: [a]\n    kk: 3\n",
         "segmento.yaml, line 5: segmentations.0.kk: unknown key 'kk'; valid keys: name, description, language"),
        ("segmentations:\n  - name: r\n    kind: rfm\n    map:\n      - {id: a, cells: ['r=1-5 f=* m=1-4']}\n",
         "segmento.yaml, line 4: segmentations.0.map: Value error, RFM map must put each of the 125 cells in exactly "
         "one segment: 25 cells are in no segment: R1F1M5"),
        ("segmentations:\n  - name: v\n    kind: tiers\n    tiers:\n      - {id: a, min: 10}\n      - {id: b, min: 20}\n"
         "      - {id: c}\n",
         "segmento.yaml, line 4: segmentations.0.tiers: Value error, tier bounds must decrease"),
        ("segmentations:\n  - name: v\n    kind: tiers\n    tiers:\n      - {id: a}\n      - {id: c}\n",
         "segmento.yaml, line 4: segmentations.0.tiers: Value error, tier a: give exactly one of min, above or quantile"),
        ("segmentations:\n  - name: b\n    kind: kmeans\n    features: [a]\n    categorical: [b]\n",
         "segmento.yaml, line 2: segmentations.0: Value error, categorical names b, not in features (a)"),
        ("segmentations:\n  - {name: v, kind: rfm}\n  - {name: v, kind: rfm}\n",
         "segmento.yaml, line 1: segmentations: Value error, segmentation names must be unique; repeated: v"),
        ("segmentations:\n  - {name: v, kind: dbscan}\n",
         "segmento.yaml, line 2: segmentations.0: Input tag 'dbscan' found using 'kind' does not match any of the "
         "expected tags: 'rfm', 'tiers', 'kmeans'"),
    ],
)
def test_mistakes_name_the_line_and_what_is_valid(text: str, message: str):
    with pytest.raises(ConfigError) as error:
        parse_project(text, Path("segmento.yaml"))
    assert str(error.value).startswith(message)
