"""The README stays true: every CLI command, the config example and the feature catalog."""

import re
from pathlib import Path

import typer.main

from segmento.cli import app
from segmento.cli.reference import reference
from segmento.config import parse_project
from segmento.features import catalog

README = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")


def commands(group, prefix: str = "") -> list[str]:
    found = []
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            found += commands(command, f"{prefix}{name} ")
        else:
            found.append(prefix + name)
    return found


def test_every_cli_command_is_in_the_reference():
    documented = set(re.findall(r"`segmento ([a-z-]+(?: [a-z][a-z-]*)?)", README))
    missing = [c for c in commands(typer.main.get_group(app)) if c not in documented and c.split()[0] not in documented]
    assert missing == []


def test_the_cli_reference_is_the_commands_own():
    assert reference() in README, "regenerate it: python -m segmento.cli.reference"


def test_the_configuration_example_is_a_valid_project():
    block = README[README.index("name: my-shop"):]
    project = parse_project(block[: block.index("```")])
    assert project.segmentations and project.audiences and project.routes and project.dynamics.rules


def test_every_built_in_feature_is_documented():
    missing = [f.name for f in catalog() if f"`{f.name}`" not in README]
    assert missing == []
