"""MinHash signatures per second: `dedup.signature` (permutations drawn once per process) against a
datasketch MinHash made afresh for every document (what it did before), on the same real texts,
in one process, alternating, best of --rounds. Both give the same signatures (the script checks).

    .venv/bin/python bench/signatures.py [--docs 3000] [--rounds 3]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT))

from datasketch import MinHash  # noqa: E402

from corpus_tools.dedup.minhash import SCHEME, SEED, DedupConfig, shingle_hashes, signature  # noqa: E402


def fresh(text: str, lang: str, config: DedupConfig):
    minhash = MinHash(num_perm=config.num_perm, seed=SEED, hashfunc=lambda v: v, scheme=SCHEME)
    minhash.update_batch(shingle_hashes(text, lang, config).tolist())
    return minhash.hashvalues


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    config = DedupConfig()
    print("| texts | docs | fresh MinHash, docs/s | shared permutations, docs/s | speed-up |")
    print("|---|---|---|---|---|")
    for name, path, lang in (("IMDb reviews", "imdb_unsup/unsup_12k.txt", "en"),
                             ("CLUE lines", "zh_corpus/CLUECorpusSmall_sampled.txt", "zh")):
        docs = [t for t in (DATA / path).read_text(encoding="utf-8").splitlines() if t.strip()][:args.docs]
        assert all(fresh(d, lang, config).tobytes() == signature(d, lang, config).tobytes() for d in docs[:200])
        best = {}
        for _ in range(args.rounds):
            for method in (fresh, signature):
                start = time.perf_counter()
                for doc in docs:
                    method(doc, lang, config)
                best[method] = min(best.get(method, float("inf")), time.perf_counter() - start)
        print(f"| {name} | {len(docs):,} | {len(docs) / best[fresh]:,.0f} | {len(docs) / best[signature]:,.0f} | "
              f"{best[fresh] / best[signature]:.2f}x |")


if __name__ == "__main__":
    main()
