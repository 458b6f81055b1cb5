"""token_document: predict, at every word start, whether the word also occurs in another segment
of the same document (ERNIE 2.0's token-document relation).

A document's segments are its sequences: consecutive sentences packed up to max_seq_len - 2
tokens (across paragraph breaks; a longer sentence is cut into pieces). A document that fits in
one segment is cut in two at its middle sentence boundary (sentence n // 2 of n), so every
segment has another one; a one-sentence document has none and is dropped
(`dropped.one_sentence_doc`). Input: [CLS] segment [SEP].

`labels`, per token: at the first piece of a (BERT pre-tokenizer) word, 1 if the word is a word
of any other segment of the document, else 0; -100 for words without a letter or digit, later
pieces and specials. Words are compared as their raw text (cut from the sentence via offsets)
put through the vocab's normalizer and lower-cased: with an uncased vocab "Café" and "cafe" are
the same word, as they are the same tokens. In Chinese every Han character is a word of its own
(BERT pre-tokenization)."""
from __future__ import annotations

from collections import Counter
from typing import Callable, Optional

import pyarrow as pa

from schemas.tasks import IGNORE
from task_builders.base import Context, Labels, Output
from task_builders.sequences import encode, pack_tokens, single, start_words

NAME = "token_document"
VERSION = 1
DATASET = "documents"
LANGS = ("en", "zh")
SETTINGS = ()


def labels(settings) -> Labels:
    return Labels(["only_here", "elsewhere_in_document"])


def normalizer(ctx: Context) -> Callable[[Optional[str]], Optional[str]]:
    """word -> its normalized, lower-cased text; None for no word or one without a letter or digit."""
    normalize = ctx.vocab.tokenizer.normalizer
    cache: dict[str, Optional[str]] = {}

    def word_key(word: Optional[str]) -> Optional[str]:
        if word is None:
            return None
        if word not in cache:
            text = (normalize.normalize_str(word) if normalize else word).lower()
            cache[word] = text if any(c.isalnum() for c in text) else None
        return cache[word]

    return word_key


def build(table: pa.Table, ctx: Context) -> Output:
    out = Output()
    word_key = normalizer(ctx)
    budget = ctx.settings.max_seq_len - 2
    doc_ids = table.column("doc_id").to_pylist()
    documents = table.column("paragraphs").to_pylist()
    flat = [s for paragraphs in documents for p in paragraphs for s in p]
    encoded = iter(encode(ctx, flat))
    texts = iter(flat)
    for doc_id, paragraphs in zip(doc_ids, documents):
        sentences = []
        for _ in range(sum(map(len, paragraphs))):
            text, encoding = next(texts), next(encoded)
            if encoding.ids:
                sentences.append(list(zip(encoding.ids, map(word_key, start_words(text, encoding)))))
        segments = pack_tokens(sentences, budget)
        if len(segments) < 2:
            if len(sentences) < 2:
                out.counts["dropped.one_sentence_doc"] += 1
                continue
            half = len(sentences) // 2
            segments = [[t for s in sentences[:half] for t in s], [t for s in sentences[half:] for t in s]]
        words = [{w for _, w in segment if w} for segment in segments]
        segments_with = Counter(w for segment_words in words for w in segment_words)
        for segment in segments:
            ids, segment_words = zip(*segment)
            input_ids, types = single(ctx, list(ids))
            token_labels = [IGNORE if w is None else int(segments_with[w] > 1) for w in segment_words]
            out.add(doc_id=doc_id, task_id=ctx.task_id, input_ids=input_ids, token_type_ids=types,
                    labels=[IGNORE, *token_labels, IGNORE])
    return out
