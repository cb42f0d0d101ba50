"""The README against the code it describes: every command and option of `botes` in it, and its Layout section
naming every module of the package and nothing that is not there."""

from __future__ import annotations

import re
from typing import Any

import pytest
import typer.main

from pipeline.cli import app
from tests.conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start:end if end != -1 else None]


def _commands(group: Any, prefix: str = "botes") -> dict[str, Any]:
    """Every command by its full name (`botes index stats`); typer's click commands and groups (its own copy of
    click, hence no isinstance)."""
    found: dict[str, Any] = {}
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            found |= _commands(command, f"{prefix} {name}")
        else:
            found[f"{prefix} {name}"] = command
    return found


COMMANDS = _commands(typer.main.get_group(app))


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_is_in_the_commands_table(name: str) -> None:
    assert f"`{name}" in _section("Commands"), f"README's Commands table has no row for `{name}`"


@pytest.mark.parametrize(("name", "option"), sorted(
    (name, option) for name, command in COMMANDS.items() for parameter in command.params
    if parameter.param_type_name == "option" for option in parameter.opts
    if option.startswith("--") and option != "--help"))
def test_every_option_is_in_the_readme(name: str, option: str) -> None:
    assert re.search(rf"{re.escape(option)}\b", README), f"README never mentions {name} {option}"


def test_the_layout_names_every_module_and_only_files_that_exist() -> None:
    layout = _section("Layout")
    modules = {path.name for path in (REPO / "pipeline").rglob("*.py")} - {"__init__.py", "__main__.py"}
    assert not {name for name in modules if name not in layout}, "README's Layout leaves modules out"
    named = set(re.findall(r"\b([a-z_0-9]+\.(?:py|sh))\b", layout))
    existing = modules | {path.name for path in (REPO / "scripts").iterdir()}
    assert not named - existing, f"README's Layout names files that do not exist: {sorted(named - existing)}"


def test_the_checks_can_fail() -> None:
    assert {"botes index stats", "botes scot serve", "botes report"} <= set(COMMANDS) and "botes index" not in COMMANDS
    assert "`botes report" in _section("Commands") and "`botes no-such-command" not in _section("Commands")
    assert "csv_feed.py" not in _section("Layout")
