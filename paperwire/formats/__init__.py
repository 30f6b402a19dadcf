"""Papers as text for other programs (Atom, BibTeX, RIS, CSL-JSON, MathML); no web knowledge."""
