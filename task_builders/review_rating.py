"""review_rating: did the reviewer rate it high or low? The rating is taken out of the text first.

Not one of the ERNIE 2.0 paper's tasks: a customized task, added as the paper's framework allows,
for review corpora. Many reviews state their own score ("8/10", "2 out of 10", "4/5"). That score
is a label the writer gave without being asked, as the emoticons of Go et al. (2009) and the emoji
of DeepMoji (Felbo et al. 2017) are: distant supervision from unlabelled text, the way
ir_relevance learns from clicks. At this project's budgets an MLM places "great" next to "awful"
(their contexts are alike; docs/RESULTS.md); this task is one that reaches polarity.

Per document: every rating in its text is found (a number over 10 or over 5, written with "/"
or "out of", digits or words; "100/10" counts as 10), scaled to 10 and then removed from the
sentences, all of them, so the score cannot be read off the input. A document whose ratings are all >= 7 is
positive (0), all <= 4 negative (1); a document with none, with a 5 or 6, or with ratings on both
sides gives no example (counted as no_rating, middle_rating, mixed_ratings). Its sentences are
packed into sequences of up to max_seq_len - 2 pieces, [CLS] text [SEP], each labelled with the
document's rating: a long review gives several examples. No draws: the output depends on the
documents only.

English only (the patterns are English); of IMDb's 12,000 unlabelled reviews 9.7% carry a score,
four in five of them positive.
"""
from __future__ import annotations

import re

import pyarrow as pa

from schemas.tasks import task_schema
from task_builders.base import Context, Labels, Output, TaskSettings
from task_builders.sequences import encode_ids, pack_tokens, single

NAME = "review_rating"
SUMMARY = "0 positive (rated >= 7 of 10), 1 negative (<= 4), the rating cut out of the text"
VERSION = 1
DATASET = "documents"
LANGS = ("en",)
HEAD = "sequence"
IN_ALL = False  # reviews only: `build --task all` leaves it out
SCHEMA = task_schema(HEAD)
Settings = TaskSettings  # no options of its own

WORDS = {w: i for i, w in enumerate("zero one two three four five six seven eight nine ten".split())}
_NUMBER = r"(\d{1,3}(?:\.\d+)?|" + "|".join(WORDS) + r")"
RATING = re.compile(rf"(?<!\w)(?<!\d\.){_NUMBER}\s*(?:/|out\s+of)\s*(10|ten|5|five)(?![\w.]*\d)(?:\s*stars?)?",
                    re.IGNORECASE)
POSITIVE_FROM, NEGATIVE_TO = 7.0, 4.0


def labels(settings) -> Labels:
    return Labels(["positive", "negative"])


def rating(text: str) -> tuple[list[float], str]:
    """The ratings found in `text`, scaled to 10, and the text without them."""
    found = []
    for match in RATING.finditer(text):
        value, scale = (float(WORDS.get(g.lower(), g)) for g in match.groups())
        found.append(min(value, scale) * 10 / scale)  # "100/10" is a 10
    return found, RATING.sub("", text) if found else text


def build(table: pa.Table, ctx: Context) -> Output:
    out = Output()
    budget = ctx.settings.max_seq_len - 2
    for doc_id, paragraphs in zip(table.column("doc_id").to_pylist(), table.column("paragraphs").to_pylist()):
        scores, sentences = [], []
        for sentence in (s for p in paragraphs for s in p):
            found, sentence = rating(sentence)
            scores += found
            sentences.append(sentence)
        if not scores:
            out.counts["no_rating"] += 1
            continue
        positive, negative = all(s >= POSITIVE_FROM for s in scores), all(s <= NEGATIVE_TO for s in scores)
        if not (positive or negative):
            out.counts["mixed_ratings" if any(s >= POSITIVE_FROM for s in scores) and any(
                s <= NEGATIVE_TO for s in scores) else "middle_rating"] += 1
            continue
        pieces = [e.ids for e in encode_ids(ctx, sentences) if e.ids]
        for ids in pack_tokens(pieces, budget):
            input_ids, types = single(ctx, ids)
            out.add(doc_id=doc_id, task_id=ctx.task_id, input_ids=input_ids, token_type_ids=types,
                    label=0 if positive else 1)
    return out
