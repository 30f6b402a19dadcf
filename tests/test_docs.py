"""The documentation stays in step with the code: every setting and CLI command is described."""

from __future__ import annotations

from pathlib import Path

import click

from paperwire.cli import cli
from paperwire.settings import SETTINGS, Settings, settings_table_markdown

ROOT = Path(__file__).resolve().parents[1]


def test_settings_doc_is_generated_from_the_table() -> None:
    doc = (ROOT / "docs" / "settings.md").read_text()
    assert settings_table_markdown() in doc, "regenerate: paperwire settings"


def test_every_declared_setting_is_a_field_with_the_same_default() -> None:
    defaults = Settings()
    for setting in SETTINGS:
        value = getattr(defaults, setting.name)
        expected = Path(setting.default) if isinstance(value, Path) else setting.default
        assert value == expected, setting.name
    assert {s.name for s in SETTINGS} == set(Settings.__dataclass_fields__)


def _commands(group: click.Group, prefix: str = "") -> list[str]:
    names = []
    for name, command in group.commands.items():
        full = f"{prefix}{name}"
        if isinstance(command, click.Group):
            names.extend(_commands(command, full + " "))
        else:
            names.append(full)
    return names


def test_readme_mentions_every_command() -> None:
    readme = (ROOT / "README.md").read_text()
    for name in _commands(cli):
        assert f"paperwire {name}" in readme, f"README does not mention `paperwire {name}`"


def test_public_api_is_explicit_and_sorted() -> None:
    import paperwire

    assert paperwire.__all__ == sorted(paperwire.__all__)
    for name in paperwire.__all__:
        assert getattr(paperwire, name) is not None, name
