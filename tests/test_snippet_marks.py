"""Snippet marks found through the candidate-word pattern equal those of stemming every word."""

from __future__ import annotations

import random
import re

from paperwire.index.lexical import analyse
from paperwire.index.snippets import candidate_words, matched_words
from tests.shared_data import arxiv_records

WORD = re.compile(r"\w+")


def stem(word: str) -> str:
    analysed = analyse(word)
    return analysed[0] if analysed else ""


def every_word(abstract: str, terms: set[str]) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in WORD.finditer(abstract) if stem(m.group()) in terms]


def test_every_word_of_real_abstracts_is_found_as_by_stemming_all() -> None:
    abstracts = [r["summary"] for r in arxiv_records(1500)]
    vocabulary = sorted({w for a in abstracts for w in WORD.findall(a)})
    # Each word against its own stem: the stemmer's every ending rule is met somewhere here.
    for word in vocabulary:
        terms = set(analyse(word))
        assert matched_words(word, terms, candidate_words(terms), stem) == \
            every_word(word, terms), word
    rng = random.Random(7)
    for _ in range(300):
        terms = set(analyse(" ".join(rng.sample(vocabulary, 4))))
        for abstract in rng.sample(abstracts, 5):
            assert matched_words(abstract, terms, candidate_words(terms), stem) == \
                every_word(abstract, terms)


def test_words_the_analyser_splits_and_text_outside_ascii() -> None:
    terms = set(analyse("studies ability news"))
    words = candidate_words(terms)
    text = "A study_of _abilities; NEWS, Studied ability. Étude des capacités: studying"
    assert matched_words(text, terms, words, stem) == every_word(text, terms)
    assert [text[a:b] for a, b in matched_words(text, terms, words, stem)] == \
        ["study_of", "_abilities", "NEWS", "Studied", "ability", "studying"]
    assert candidate_words(set(analyse("étude"))) is None  # a term outside ASCII: every word
    assert matched_words(text, set(), words, stem) == []
