"""Renderings of papers as text for other programs (Atom now; BibTeX, RIS, CSL-JSON later)."""
