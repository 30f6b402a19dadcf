"""The documentation stays in step with the code: every setting and CLI command is described."""

from __future__ import annotations

import importlib
import inspect
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


# The public Python API, pinned as httpx pins its own: adding, removing or renaming a name is
# a decision made here, in review, and not a side effect of moving code around.
PUBLIC_API = [
    "ConfigError",
    "Filters",
    "HarvestError",
    "HarvestState",
    "Hit",
    "IngestReport",
    "InvalidRecord",
    "Limits",
    "Paper",
    "PaperwireError",
    "QueryError",
    "Rejection",
    "Results",
    "Searcher",
    "Settings",
    "Source",
    "SourceError",
    "Store",
    "StoreError",
    "WriteResult",
    "ingest",
    "parse_arxiv_id",
]


def test_public_api_is_explicit_and_sorted() -> None:
    import paperwire

    assert paperwire.__all__ == sorted(paperwire.__all__) == PUBLIC_API
    # Every name is importable from the top and is the object its home module defines.
    public = {name for name in dir(paperwire) if not name.startswith("_")}
    modules = {name for name in public if inspect.ismodule(getattr(paperwire, name))}
    assert public - modules == set(PUBLIC_API), "names exported without __all__ saying so"
    for name in PUBLIC_API:
        value = getattr(paperwire, name)
        home = importlib.import_module(value.__module__)
        assert getattr(home, value.__name__) is value, name
        assert value.__name__ == name and value.__module__.startswith("paperwire."), name
