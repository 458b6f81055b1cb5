"""Dynamic masking on the real knowledge_masking shards: rates, 80/10/10, specials, whole units."""
from __future__ import annotations

import numpy as np
import pytest

from schemas.tasks import IGNORE
from schemas.validate import read_table
from trainer.masking import MaskingConfig, mask_basic, mask_knowledge
from trainer.tasks import read_task

SPECIALS = {"pad": 0, "unk": 1, "cls": 2, "sep": 3, "mask": 4}


@pytest.fixture(scope="module")
def km(tiny_tasks):
    spec = read_task("knowledge_masking", tiny_tasks["knowledge_masking"])
    rows = [row for shard in spec.shards for row in read_table(shard).to_pylist()]
    examples = [(np.array(r["input_ids"]), np.array(r["word_labels"]),
                 [(s["start"], s["end"]) for s in r["phrase_spans"]],
                 [(s["start"], s["end"]) for s in r["entity_spans"]]) for r in rows]
    return spec, examples


def _mask_all(spec, examples, level, seed=0, config=MaskingConfig()):
    rng = np.random.default_rng(seed)
    return [mask_knowledge(ids, words, phrases, entities, spec.special_ids, spec.vocab_size, config, rng, level=level)
            for ids, words, phrases, entities in examples]


def _whole(labels: np.ndarray, start: int, end: int) -> bool:
    picked = labels[start:end] != IGNORE
    return bool(picked.all() or not picked.any())


def _words(word_labels: np.ndarray) -> np.ndarray:
    """[k, 2] (start, end) of the whole words: a 0 and the 1s after it."""
    starts = np.flatnonzero(word_labels == 0)
    breaks = np.append(np.flatnonzero(word_labels != 1), len(word_labels))
    return np.stack([starts, breaks[np.searchsorted(breaks, starts, side="right")]], axis=1)


def _all_whole(labels: np.ndarray, spans) -> bool:
    """Every span fully selected or not at all (vectorized over the spans)."""
    spans = np.asarray(spans, dtype=np.int64).reshape(-1, 2)
    picked = np.concatenate(([0], np.cumsum(labels != IGNORE)))
    count = picked[spans[:, 1]] - picked[spans[:, 0]]
    return bool(((count == 0) | (count == spans[:, 1] - spans[:, 0])).all())


@pytest.mark.parametrize("level", [None, "basic", "phrase", "entity"])
def test_rates_and_replacement(km, level):
    spec, examples = km
    assert spec.special_ids == SPECIALS
    valid = selected = masked = kept = 0
    for (ids, words, _, _), (out, labels) in zip(examples, _mask_all(spec, examples, level)):
        sel = labels != IGNORE
        assert not sel[words < 0].any() and (out[words < 0] == ids[words < 0]).all()  # specials untouched
        assert (labels[sel] == ids[sel]).all() and (out[~sel] == ids[~sel]).all()
        assert not np.isin(out[sel], [0, 1, 2, 3]).any()  # a random replacement is never a special id
        valid += int((words >= 0).sum())
        selected += int(sel.sum())
        masked += int((out[sel] == SPECIALS["mask"]).sum())
        kept += int((out[sel] == ids[sel]).sum())
    assert 0.12 <= selected / valid <= 0.18
    assert 0.76 <= masked / selected <= 0.84
    assert 0.07 <= kept / selected <= 0.13
    assert 0.07 <= (selected - masked - kept) / selected <= 0.13


def test_units_are_masked_whole(km):
    spec, examples = km
    for level, pick in (("phrase", 2), ("entity", 3)):
        chosen = total = 0
        for example, (_, labels) in zip(examples, _mask_all(spec, examples, level, seed=1)):
            spans = example[pick]
            assert _all_whole(labels, spans)
            chosen += sum(bool((labels[s:e] != IGNORE).all()) for s, e in spans)
            total += len(spans)
            covered = np.zeros(len(labels), dtype=np.int64)
            for s, e in spans:
                covered[s:e] = 1
            covered = np.concatenate(([0], np.cumsum(covered)))
            words = _words(example[1])
            outside = words[covered[words[:, 1]] == covered[words[:, 0]]]
            assert _all_whole(labels, outside)  # the fallback words outside the spans are whole too
        assert chosen > total * 0.2, (level, chosen, total)  # spans are tried first
    for example, (_, labels) in zip(examples, _mask_all(spec, examples, "basic", seed=2)):
        assert _all_whole(labels, _words(example[1]))


def test_level_probabilities_choose_the_level(km):
    spec, examples = km
    only_phrases = MaskingConfig(basic_prob=0, phrase_prob=1, entity_prob=0)
    for example, (_, labels) in zip(examples, _mask_all(spec, examples, None, config=only_phrases)):
        assert _all_whole(labels, example[2])


