"""A 200-paper collection exported to BibTeX, RIS and CSL-JSON and imported back into new
collections gives the same 200 papers with their notes and tags; the same through the CLI
(`paperwire library import|export|list|show`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from paperwire import library
from paperwire.cli import cli
from paperwire.formats.bibtex import to_bibtex
from paperwire.formats.csl import to_csl_json
from paperwire.formats.ris import to_ris
from paperwire.library_jobs import import_text
from paperwire.settings import Settings
from paperwire.store import Store
from tests.formats_data import sample_papers
from tests.helpers import make_user

EXPORTS = {"bibtex": to_bibtex, "ris": to_ris, "csl-json": to_csl_json}


def _notes(store: Store, got: library.Access) -> dict[str, tuple[str | None, tuple[str, ...]]]:
    return {i.paper.arxiv_id: (i.note, i.tags) for i in library.items(store, got) if i.paper}


@pytest.mark.parametrize("fmt", list(EXPORTS))
def test_200_papers_round_trip_with_notes_and_tags(store: Store, fmt: str) -> None:
    papers = sample_papers(200)
    store.write_batch(papers)
    ann = make_user(store)
    source = library.create(store, ann, "Source")
    for n, p in enumerate(papers):
        library.save(store, ann, p.arxiv_id, source.id, note=f"note {n}: {{braces}} & 50%",
                     tags=[f"tag{n % 7}", "shared"])
    got = library.access(store, ann, source.id)
    expected = _notes(store, got)
    text = EXPORTS[fmt](library.export_items(store, got))
    target = library.create(store, ann, f"Back from {fmt}")
    report = import_text(store, ann, target.id, text, fmt)
    assert (report.total_matched, report.rejected, report.unmatched) == (200, [], [])
    assert report.matched["arxiv"] == 200
    assert _notes(store, library.access(store, ann, target.id)) == expected
    assert import_text(store, ann, target.id, text, fmt).added == 0


def test_cli_imports_exports_lists_and_shows(tmp_path: Path) -> None:
    home = tmp_path / "home"
    settings = Settings(home=home, progress=False)
    with Store.open(settings) as store:
        store.write_batch(sample_papers(5))
        make_user(store, "ada@example.org")
    first = sample_papers(5)[0]
    refs = tmp_path / "refs.bib"
    refs.write_text(f"@misc{{a, title={{X}}, author={{Q}}, eprint={{{first.arxiv_id}}},"
                    " keywords={thesis}}\n@book{b, title={Not here}, author={Ada Lovelace}}\n"
                    "@article{c,\n", encoding="utf-8")

    def run(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(cli, ["--home", str(home), "--no-progress", *args])
        return result.exit_code, result.output

    code, out = run("library", "import", str(refs), "--user", "ada@example.org",
                    "--collection", "Thesis", "--no-fetch")
    assert code == 0, out
    assert "1 matched" in out and "1 unmatched (kept)" in out and "1 rejected" in out
    assert "unmatched: line 2 (b): Not here" in out and "rejected: line 3 (c)" in out
    code, again = run("library", "import", str(refs), "--user", "ada@example.org",
                      "--collection", "thesis", "--no-fetch")
    assert code == 0 and "0 added" in again
    code, listed = run("library", "list", "--user", "ada@example.org")
    assert code == 0 and "Thesis  (2 items, private)" in listed
    code, shown = run("library", "show", "--user", "ada@example.org", "--collection", "Thesis")
    assert f"{first.arxiv_id}  " in shown and "[thesis]" in shown and "unmatched  Not here" in shown
    out_file = tmp_path / "out.ris"
    code, _ = run("library", "export", "--user", "ada@example.org", "--collection", "Thesis",
                  "--format", "ris", "-o", str(out_file))
    assert code == 0 and f"arxiv.org/abs/{first.arxiv_id}" in out_file.read_text()
    code, missing = run("library", "export", "--user", "ada@example.org", "--collection",
                        "Nope")
    assert code == 1 and "no collection named 'Nope'" in missing
