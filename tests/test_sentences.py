"""Sentence splitting on the real samples: abbreviations, initials and decimals stay whole,
Chinese sentences end at their terminators with closing quotes attached."""
from __future__ import annotations

import json
import re

import pytest

from corpus_tools.ingest.markup import to_sections
from corpus_tools.text.normalize import normalize
from corpus_tools.ingest.readers.books import read as read_book
from corpus_tools.ingest.readers.options import ReadOptions
from corpus_tools.text.sentences import splitter, split_zh

ABBREVIATED = re.compile(r"\b(?:Mr|Mrs|Dr|St)\.|\bU\.S\.|\d+\.\d+")


@pytest.fixture(scope="module")
def english_paragraphs(data) -> list[str]:
    """Paragraphs of the WikiExtractor sample and Pride and Prejudice, normalized as ingest does."""
    paragraphs = []
    for line in (data / "enwiki_extracted" / "wiki_00.jsonl").read_text(encoding="utf-8").splitlines():
        paragraphs += [p for _, p in to_sections("lines", json.loads(line)["text"])]
    book = next(read_book(data / "gutenberg" / "1342.txt", ReadOptions()))
    paragraphs += [p for _, p in to_sections(book.markup, book.text)]
    return [normalize(p) for p in paragraphs]


def test_english_abbreviations_and_decimals_are_never_split(english_paragraphs):
    split = splitter("en").split(english_paragraphs)
    checked = 0
    for paragraph, sentences in zip(english_paragraphs, split):
        expected = ABBREVIATED.findall(paragraph)
        if not expected:
            continue
        found = [m for s in sentences for m in ABBREVIATED.findall(s)]
        assert found == expected, paragraph[:200]
        assert not any(re.search(r"\b(?:Mr|Mrs|Dr)\.$", s) for s in sentences), sentences
        checked += len(expected)
    assert checked > 1000  # "Mr. Darcy", "U.S.", "3.5 million" ... all seen whole


def test_english_sentences_cover_the_paragraph(english_paragraphs):
    split = splitter("en").split(english_paragraphs[:300])
    for paragraph, sentences in zip(english_paragraphs[:300], split):
        assert " ".join(sentences).split() == paragraph.split()
    assert sum(len(s) for s in split) > 2 * len(split)  # really split, not one sentence per paragraph


def test_hand_written_english_cases():
    text = "Mr. Smith moved to the U.S. in 1999. Pi is about 3.14 and ERNIE 2.0 is a model. It works!"
    assert splitter("en").split([text]) == [[
        "Mr. Smith moved to the U.S. in 1999.", "Pi is about 3.14 and ERNIE 2.0 is a model.", "It works!"]]
    quotes = 'It was over. "On the other hand," he said, "it is warm." "Why?" she asked. Then it ended.'
    assert splitter("en").split([quotes]) == [[
        "It was over.", '"On the other hand," he said, "it is warm."', '"Why?" she asked.', "Then it ended."]]


def test_chinese_sentences_end_at_terminators_with_quotes_attached(data):
    paragraphs = []
    for line in (data / "zhwiki_extracted" / "wiki_00.jsonl").read_text(encoding="utf-8").splitlines()[:20]:
        paragraphs += [normalize(p) for _, p in to_sections("lines", json.loads(line)["text"])]
    total = 0
    for paragraph in paragraphs:
        sentences = split_zh(paragraph)
        assert "".join(sentences).replace(" ", "") == paragraph.replace(" ", "")
        for sentence in sentences[:-1]:
            assert re.search(r"(?:[。!?;]+|…+|\.{3,})[”’」』)》】\"']*$", sentence), sentence
        assert not any(s[0] in "”’」』)》】" for s in sentences)
        total += len(sentences)
    assert total > 2 * len(paragraphs)


def test_hand_written_chinese_cases():
    text = normalize("他说：“你好！”然后走了。ERNIE 2.0很好，圆周率是3.14。真的吗？是的……好吧；再见")
    assert split_zh(text) == ["他说:“你好!”", "然后走了。", "ERNIE 2.0很好,圆周率是3.14。", "真的吗?", "是的......",
                              "好吧;", "再见"]


def test_hanlp_splitter_is_available_offline(data):
    line = (data / "zhwiki_extracted" / "wiki_00.jsonl").read_text(encoding="utf-8").splitlines()[0]
    paragraph = [p for _, p in to_sections("lines", json.loads(line)["text"])][1]
    sentences = splitter("zh", zh_splitter="hanlp").split([paragraph])[0]
    assert len(sentences) > 1 and "".join(sentences) == paragraph.replace("\n", "")
