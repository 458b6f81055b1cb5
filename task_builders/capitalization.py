"""capitalization: predict, at every word start, whether the word is capitalized in the raw text.

Input: [CLS] s_i s_i+1 ... [SEP], consecutive sentences of a document packed up to max_seq_len
(across paragraph breaks; a sentence longer than that is cut into pieces, never dropped).
The input is lower-cased before tokenization, also with a cased vocab (an uncased vocab
lower-cases anyway), so it never reveals the case; labels come from the original sentence text.

`labels`, per token: 1 at the first piece of a (BERT pre-tokenizer) word whose first character
is upper-case in the raw text, 0 if it is lower-case, -100 for words that do not start with a
cased letter (digits, punctuation, Han characters), for later pieces of a word and for specials.
English only: the engine skips rows of languages without case."""
from __future__ import annotations

from typing import Optional

import pyarrow as pa

from schemas.tasks import IGNORE, task_schema
from task_builders.base import Context, Labels, Output, TaskSettings
from task_builders.sequences import encode, lower_same_length, pack_tokens, single, start_words

NAME = "capitalization"
SUMMARY = "is each word capitalized? (en only; input lower-cased)"
VERSION = 1
DATASET = "documents"
LANGS = ("en",)
HEAD = "token"
SCHEMA = task_schema(HEAD)
Settings = TaskSettings  # no options of its own


def labels(settings) -> Labels:
    return Labels(["lower", "capitalized"])


def word_label(word: Optional[str]) -> int:
    """1 for a capitalized word, 0 for a lower-case one, IGNORE otherwise (or for no word start)."""
    if not word:
        return IGNORE
    return 1 if word[0].isupper() else 0 if word[0].islower() else IGNORE


def build(table: pa.Table, ctx: Context) -> Output:
    out = Output()
    budget = ctx.settings.max_seq_len - 2
    doc_ids = table.column("doc_id").to_pylist()
    documents = table.column("paragraphs").to_pylist()
    flat = [s for paragraphs in documents for p in paragraphs for s in p]
    encoded = iter(encode(ctx, [lower_same_length(s) for s in flat]))
    texts = iter(flat)
    for doc_id, paragraphs in zip(doc_ids, documents):
        sentences = []
        for _ in range(sum(map(len, paragraphs))):
            text, encoding = next(texts), next(encoded)
            sentences.append(list(zip(encoding.ids, map(word_label, start_words(text, encoding)))))
        for tokens in pack_tokens([s for s in sentences if s], budget):
            ids, token_labels = zip(*tokens)
            input_ids, types = single(ctx, list(ids))
            out.add(doc_id=doc_id, task_id=ctx.task_id, input_ids=input_ids, token_type_ids=types,
                    labels=[IGNORE, *token_labels, IGNORE])
    return out