def test_deterministic_for_a_given_rng(km):
    spec, examples = km
    first, again, other = (_mask_all(spec, examples[:200], None, seed) for seed in (5, 5, 6))
    assert all((a[0] == b[0]).all() and (a[1] == b[1]).all() for a, b in zip(first, again))
    assert any((a[1] != b[1]).any() for a, b in zip(first, other))


def test_span_formats_overlaps_and_specials():
    ids = np.array([2, 10, 11, 12, 13, 14, 15, 16, 17, 18, 3])
    words = np.array([-1, 0, 1, 0, 0, 1, 1, 0, 0, 0, -1])
    config = MaskingConfig(mask_prob=0.5)
    outs = []
    for spans in ([(1, 4), (3, 6), (0, 2)], [{"start": 1, "end": 4}, {"start": 3, "end": 6, "label": "X"}],
                  np.array([[1, 4], [3, 6], [0, 2]])):
        out, labels = mask_knowledge(ids, words, spans, [], SPECIALS, 100, config, np.random.default_rng(0),
                                     level="phrase")
        assert labels[0] == labels[-1] == IGNORE and _whole(labels, 1, 4)  # (3, 6) overlaps, (0, 2) covers [CLS]
        assert (labels != IGNORE).sum() <= 5 and (labels != IGNORE).sum() >= 4
        outs.append(labels)
    assert all((o == outs[0]).all() for o in outs)
    only_specials = np.array([2, 3])
    out, labels = mask_knowledge(only_specials, np.array([-1, -1]), [], [], SPECIALS, 100, config,
                                 np.random.default_rng(0))
    assert (labels == IGNORE).all() and (out == only_specials).all()
    with pytest.raises(ValueError):
        mask_knowledge(ids, words, [], [], SPECIALS, 100, config, np.random.default_rng(0), level="word")
    with pytest.raises(ValueError):
        MaskingConfig(replace_mask=0.9, replace_random=0.2)


def test_mask_basic_on_word_pieces(tiny_tasks):
    spec = read_task("capitalization", tiny_tasks["capitalization"])
    rng = np.random.default_rng(0)
    config = MaskingConfig()
    valid = selected = masked = 0
    for row in read_table(spec.shards[0]).to_pylist():
        ids = np.array(row["input_ids"])
        out, labels = mask_basic(ids, spec.special_ids, spec.vocab_size, config, rng)
        sel = labels != IGNORE
        special = np.isin(ids, list(spec.special_ids.values()))
        assert not sel[special].any() and (labels[sel] == ids[sel]).all()
        assert sel.sum() == max(1, round(0.15 * (~special).sum()))
        valid += int((~special).sum())
        selected += int(sel.sum())
        masked += int((out[sel] == spec.special_ids["mask"]).sum())
    assert 0.12 <= selected / valid <= 0.18 and 0.76 <= masked / selected <= 0.84


def test_a_span_longer_than_the_budget_is_still_masked_and_the_budget_holds_on_average(km):
    """Real entities of 3+ pieces cut out with two words of context: the budget (15% of ~7 tokens = 1)
    is smaller than the entity, which is still masked whole, in about budget/size of the draws."""
    spec, examples = km
    short = []
    for ids, words, _, entities in examples:
        for start, end in entities:
            if end - start >= 3 and start >= 3 and end + 2 < len(ids) and (words[start:end + 2] >= 0).all():
                a, b = start - 2, end + 2
                if words[a] == 0 and words[b] == 0:  # whole words around the entity
                    short.append((np.concatenate(([ids[0]], ids[a:b], [ids[-1]])),
                                  np.concatenate(([-1], words[a:b], [-1])), [(start - a + 1, end - a + 1)]))
    assert len(short) >= 10
    rng = np.random.default_rng(3)
    whole = draws = selected = budget = 0
    for ids, words, entities in short[:50]:
        n_valid = len(ids) - 2
        size = entities[0][1] - entities[0][0]
        for _ in range(40):
            _, labels = mask_knowledge(ids, words, [], entities, SPECIALS, spec.vocab_size, MaskingConfig(), rng,
                                       level="entity")
            picked = labels[entities[0][0]:entities[0][1]] != IGNORE
            assert picked.all() or not picked.any()  # never split
            whole += bool(picked.all())
            draws += 1
            selected += int((labels != IGNORE).sum())
            budget += max(1, round(0.15 * n_valid))
        assert size > max(1, round(0.15 * n_valid))
    assert whole > draws * 0.1  # masked, though longer than the budget (never, before)
    assert 0.85 <= selected / budget <= 1.15  # the budget holds on average
