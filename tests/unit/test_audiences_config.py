"""Audiences declared in segmento.yaml and through the library: errors name the file and line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import ibis
import pytest

from segmento.audiences.definitions import AudienceError
from segmento.audiences.service import Audiences
from segmento.config import ConfigError, parse_project
from segmento.store.tables import ensure_tables

YAML = Path("segmento.yaml")


def project(text: str):
    return parse_project(textwrap.dedent(text), YAML)


@pytest.fixture
def con():
    backend = ibis.duckdb.connect()
    ensure_tables(backend)
    return backend


def test_the_section_reads_name_rule_description_owner_tags() -> None:
    p = project(
        """\
        audiences:
          - name: men_30_40_tennis
            rule: gender = 'M' AND age BETWEEN 30 AND 40 AND 'tennis' IN interests_90d
            description: Men 30 to 40 interested in tennis
            owner: crm-team
            tags: [sport, profile]
        """
    )
    [a] = p.audiences
    assert (a.name, a.owner, a.tags) == ("men_30_40_tennis", "crm-team", ["sport", "profile"])
    assert p.where("audiences", 0, "rule") == "segmento.yaml, line 3"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            """\
            audiences:
              - name: bad
                rule: "age >= "
            """,
            "segmento.yaml, line 3: audiences.0.rule: the rule ends too early: something is missing after '>=' "
            "(at column 5)\n  age >= \n      ^^",
        ),
        (
            """\
            audiences:
              - name: VIP clients
                rule: spend_12m > 1000
            """,
            "segmento.yaml, line 2: audiences.0.name: bad audience name 'VIP clients': use lowercase letters, "
            "digits, '_' or '-' (at most 63), e.g. email_vips",
        ),
        (
            """\
            audiences:
              - name: vip
                rule: spend_12m > 1000
                colour: gold
            """,
            "segmento.yaml, line 4: audiences.0.colour: unknown key 'colour'; valid keys: name, rule, description, "
            "owner, tags",
        ),
    ],
)
def test_config_errors_name_the_line(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        project(text)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            """\
            audiences:
              - name: vip
                rule: spend_12m > 1000
              - name: men
                rule: gender = 'M' AND agee BETWEEN 30 AND 40
            """,
            "segmento.yaml, line 5: audience 'men': unknown field 'agee'; did you mean 'age'? (at column 18)\n"
            "  gender = 'M' AND agee BETWEEN 30 AND 40\n                   ^^^^",
        ),
        (
            """\
            audiences:
              - name: vip
                rule: spend_12m > 1000
              - name: vip
                rule: spend_12m > 2000
            """,
            "segmento.yaml, line 4: audience 'vip' is declared twice (first at segmento.yaml, line 3)",
        ),
        (
            """\
            audiences:
              - name: a
                rule: in_audience('b') AND age > 30
              - name: b
                rule: in_audience('a')
            """,
            "segmento.yaml, line 5: audience 'b': in_audience('a') makes a cycle: a -> b -> a (at column 1)\n"
            "  in_audience('a')\n  ^^^^^^^^^^^^^^^^",
        ),
    ],
)
def test_rules_are_checked_against_the_catalog_with_the_line(con, text: str, message: str) -> None:
    with pytest.raises(AudienceError) as caught:
        Audiences(con, project(text)).list()
    assert str(caught.value) == message


def test_library_audiences_are_stored_checked_and_kept_apart_from_the_file(con) -> None:
    p = project(
        """\
        audiences:
          - name: vip
            rule: spend_12m > 1000
        """
    )
    audiences = Audiences(con, p)
    audiences.define("email_vips", "in_audience('vip') AND consent_email", owner="crm", tags=["email"])
    assert [(a.name, a.where) for a in Audiences(con, p).list()] == [
        ("vip", "segmento.yaml, line 3"),
        ("email_vips", "library"),
    ]
    stored = Audiences(con, p).list()[1]
    assert (stored.owner, stored.tags) == ("crm", ("email",))
    with pytest.raises(AudienceError, match="^audience 'vip' is declared in segmento.yaml, line 3; change it there$"):
        audiences.define("vip", "spend_12m > 10")
    with pytest.raises(AudienceError, match=r"^audience 'x': unknown field 'spend_12'; did you mean 'spend_12m'\?"):
        audiences.define("x", "spend_12 > 10")
    with pytest.raises(AudienceError, match="^bad audience name 'Big Spenders'"):
        audiences.define("Big Spenders", "spend_12m > 10")
    audiences.define("big", "spend_12m > 5000")
    audiences.define("big", "spend_12m > 8000", description="raised")
    assert [a.rule for a in audiences.list() if a.name == "big"] == ["spend_12m > 8000"]
    declared_in_file = r"^no library audience 'vip' to drop \(declared in segmento.yaml, line 3\)$"
    with pytest.raises(AudienceError, match=declared_in_file):
        audiences.drop("vip")
    audiences.drop("big")
    assert [a.name for a in audiences.list()] == ["vip", "email_vips"]


def test_an_audience_used_by_another_cannot_be_dropped(con) -> None:
    audiences = Audiences(con)
    audiences.define("vip", "spend_12m > 1000")
    audiences.define("email_vips", "in_audience('vip') AND consent_email")
    with pytest.raises(AudienceError, match="^audience 'vip' is used by in_audience\\(\\) in: email_vips$"):
        audiences.drop("vip")
