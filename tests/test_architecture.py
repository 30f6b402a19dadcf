"""The package's shape, read from its source: no import cycles, no import against the pipeline
order of ../shared/STYLE.md ("data flows up this list; nothing imports from a line above it"),
no module over 500 lines. The checker itself is shown to fail on a planted package."""

from __future__ import annotations

from pathlib import Path

from tests.architecture import (
    circles,
    cycles,
    import_graph,
    layer_of,
    long_modules,
    unassigned,
    upward_imports,
)

PACKAGE = Path(__file__).resolve().parents[1] / "paperwire"
MAX_LINES = 500

# The pipeline, first stage first: a module may import its own layer (without a cycle) and
# the layers before it, never a later one. A name covers its subpackage's modules. Placed
# beyond STYLE.md's list:
# - taxonomy (arXiv's category names) is domain vocabulary, beside the models;
# - signals imports another service's votes source → store, a stage like ingest, beside it;
# - submissions (fetch a paper a user brings, keep it) is community, beside accounts;
# - subscriptions (what a subscription request is, its confirmation mail) validates saved
#   searches with search's own query rules, so it comes after search, beside digest, the
#   stage that reads subscriptions;
# - __main__ is the CLI's ``python -m`` door.
# paperwire/__init__.py re-exports the public API and sits outside the order: nothing inside
# the package may import it.
LAYERS: tuple[tuple[str, ...], ...] = (
    # arXiv's calendar (schedule, schedule_data) is domain knowledge, like its taxonomy.
    # Names in normal form (paperwire.names) are domain vocabulary too: the store links
    # authors as it writes papers.
    ("paperwire.settings", "paperwire.models", "paperwire.errors", "paperwire.taxonomy",
     "paperwire.names", "paperwire.links",
     "paperwire.schedule", "paperwire.schedule_data"),
    ("paperwire.sources",),
    ("paperwire.store",),
    ("paperwire.formats",),
    # The Zotero source's records are citations (formats.citations' CitationEntry, the type
    # the .bib/.ris parsers return), so it reads after formats, not with the other sources.
    ("paperwire.sources.zotero",),
    ("paperwire.mail", "paperwire.mail_queue", "paperwire.throttle", "paperwire.signing"),
    ("paperwire.ingest", "paperwire.signals"),
    ("paperwire.index",),
    # The library's stages: matching (pure), collections, groups, imports, in that order.
    ("paperwire.trending", "paperwire.accounts", "paperwire.library", "paperwire.discussion",
     "paperwire.library_import", "paperwire.library_groups", "paperwire.library_jobs",
     "paperwire.authors",
     "paperwire.submissions"),
    ("paperwire.search", "paperwire.recommend"),
    ("paperwire.evaluate", "paperwire.recommend.evaluation"),
    # convergence (the web's background index sync) reads the Searcher's choice of backend.
    # For you (profiles, then their ranking) feeds the digest's first section.
    ("paperwire.for_you", "paperwire.for_you_models", "paperwire.for_you_rank",
     "paperwire.alerts"),
    ("paperwire.digest_render", "paperwire.digest", "paperwire.subscriptions",
     "paperwire.background",
     "paperwire.convergence", "paperwire.notifications"),
    # The MCP server sits below the web app (STYLE.md draws it above): the web app mounts it
    # at /mcp, and it needs nothing of the web package.
    ("paperwire.mcp", "paperwire.mcp_tools"),
    ("paperwire.web",),
    ("paperwire.worker",),
    ("paperwire.cli", "paperwire.__main__"),
)
OUTSIDE = ("paperwire",)


def test_no_import_cycles() -> None:
    graph = import_graph(PACKAGE)
    found = [f"{' -> '.join(cycle)}  (a circle of {len(group)}: {', '.join(sorted(group))})"
             for cycle, group in zip(cycles(graph), circles(graph), strict=True)]
    assert not found, "import cycles:\n" + "\n".join(found)


