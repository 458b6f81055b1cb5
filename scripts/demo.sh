#!/usr/bin/env bash
# The main job, end to end on the samples in ../shared/data: ingest every raw sample into typed,
# deduplicated Arrow datasets, train WordPiece vocabs, build the seven ERNIE 2.0 task datasets,
# inspect them, pre-train a tiny model on all seven tasks and plot its curves, fine-tune it on SST-2
# beside a random-init baseline, and export both as HF directories. Sets itself up on first run.
#   DATA=../shared/data   where the samples are        OUT=out/demo   where results go
#   STEPS=700             pre-training steps of the tiny run
#   SPACY_MODEL=...       English NER for knowledge_masking (default: the installed copy of en_core_web_sm)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
DATA=${DATA:-../shared/data}
OUT=${OUT:-out/demo}
SPACY_MODEL=${SPACY_MODEL:-en_core_web_sm}  # the default resolves to the installed copy
corpus() { .venv/bin/ernie-corpus "$@"; }

echo "== ingest: English documents (Wikipedia XML + WikiExtractor, Gutenberg books, Reddit)"
corpus ingest "$DATA/enwiki_xml" "$DATA/enwiki_extracted" "$DATA/gutenberg" "$DATA/reddit" \
  --out "$OUT/documents-en" --workers 2 --overwrite
echo "== ingest: Chinese documents (zhwiki WikiExtractor, CLUE sample), Traditional -> Simplified"
corpus ingest "$DATA/zhwiki_extracted" "$DATA/zh_corpus" --out "$OUT/documents-zh" --t2s --workers 2 --overwrite
echo "== ingest: search log (DuReader: question, result titles, is_selected -> clicked)"
corpus ingest "$DATA/dureader" --out "$OUT/searchlog" --overwrite

echo "== vocab: English (uncased; with the DuReader queries/titles, the only search log in the samples) and Chinese"
corpus vocab "$OUT/documents-en" "$OUT/searchlog" --out "$OUT/vocab-en" --vocab-size 12000 --overwrite
corpus vocab "$OUT/documents-zh" "$OUT/searchlog" --out "$OUT/vocab-zh" --vocab-size 12000 --overwrite

echo "== build: all seven tasks for English (+ ir_relevance from DuReader), six for Chinese (no case), and next_sentence (the BERT baseline)"
corpus build --task all --docs "$OUT/documents-en" --docs "$OUT/searchlog" --vocab "$OUT/vocab-en" --out "$OUT/tasks-en" \
  --max-seq-len 256 --spacy-model "$SPACY_MODEL" --workers 2 --overwrite
corpus build --task all --docs "$OUT/documents-zh" --docs "$OUT/searchlog" --vocab "$OUT/vocab-zh" \
  --out "$OUT/tasks-zh" --max-seq-len 256 --spacy-model "$SPACY_MODEL" --workers 2 --overwrite

for dataset in documents-en documents-zh searchlog; do
  echo "== inspect $OUT/$dataset"
  corpus inspect "$OUT/$dataset" --rows 1
done
for task in knowledge_masking sentence_reorder discourse_relation; do
  echo "== inspect $OUT/tasks-en/$task"
  corpus inspect "$OUT/tasks-en/$task" --rows 1
done
echo "== inspect $OUT/tasks-zh/ir_relevance"
corpus inspect "$OUT/tasks-zh/ir_relevance" --rows 2
echo "== report: HTML pages (charts, markup residue, class balance) in $OUT/reports/"
mkdir -p "$OUT/reports"
for dataset in documents-en documents-zh tasks-en/sentence_reorder tasks-zh/discourse_relation; do
  corpus report "$OUT/$dataset" --out "$OUT/reports/${dataset//\//-}.html" --overwrite
done

echo "== pretrain: a tiny English model on all seven tasks, continual multi-task schedule (CPU)"
rm -rf "$OUT/run-en"  # the demo always starts a fresh run
.venv/bin/ernie-train pretrain --config examples/tiny_en.toml --out "$OUT/run-en" --max-steps "${STEPS:-700}"
.venv/bin/ernie-train plot "$OUT/run-en" --out "$OUT/run-en/curves.png"

echo "== finetune: SST-2 (2,000 training sentences, GLUE dev) from the pre-trained model, and from random weights"
SST="$DATA/eval/sst2"
.venv/bin/ernie-train finetune --init "$OUT/run-en" --train "$SST/train_head2000.tsv" --dev "$SST/glue_dev.tsv" \
  --out "$OUT/sst2-pretrained" --overwrite --quiet | tee "$OUT/sst2-pretrained.txt"
.venv/bin/ernie-train finetune --init random --vocab "$OUT/vocab-en" --size tiny --train "$SST/train_head2000.tsv" \
  --dev "$SST/glue_dev.tsv" --out "$OUT/sst2-random" --overwrite --quiet | tee "$OUT/sst2-random.txt"
echo "== export: the pre-trained encoder and the SST-2 classifier as HF transformers directories"
.venv/bin/ernie-train export "$OUT/run-en" --out "$OUT/hf/ernie-tiny-en" --overwrite
.venv/bin/ernie-train export "$OUT/sst2-pretrained" --out "$OUT/hf/ernie-tiny-en-sst2" --overwrite
echo "SST-2 dev accuracy:  pre-trained $(head -1 "$OUT/sst2-pretrained.txt" | cut -d';' -f1)"
echo "                     random init $(head -1 "$OUT/sst2-random.txt" | cut -d';' -f1)"
echo "done: datasets in $OUT, checkpoint in $OUT/run-en/checkpoints, curves in $OUT/run-en/curves.png," \
  "HF models in $OUT/hf/ (HF_HUB_OFFLINE=1 AutoModel.from_pretrained works)"
