"""spaCy's English tokenizer rules applied without spaCy (`english_tokenizer.Affixes`, used by the
default English sentence splitter) give spaCy's tokens and token flags: on every space-free chunk
of the samples, on every special case with affixes around it, and on every code point for the
lexical flags; the rules are cached, and a warm cache spares spaCy's import."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from corpus_tools.text import english_tokenizer
from corpus_tools.text.english_sentences import EnglishSentences

SAMPLES = ("enwiki_xml/enwiki-10k.xml", "enwiki_extracted/wiki_00.jsonl", "enwiki_extracted/wiki_00.doc",
           "imdb_unsup/unsup_12k.txt", "gutenberg/84-0.txt", "gutenberg/1342.txt", "gutenberg/1661.txt",
           "reddit/RS_2011-01_head.jsonl", "reddit/RS_2017-09_head.jsonl", "reddit/pushshift_comments_mixed.jsonl",
           "reddit/pushshift_submissions_mixed.jsonl")


@pytest.fixture(scope="module")
def splitter() -> EnglishSentences:
    return EnglishSentences()


@pytest.fixture(scope="module")
def chunks(data) -> list[str]:
    """Every distinct space-free chunk of the English samples (about 230,000)."""
    found: set[str] = set()
    for name in SAMPLES:
        found.update((data / name).read_text(encoding="utf-8", errors="replace").split())
    return sorted(found)


def test_every_chunk_of_the_samples_is_tokenized_as_spacy_does(splitter, chunks):
    """The same token boundaries and the same flags (punctuation, sentence end, quote, opener, lower
    case) as spaCy's tokenizer and lexemes, for every chunk, with its affixes, special cases, URLs."""
    assert len(chunks) > 200_000
    differ = [c for c in chunks if splitter._rule_tokens(c) != splitter._spacy_tokens(c)]
    assert differ == []
    several = sum(len(splitter._rule_tokens(c)) > 2 for c in chunks)
    assert several > 20_000  # many chunks really are cut (")." "U.S.," "don't")


def test_special_cases_with_affixes_around_them(splitter):
    """Special cases ("Mr.", "D.C.", "'s", ":)", "10a.m.") glued to brackets, quotes and punctuation,
    and to each other: the special-case matcher's ground (tokenizer.pyx's _apply_special_cases)."""
    specials = [s for s in splitter.affixes.specials if not any(c.isspace() for c in s)]
    assert len(specials) > 1000
    chunks = {f"{before}{s}{after}" for s in specials
              for before, after in (("(", ")."), ('"', '",'), ("", "'s"), ("[", ":)"), ("...", "?!"), ("“", "”."))}
    chunks |= {f"{a}{joint}{b}" for a, b in zip(specials, specials[1:] + specials[:1]) for joint in ("", "-", ".")}
    differ = [c for c in sorted(chunks) if splitter._rule_tokens(c) != splitter._spacy_tokens(c)]
    assert differ == []


def test_lexical_flags_are_spacys_on_every_code_point():
    from spacy.lang.lex_attrs import is_left_punct, is_punct, is_quote

    texts = [chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF]
    texts += ["''", "``", '""', "(("]
    for text in texts:
        assert english_tokenizer.is_punct(text) == is_punct(text), hex(ord(text[0]))
        assert (text in english_tokenizer.QUOTES) == is_quote(text), text
        assert (text in english_tokenizer.LEFT_PUNCT) == is_left_punct(text), text


def test_the_rules_are_cached_and_a_warm_cache_spares_spacys_import(tmp_path, monkeypatch):
    monkeypatch.setenv("ERNIE_CACHE_DIR", str(tmp_path))
    first = english_tokenizer.rules()
    (cached,) = tmp_path.glob("spacy-en-rules-*.json")
    assert json.loads(cached.read_text(encoding="utf-8")) == first == english_tokenizer.export_rules()
    assert {"Mr.", "D.C.", "'s", ":)"} <= set(first["specials"]) and {".", "!", "?"} <= set(first["punct_chars"])
    without = english_tokenizer.Affixes({k: v for k, v in first.items() if k != "matched"})
    assert set(first["matched"]) == without.matched and len(without.matched) > 300  # derived, cached as such
    code = ("import sys\n"
            "from corpus_tools.text.sentences import splitter\n"
            "print(splitter('en').split(['Mr. Smith moved to the U.S. in 1999 (to D.C.). It worked! Did it?']))\n"
            "print(sorted(m for m in ('spacy', 'thinc') if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[1],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    sentences, imported = done.stdout.strip().splitlines()
    assert sentences == str([["Mr. Smith moved to the U.S. in 1999 (to D.C.).", "It worked!", "Did it?"]])
    assert imported == "[]"


def test_an_unwritable_cache_still_gives_the_rules(tmp_path, monkeypatch):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("ERNIE_CACHE_DIR", str(blocked))
    assert english_tokenizer.rules() == english_tokenizer.export_rules()
    text = "Dr. Jones met Mrs. Smith at St. Paul's, i.e. the cathedral. They left."
    assert EnglishSentences().split([text]) == [["Dr. Jones met Mrs. Smith at St. Paul's, i.e. the cathedral.",
                                                 "They left."]]