def test_every_module_has_a_layer() -> None:
    missing = unassigned(import_graph(PACKAGE), LAYERS, OUTSIDE)
    assert not missing, f"place these modules in LAYERS: {missing}"


def test_no_import_from_a_later_stage() -> None:
    found = upward_imports(import_graph(PACKAGE), LAYERS, OUTSIDE)
    assert not found, "imports against the pipeline order:\n" + "\n".join(found)


def test_no_module_over_500_lines() -> None:
    found = long_modules(PACKAGE, MAX_LINES)
    assert not found, f"modules over {MAX_LINES} lines: {found}"


def test_test_modules_do_not_import_each_other() -> None:
    # Shared helpers live in tests/helpers.py, tests/app.py and the like, not in test modules.
    graph = import_graph(PACKAGE.parent / "tests")
    found = sorted(f"{importer} imports {imported}" for importer, imports in graph.items()
                   for imported in imports
                   if importer.startswith("tests.test_") and imported.startswith("tests.test_"))
    assert not found, found


# --- the checker, on a planted package ------------------------------------------------------
def plant(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root / "pkg"


def test_the_checker_names_a_planted_cycle_through_every_kind_of_import(tmp_path: Path
                                                                      ) -> None:
    package = plant(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/low.py": "import os\n",
        # a function-level relative import of a submodule
        "pkg/a.py": "def f():\n    from . import b\n",
        # an absolute import inside a subpackage back up to the first module
        "pkg/sub/__init__.py": "",
        "pkg/b.py": "from pkg.sub import c\n",
        "pkg/sub/c.py": "from ..a import f\nfrom pkg import low\n",
    })
    graph = import_graph(package)
    assert graph["pkg.a"] == {"pkg.b"} and graph["pkg.b"] == {"pkg.sub.c"}
    assert graph["pkg.sub.c"] == {"pkg.a", "pkg.low"}
    assert cycles(graph) == [["pkg.a", "pkg.b", "pkg.sub.c", "pkg.a"]]
    assert circles(graph) == [{"pkg.a", "pkg.b", "pkg.sub.c"}]
    # Break it: no cycle is left.
    (package / "a.py").write_text("def f():\n    return None\n", encoding="utf-8")
    assert cycles(import_graph(package)) == []


def test_the_checker_refuses_a_planted_upward_import(tmp_path: Path) -> None:
    package = plant(tmp_path, {
        "pkg/__init__.py": "from pkg.high import run\n",
        "pkg/base.py": "X = 1\n",
        "pkg/high.py": "from pkg.base import X\n\ndef run():\n    return X\n",
        "pkg/store/__init__.py": "from pkg.store.rows import Row\n",
        "pkg/store/rows.py": "import typing\nif typing.TYPE_CHECKING:\n"
                             "    from pkg.high import run\nRow = int\n",
        "pkg/stray.py": "import pkg\n",
    })
    layers = (("pkg.base",), ("pkg.store",), ("pkg.high", "pkg.stray"))
    graph = import_graph(package)
    assert layer_of("pkg.store.rows", layers) == 1 and layer_of("pkg.new", layers) is None
    assert upward_imports(graph, layers, ("pkg",)) == [
        "pkg.store.rows (layer 1: pkg.store) imports pkg.high (layer 2: pkg.high, pkg.stray)",
        "pkg.stray imports pkg, which sits outside the layers",
    ]
    assert cycles(graph) == []  # upward, but not (yet) circular
    # A module no layer names is reported, so a new one must be placed deliberately.
    (package / "new.py").write_text("", encoding="utf-8")
    assert unassigned(import_graph(package), layers, ("pkg",)) == ["pkg.new"]


def test_the_checker_counts_lines(tmp_path: Path) -> None:
    package = plant(tmp_path, {"pkg/__init__.py": "", "pkg/big.py": "x = 1\n" * 501,
                               "pkg/fine.py": "x = 1\n" * 500})
    assert long_modules(package, 500) == ["pkg.big: 501 lines"]
