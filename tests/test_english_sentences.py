"""The default English splitter (`EnglishSentences`) gives the sentences of spaCy's blank("en") +
sentencizer with our quote, bracket and dialogue-tag fixes (`SpacySentences(None)`, the reference it
replaced): on real samples, on the promised cases, and on the cases where only spaCy's tokenizer
knows (abbreviations, decimals, initials, quotes, brackets, odd whitespace); the chunks it tokenizes
without spaCy are tokenized exactly as spaCy does; a configured model still splits with its parser."""
from __future__ import annotations

import json

import pytest

from corpus_tools.ingest.markup import to_sections
from corpus_tools.ingest.readers.books import read as read_book
from corpus_tools.ingest.readers.options import ReadOptions
from corpus_tools.text import english_sentences
from corpus_tools.text.english_sentences import EnglishSentences
from corpus_tools.text.normalize import normalize
from corpus_tools.text.sentences import SpacySentences, splitter
from nlp_libs.spacy_loading import WINDOW_CHARS, resolve_spacy_model


@pytest.fixture(scope="module")
def new() -> EnglishSentences:
    return EnglishSentences()


@pytest.fixture(scope="module")
def reference() -> SpacySentences:
    return SpacySentences(None)


@pytest.fixture(scope="module")
def samples(data) -> dict[str, list[str]]:
    """Normalized paragraphs of four kinds of English text, a few hundred each."""
    wiki = []
    for line in (data / "enwiki_extracted" / "wiki_00.jsonl").read_text(encoding="utf-8").splitlines()[:6]:
        wiki += [normalize(p) for _, p in to_sections("lines", json.loads(line)["text"])]
    book = next(read_book(data / "gutenberg" / "84-0.txt", ReadOptions()))
    books = [normalize(p) for _, p in to_sections(book.markup, book.text)][:600]
    with open(data / "imdb_unsup" / "unsup_12k.txt", encoding="utf-8") as fh:
        imdb = [normalize(next(fh)) for _ in range(300)]
    reddit = []
    for line in (data / "reddit" / "RS_2017-09_head.jsonl").read_text(encoding="utf-8").splitlines():
        text = json.loads(line).get("selftext", "")
        if text not in ("", "[deleted]", "[removed]"):
            reddit += [normalize(p) for p in text.split("\n\n") if p.strip()]
    return {"wiki": wiki, "books": books, "imdb": imdb, "reddit": reddit}


def boundary_f1(paragraphs: list[str], reference: list[list[str]], new: list[list[str]]) -> float:
    """Pooled F1 of the offsets where a paragraph's second, third ... sentence starts."""
    hits = n_ref = n_new = 0
    for paragraph, want, got in zip(paragraphs, reference, new):
        want, got = _starts(paragraph, want), _starts(paragraph, got)
        hits, n_ref, n_new = hits + len(want & got), n_ref + len(want), n_new + len(got)
    precision, recall = hits / max(n_new, 1), hits / max(n_ref, 1)
    return 2 * precision * recall / (precision + recall)


def _starts(paragraph: str, sentences: list[str]) -> set[int]:
    out, cursor = set(), 0
    for k, sentence in enumerate(sentences):
        cursor = paragraph.index(sentence, cursor)
        if k:
            out.add(cursor)
        cursor += len(sentence)
    return out


def test_the_default_english_splitter_is_the_fast_one_and_keeps_the_promised_cases_whole():
    assert isinstance(splitter("en"), EnglishSentences)
    text = "Mr. Smith moved to the U.S. in 1999. Pi is about 3.14 and ERNIE 2.0 is a model. It works!"
    assert splitter("en").split([text]) == [[
        "Mr. Smith moved to the U.S. in 1999.", "Pi is about 3.14 and ERNIE 2.0 is a model.", "It works!"]]


@pytest.mark.parametrize("kind", ["wiki", "books", "imdb", "reddit"])
def test_boundaries_agree_with_spacy_on_real_text(samples, new, reference, kind):
    paragraphs = samples[kind]
    want, got = reference.split(paragraphs), new.split(paragraphs)
    assert sum(map(len, want)) > len(paragraphs)  # really split
    assert boundary_f1(paragraphs, want, got) >= 0.99
    assert got == want  # in fact the same sentences: the boundaries are spaCy's by construction


