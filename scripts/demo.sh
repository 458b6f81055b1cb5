#!/usr/bin/env bash
# The main job, end to end on the samples in ../shared/data: ingest every raw sample into typed,
# deduplicated Arrow datasets, train WordPiece vocabs, build the seven ERNIE 2.0 task datasets,
# inspect them, pre-train a tiny model on all of them through the continual schedule and plot its
# curves; then pre-train a tiny model on in-domain text (IMDb reviews, decontaminated against
# SST-2; skip_gram, then beside knowledge masking), fine-tune it on SST-2 beside the same model from random weights (3 seeds each), and
# export both as HF directories. Sets itself up on first run.
#   DATA=../shared/data   where the samples are        OUT=out/demo   where results go
#   STEPS=300             pre-training steps of the tiny run on all tasks (the schedule's showcase)
#   IMDB_STEPS=976        MLM steps of the in-domain model (4 M tokens), after and beside 4x as many skip_gram steps
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

echo "== pretrain: a tiny English model on the six English tasks, continual multi-task schedule (CPU)"
rm -rf "$OUT/run-en"  # the demo always starts a fresh run
.venv/bin/ernie-train pretrain --config examples/tiny_en.toml --out "$OUT/run-en" --max-steps "${STEPS:-300}"
.venv/bin/ernie-train plot "$OUT/run-en" --out "$OUT/run-en/curves.png"

SST="$DATA/eval/sst2"
echo "== in-domain corpus: the 12,000 IMDb reviews, without any document that shares text with SST-2"
corpus ingest "$DATA/imdb_unsup" --out "$OUT/documents-imdb" --workers 2 --overwrite
corpus decontaminate "$OUT/documents-imdb" --against "$SST/train_head2000.tsv" --against "$SST/glue_dev.tsv" \
  --out "$OUT/documents-imdb-clean" --workers 2 --overwrite
corpus vocab "$OUT/documents-imdb-clean" --out "$OUT/vocab-imdb" --vocab-size 12000 --overwrite
corpus build --task knowledge_masking --task skip_gram --docs "$OUT/documents-imdb-clean" --vocab "$OUT/vocab-imdb" \
  --out "$OUT/tasks-imdb" --max-seq-len 128 --spacy-model "$SPACY_MODEL" --workers 2 --overwrite
echo "== pretrain: a tiny model on them, continual: skip_gram (word vectors, no encoder pass) first, then beside"
echo "   knowledge masking (watch heldout_mask_accuracy leave the unigram floor)"
rm -rf "$OUT/run-imdb"
MLM_STEPS=${IMDB_STEPS:-976}
.venv/bin/ernie-train pretrain --task skip_gram="$OUT/tasks-imdb/skip_gram" \
  --task knowledge_masking="$OUT/tasks-imdb/knowledge_masking" --size tiny --mode continual_multitask \
  --budget skip_gram=$((4 * MLM_STEPS)) --budget knowledge_masking="$MLM_STEPS" --task-lr skip_gram=2e-3 \
  --max-steps $((5 * MLM_STEPS)) --tokens-per-batch 4096 --save-every 0 --out "$OUT/run-imdb"
.venv/bin/ernie-train plot "$OUT/run-imdb" --out "$OUT/run-imdb/curves.png"

echo "== finetune: SST-2, 3 seeds, from the in-domain model and from random weights; each seed trains on 1,600 of"
echo "   train_head2000.tsv, keeps its best epoch on the other 400, and is then scored once on GLUE dev (872)"
LR=${FINETUNE_LR:-5e-4}  # the tiny default; bench/learning.py chooses per init on the split (docs/RESULTS.md)
finetune_and_score() {  # NAME INIT [flags...]: fine-tune 3 seeds, print their GLUE dev accuracies and mean
  local name=$1 init=$2; shift 2
  .venv/bin/ernie-train finetune --init "$init" --train "$SST/train_head2000.tsv" --split-dev 400 --seeds 1,2,3 \
    --lr "$LR" --epochs 5 --pooling mean --out "$OUT/sst2-$name" --overwrite --quiet "$@" > /dev/null
  local scores=()
  for seed in 1 2 3; do
    scores+=("$(.venv/bin/ernie-train evaluate "$OUT/sst2-$name/seed-$seed/best" --data "$SST/glue_dev.tsv" --json \
                | .venv/bin/python -c 'import json, sys; print("%.4f" % json.load(sys.stdin)["accuracy"])')")
  done
  echo "${scores[*]}" | .venv/bin/python -c 'import statistics, sys; v = [float(x) for x in sys.stdin.read().split()]; print(" ".join(f"{x:.4f}" for x in v), f"mean {statistics.fmean(v):.4f}")' \
    | tee "$OUT/sst2-$name.txt"
}
finetune_and_score pretrained "$OUT/run-imdb"
finetune_and_score random random --vocab "$OUT/vocab-imdb" --size tiny
echo "== export: the pre-trained encoders as HF transformers directories (the mean-pooled SST-2 classifier is not an"
echo "   HF ErnieForSequenceClassification, which reads [CLS]: fine-tune with --pooling cls to export one)"
.venv/bin/ernie-train export "$OUT/run-en" --out "$OUT/hf/ernie-tiny-en" --overwrite
.venv/bin/ernie-train export "$OUT/run-imdb" --out "$OUT/hf/ernie-tiny-imdb" --overwrite
echo "SST-2 GLUE dev accuracy, seeds 1 2 3:  pre-trained $(cat "$OUT/sst2-pretrained.txt")"
echo "                                      random init $(cat "$OUT/sst2-random.txt")"
echo "done: datasets in $OUT, checkpoints in $OUT/run-en and $OUT/run-imdb, curves in */curves.png," \
  "HF models in $OUT/hf/ (HF_HUB_OFFLINE=1 AutoModel.from_pretrained works)"
