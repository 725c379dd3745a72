"""docs/cli.md documents every command, flag and variable the code has (so it cannot drift)."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import click

from streams.cli.main import main
from streams.config import Settings, env_name

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "cli.md").read_text("utf-8")


def test_every_command_has_a_section_listing_its_flags():
    assert set(main.commands) == {"worker", "ingest", "tail", "replay", "demo", "config", "check", "eval"}
    for name, command in main.commands.items():
        heading = f"## `wirestream {name}`"
        assert heading in DOC, heading
        section = DOC.split(heading, 1)[1].split("\n## ", 1)[0]
        for param in command.params:
            if not isinstance(param, click.Option) or param.hidden:
                continue
            for flag in param.opts + param.secondary_opts:
                if flag in ("-h", "--help"):
                    continue
                assert f"`{flag}" in section or f"`{flag} " in section or f" {flag}`" in section, (name, flag)
        for param in command.params:
            if isinstance(param, click.Argument) and isinstance(param.type, click.Choice):
                for choice in param.type.choices:
                    assert choice in section, (name, choice)


def test_every_setting_is_in_the_variables_table():
    table = DOC.split("## Variables", 1)[1]
    for f in fields(Settings):
        assert f"`{env_name(f.name)}`" in table, env_name(f.name)


def test_exit_codes_are_documented():
    table = DOC.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    for code in ("| 0 |", "| 1 |", "| 2 |", "| 130 |"):
        assert code in table
