"""The README's CLI reference, generated from the commands themselves so it cannot drift.

`python -m segmento.cli.reference` prints the table; a test checks the README holds it.
"""

from __future__ import annotations

from typing import Any

import typer.main

from segmento.cli.app import STAGES, app

COMMON = {"db", "config", "help"}  # every verb takes --db and --config: said once above the table


def usage(path: str, command: Any) -> str:
    """`segmento fit SEGMENTATION --as-of AS_OF [--out OUT]`: arguments, then options (optional in brackets)."""
    words = [f"segmento {path}"]
    for param in command.params:
        if param.name in COMMON:
            continue
        value = param.name.rstrip("_").upper()
        if not param.opts[0].startswith("-"):  # an argument
            words.append(value if param.required else f"[{value}]")
            continue
        flag = max(param.opts, key=len)
        if param.is_flag and param.default is True and param.secondary_opts:
            flag = param.secondary_opts[0]  # on by default: the switch worth showing is --no-...
        shown = flag if param.is_flag else f"{flag} {value}" + (" ..." if param.multiple else "")
        words.append(shown if param.required else f"[{shown}]")
    return " ".join(words)


def summary(command: Any) -> str:
    return (command.help or "").strip().split("\n")[0].rstrip(".")


def rows(path: str, command: Any) -> list[tuple[str, str]]:
    if hasattr(command, "commands"):  # a group: segmento gdpr export ...
        return [row for name, sub in command.commands.items() for row in rows(f"{path} {name}", sub)]
    return [(usage(path, command), summary(command))]


def reference() -> str:
    """The markdown table: one block per stage, in the flow's order."""
    group = typer.main.get_group(app)
    lines = ["| command | what it does |", "|---|---|"]
    for title, module, _ in STAGES:
        lines.append(f"| **{title}** | |")
        for name, command in group.commands.items():
            callback = command.callback or next(iter(command.commands.values())).callback
            if callback.__module__ == module.__name__:
                lines += [f"| `{cell(use)}` | {cell(what)} |" for use, what in rows(name, command)]
    return "\n".join(lines) + "\n"


def cell(text: str) -> str:
    return text.replace("|", "\\|")


if __name__ == "__main__":  # pragma: no cover
    print(reference(), end="")
