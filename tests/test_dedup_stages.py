"""Near-duplicate removal as a distributed stage: the same removals as the sequential Deduper,
for any worker count, in bounded memory per task."""
from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from datasketch import MinHashLSH

from corpus_tools.dedup import buckets as dedup_buckets, clusters as dedup_clusters, resolve as dedup_resolve
from corpus_tools.dedup import stages as dedup_stages
from corpus_tools.dedup.minhash import DedupConfig, exact_hash, lean, signature
from corpus_tools.dedup.stages import find_duplicates, find_duplicates_sequential
from corpus_tools.run.engine import Parallel
from corpus_tools.run.shards import write_table
from schemas.validate import read_table

CONFIG = DedupConfig()


def _edit(text: str, every: int, rng: random.Random) -> str:
    """Replace about one word in `every` with a word of its own: a near copy of a real document."""
    words = text.split()
    for _ in range(max(1, len(words) // every)):
        words[rng.randrange(len(words))] = rng.choice(["indeed", "perhaps", "surely", "anyway"])
    return " ".join(words)


def _write(path: Path, docs: list[tuple[str, str, str]], sigs: bool = True) -> str:
    """A signature table as ingest writes it: id, digest, signature (null where near-dedup was off)."""
    write_table(path, pa.table({
        "id": pa.array([d[0] for d in docs], pa.string()),
        "digest": pa.array([exact_hash(d[1]) for d in docs], pa.binary()),
        "signature": pa.array([signature(d[1], d[2], CONFIG).tolist() if sigs else None for d in docs],
                              pa.list_(pa.uint64()))}))
    return str(path)


@pytest.fixture(scope="module")
def corpus(data, tmp_path_factory):
    """Real reviews (en) and CLUE lines (zh) with planted duplicates of every kind, in 8 tables, an
    empty one and one without signatures, after one earlier table."""
    rng = random.Random(7)
    reviews = (data / "imdb_unsup" / "unsup_12k.txt").read_text(encoding="utf-8").splitlines()[:400]
    clue = (data / "zh_corpus" / "CLUECorpusSmall_sampled.txt").read_text(encoding="utf-8").splitlines()[:120]
    docs = [(f"en:{i}", t, "en") for i, t in enumerate(reviews)] + [(f"zh:{i}", t, "zh") for i, t in enumerate(clue)]
    planted = []
    for i, (doc_id, text, lang) in enumerate(docs):
        if i % 9 == 0 and len(text.split()) > 20:  # chains: a copy of a copy
            near = _edit(text, 60, rng)
            planted += [(f"{doc_id}:near", near, lang), (f"{doc_id}:near2", _edit(near, 60, rng), lang)]
        if i % 13 == 0:
            planted.append((f"{doc_id}:copy", text, lang))
        if i % 17 == 0:
            planted.append((doc_id, text.upper(), lang))  # the same record again
    planted += [(f"empty:{i}", "..", "en") for i in range(3)]  # no shingles: identical signatures
    planted.append(("case:0", reviews[5].upper(), "en"))  # same shingles (lower-cased), other digest
    everything = docs + planted
    rng.shuffle(everything)
    root = tmp_path_factory.mktemp("dedup")
    earlier = [_write(root / "earlier.arrow", everything[:40])]
    rest = everything[40:]
    size = -(-len(rest) // 8)
    tables = [_write(root / f"t{i}.arrow", rest[i * size:(i + 1) * size]) for i in range(8)]
    tables.insert(3, _write(root / "empty.arrow", []))
    tables.append(_write(root / "nosig.arrow", [(f"x:{i}", t, "en") for i, t in enumerate(reviews[:30])], sigs=False))
    return earlier, tables


def _ids(path: str) -> list[str]:
    return read_table(path).column("id").to_pylist()


def _near(first: str, second: str) -> bool:
    """An LSH index holding `first` (banded as the Deduper's) finds `second`, similar enough."""
    lsh = MinHashLSH(threshold=CONFIG.threshold, num_perm=CONFIG.num_perm, params=dedup_stages.lsh_bands(CONFIG))
    a, b = lean(signature(first, "en", CONFIG)), lean(signature(second, "en", CONFIG))
    lsh.insert("first", a)
    return bool(lsh.query(b)) and a.jaccard(b) >= CONFIG.threshold


def _check_same(got, expected, tables, sigs) -> None:
    """Same rows removed for the same reasons and similarities. The kept document named is the one
    the Deduper names, or another kept one as similar (the Deduper takes any of equals)."""
    assert [sorted(g) for g in got] == [sorted(e) for e in expected]
    for table, (g, e) in enumerate(zip(got, expected)):
        for row, verdict in g.items():
            assert (verdict.reason, verdict.similarity) == (e[row].reason, e[row].similarity)
            if verdict.duplicate_of != e[row].duplicate_of:
                doc = _ids(tables[table])[row]
                assert verdict.reason == "near_duplicate"
                assert round(sigs[doc].jaccard(sigs[verdict.duplicate_of]), 4) == verdict.similarity


def _small_tasks(monkeypatch) -> None:
    """Several hash ranges per band, groups of tables and parts of the graph on a small corpus."""
    monkeypatch.setattr(dedup_stages, "TABLES_PER_RANGE", 2)
    monkeypatch.setattr(dedup_stages, "TABLES_PER_GROUP", 3)
    monkeypatch.setattr(dedup_stages, "NODES_PER_PART", 50)


@pytest.mark.parametrize("workers", [1, 2])
def test_find_duplicates_removes_exactly_what_the_sequential_deduper_removes(corpus, tmp_path, monkeypatch, workers):
    earlier, tables = corpus
    _small_tasks(monkeypatch)
    expected = find_duplicates_sequential(tables, CONFIG, earlier=earlier)
    got = find_duplicates(tables, CONFIG, str(tmp_path), parallel=Parallel(workers=workers), earlier=earlier)
    reasons = {v.reason for removed in expected for v in removed.values()}
    assert reasons == {"duplicate_id", "exact_duplicate", "near_duplicate"}
    sigs = {}
    for path in (*earlier, *tables):
        t = read_table(path)
        for doc_id, sig in zip(t.column("id").to_pylist(), t.column("signature").to_pylist()):
            if sig is not None:
                sigs.setdefault(doc_id, lean(np.array(sig, dtype=np.uint64)))
    _check_same(got, expected, tables, sigs)
    assert not (tmp_path / "minhash").exists()  # scratch files are deleted


def test_exact_only_and_no_dedup_settings_match_the_sequential_deduper(corpus, tmp_path):
    earlier, tables = corpus
    for config in (DedupConfig(near=False), DedupConfig(exact=False), DedupConfig(exact=False, near=False)):
        expected = find_duplicates_sequential(tables, config, earlier=earlier)
        got = find_duplicates(tables, config, str(tmp_path), earlier=earlier)
        assert got == expected


def _chain(text: str) -> tuple[str, str, str]:
    """A, B, C from a real document: A~B and B~C, A!~C."""
    for seed in range(50):
        rng = random.Random(seed)
        b = _edit(text, 40, rng)
        c = _edit(b, 40, rng)
        if _near(text, b) and _near(b, c) and not _near(text, c):
            return text, b, c
    raise AssertionError("no chain found")


def test_a_chain_keeps_its_first_and_last_documents_not_one_cluster(data, tmp_path):
    text = (data / "imdb_unsup" / "unsup_12k.txt").read_text(encoding="utf-8").splitlines()[1]
    a, b, c = _chain(text)
    tables = [_write(tmp_path / f"{n}.arrow", [(n, t, "en")]) for n, t in (("A", a), ("B", b), ("C", c))]
    for workers in (1, 2):
        got = find_duplicates(tables, CONFIG, str(tmp_path), parallel=Parallel(workers=workers))
        assert got[0] == {} and got[2] == {}  # A and C stay: C is like B only, and B went
        assert got[1][0].reason == "near_duplicate" and got[1][0].duplicate_of == "A"
        assert got == find_duplicates_sequential(tables, CONFIG)
    # B kept by an earlier dedup: A and C, both like B, go
    got = find_duplicates([tables[0], tables[2]], CONFIG, str(tmp_path), earlier=[tables[1]])
    assert got[0][0].duplicate_of == "B" and got[1][0].duplicate_of == "B"


def test_an_id_repeated_in_earlier_datasets_counts_once_as_the_deduper_loads_them(data, tmp_path):
    """Two earlier datasets with one doc_id: both texts are kept, the second only by its digest
    (the Deduper's index keeps the first signature of an id), so its near copy stays."""
    reviews = (data / "imdb_unsup" / "unsup_12k.txt").read_text(encoding="utf-8").splitlines()
    first, second = reviews[1], reviews[2]
    earlier = [_write(tmp_path / "e1.arrow", [("X", first, "en")]), _write(tmp_path / "e2.arrow", [("X", second, "en")])]
    near = _edit(second, 200, random.Random(1))
    assert _near(second, near)
    tables = [_write(tmp_path / "new.arrow", [("Y", near, "en"), ("Z", second, "en"), ("X", near, "en")])]
    got = find_duplicates(tables, CONFIG, str(tmp_path), earlier=earlier)
    assert got == find_duplicates_sequential(tables, CONFIG, earlier=earlier)
    assert sorted(got[0]) == [1, 2] and got[0][1].reason == "exact_duplicate" and got[0][2].reason == "duplicate_id"


def test_no_task_holds_more_than_a_group_of_tables_or_one_partition(corpus, tmp_path, monkeypatch):
    """The structure that bounds memory: signatures are only ever materialized for one table at a
    time (steps 2 and 3b hold at most TABLES_PER_GROUP of them), a step-3a task reads one hash
    partition, about TABLES_PER_RANGE tables' worth of one band, whatever the corpus size, and a
    step-3c task a part of the duplicate graph."""
    earlier, tables = corpus
    _small_tasks(monkeypatch)
    loaded, held, parts = [], [], []
    matrix, read_part = dedup_buckets.signature_matrix, dedup_buckets.read_part
    signatures = dedup_clusters._Signatures.__init__

    def count_matrix(column, num_perm, where):
        loaded.append(len(column))
        return matrix(column, num_perm, where)

    def count_held(self, *args):
        signatures(self, *args)
        held.append(len(self.tables))

    def count_part(layout, kind, index):
        found = read_part(layout, kind, index)
        parts.append((kind, 0 if found is None else found.num_rows))
        return found

    monkeypatch.setattr(dedup_buckets, "signature_matrix", count_matrix)
    monkeypatch.setattr(dedup_clusters, "signature_matrix", count_matrix)
    monkeypatch.setattr(dedup_clusters._Signatures, "__init__", count_held)
    monkeypatch.setattr(dedup_buckets, "read_part", count_part)
    monkeypatch.setattr(dedup_clusters, "read_part", count_part)
    monkeypatch.setattr(dedup_resolve, "read_part", count_part)
    find_duplicates(tables, CONFIG, str(tmp_path), parallel=Parallel(workers=1), earlier=earlier)
    all_rows = sum(len(_ids(p)) for p in (*earlier, *tables))
    largest = max(len(_ids(p)) for p in (*earlier, *tables))
    assert loaded and max(loaded) <= largest < all_rows / 4
    assert held and max(held) <= dedup_stages.TABLES_PER_GROUP
    ranges = -(-len(tables + earlier) // 2)
    bands = [rows for kind, rows in parts if kind == "bands"]
    assert len(bands) == dedup_stages.lsh_bands(CONFIG)[0] * ranges
    # a band's rows spread over its hash ranges: none holds more than twice its share
    assert max(bands) <= 2 * all_rows / ranges
    near = [rows for kind, rows in parts if kind == "resolve-edges"]
    assert len(near) > 1 and max(near) < sum(near)  # the similar pairs are split between tasks


def test_near_duplicates_use_datasketch_banding():
    assert dedup_stages.lsh_bands(CONFIG) == (9, 13)  # MinHashLSH(threshold=0.8, num_perm=128)
    assert dedup_stages.lsh_bands(DedupConfig(threshold=0.5)) != (9, 13)


def test_signatures_equal_a_plain_datasketch_minhash_on_real_text(data):
    """signature() shares the permutations across documents: the values must stay those of a
    MinHash made afresh for every document, or signatures kept from earlier runs stop matching."""
    from datasketch import MinHash

    from corpus_tools.dedup.minhash import SCHEME, SEED, shingle_hashes

    reviews = (data / "imdb_unsup" / "unsup_12k.txt").read_text(encoding="utf-8").splitlines()[:40]
    clue = (data / "zh_corpus" / "CLUECorpusSmall_sampled.txt").read_text(encoding="utf-8").splitlines()[:40]
    for config in (CONFIG, DedupConfig(num_perm=64)):
        for text, lang in [(t, "en") for t in reviews] + [(t, "zh") for t in clue]:
            plain = MinHash(num_perm=config.num_perm, seed=SEED, hashfunc=lambda v: v, scheme=SCHEME)
            plain.update_batch(shingle_hashes(text, lang, config).tolist())
            assert signature(text, lang, config).tobytes() == plain.hashvalues.tobytes()
