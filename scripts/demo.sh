#!/usr/bin/env bash
# The main job, end to end on the samples in ../shared/data: ingest every raw sample into typed,
# deduplicated Arrow datasets, then inspect them. Sets itself up on first run.
#   DATA=../shared/data   where the samples are        OUT=out/demo   where results go
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
DATA=${DATA:-../shared/data}
OUT=${OUT:-out/demo}
corpus() { .venv/bin/ernie-corpus "$@"; }

echo "== ingest: English documents (Wikipedia XML + WikiExtractor, Gutenberg books, Reddit)"
corpus ingest "$DATA/enwiki_xml" "$DATA/enwiki_extracted" "$DATA/gutenberg" "$DATA/reddit" \
  --out "$OUT/documents-en" --workers 2 --overwrite
echo "== ingest: Chinese documents (zhwiki WikiExtractor, CLUE sample), Traditional -> Simplified"
corpus ingest "$DATA/zhwiki_extracted" "$DATA/zh_corpus" --out "$OUT/documents-zh" --t2s --workers 2 --overwrite
echo "== ingest: search log (DuReader: question, result titles, is_selected -> clicked)"
corpus ingest "$DATA/dureader" --out "$OUT/searchlog" --overwrite

for dataset in documents-en documents-zh searchlog; do
  echo "== inspect $OUT/$dataset"
  corpus inspect "$OUT/$dataset" --rows 1
done
echo "done: datasets in $OUT (open them with pyarrow, polars or datasets.Dataset.from_file)"