CASES = {
    "abbreviations": ("Dr. Jones met Mrs. Smith at St. Paul's, i.e. the cathedral, vs. the abbey, and left. "
                      "They went to Washington, D.C. on Jan. 5. Prof. Lee came too.",
                      ["Dr. Jones met Mrs. Smith at St. Paul's, i.e. the cathedral, vs. the abbey, and left.",
                       "They went to Washington, D.C. on Jan. 5.", "Prof. Lee came too."]),
    "decimals": ("It cost $2.5 million, or 3.14 times more. Version 2.0.1 shipped at 10.30 a.m. today.",
                 ["It cost $2.5 million, or 3.14 times more.", "Version 2.0.1 shipped at 10.30 a.m. today."]),
    "initials": ("J. K. Rowling met George W. Bush. In World War I. Many died. The U.S.A. won.",
                 ["J. K. Rowling met George W. Bush.", "In World War I. Many died.", "The U.S.A. won."]),
    "quotes": ('It was over. "On the other hand," he said, "it is warm." \'Fine.\' Then it ended. '
               "He said \u201cStop.\u201d Then he left.",
               ["It was over.", '"On the other hand," he said, "it is warm."', "'Fine.'", "Then it ended.",
                "He said \u201cStop.\u201d", "Then he left."]),
    "dialogue tags": ('"Why?" he asked. "Go!" she cried. "Really?" Nobody answered.',
                      ['"Why?" he asked.', '"Go!" she cried.', '"Really?"', "Nobody answered."]),
    "brackets": ("It ended. (See the notes.) Then it began [again]. (It did.)",
                 ["It ended.", "(See the notes.)", "Then it began [again].", "(It did.)"]),
    # spaCy's tokenizer decides odd text too: a quote glued after the stop opens the next sentence
    "glued and repeated": ("The end.The next one?! Wait... what? No!!! Fine.\u201dDone",
                           ["The end.", "The next one?!", "Wait... what?", "No!!!", "Fine.", "\u201dDone"]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_hand_written_cases_match_spacy(new, reference, name):
    text, expected = CASES[name]
    assert reference.split([text]) == [expected]  # what spaCy's tokenizer and our fixes decide ...
    assert new.split([text]) == [expected]  # ... and the new splitter


def test_text_that_is_not_single_spaced_goes_to_spacy_and_long_paragraphs_in_windows(new, reference, samples):
    odd = ["Line one.\nLine two. Next", "Two  spaces. Here\ttab. End. ", " Leading. Space", "A.\u00a0B. C",
           "", "   "]
    assert new.split(odd) == reference.split(odd)
    long = " ".join(samples["books"])[: 2 * WINDOW_CHARS + 5000]  # three windows, the later ones start with " "
    assert new.split([long]) == reference.split([long])


def test_chunks_tokenized_without_spacy_are_tokenized_as_spacy_does(new, samples):
    """Every chunk of the samples that `_plain_tokens` takes, against the tokenizer itself."""
    chunks = {c for paragraphs in samples.values() for p in paragraphs for c in p.split(" ")}
    chunks |= {"said.", "USA.", "J.", "I.", "McD.", "x.", "a.M", "cannot.", 'it."', "'em", '"When', "end.The"}
    taken = 0
    for chunk in sorted(chunks):
        plain = new._plain_tokens(chunk)
        if plain is None:
            continue
        assert plain == new._spacy_tokens(chunk), chunk  # the same cuts and the same token attributes
        taken += 1
    assert taken > 1000


def test_output_is_deterministic_whatever_the_cache_holds(samples, monkeypatch):
    paragraphs = samples["imdb"][:100]
    first = EnglishSentences().split(paragraphs)
    monkeypatch.setattr(english_sentences, "CACHE_CHUNKS", 5)  # cleared again and again
    small_cache = EnglishSentences()
    assert small_cache.split(paragraphs) == first and small_cache.split(paragraphs[::-1]) == first[::-1]


def test_a_configured_spacy_model_still_splits_with_its_own_pipeline():
    model = splitter("en", resolve_spacy_model(None))
    assert isinstance(model, SpacySentences) and (model.nlp.has_pipe("parser") or model.nlp.has_pipe("senter"))
    assert model.split(["Mr. Smith moved to the U.S. in 1999. He liked it."]) == [[
        "Mr. Smith moved to the U.S. in 1999.", "He liked it."]]
