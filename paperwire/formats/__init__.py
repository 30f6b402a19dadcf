"""Paper(s) -> text in citation and markup formats, with no web knowledge."""
