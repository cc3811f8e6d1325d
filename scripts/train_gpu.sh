#!/usr/bin/env bash
# Train a larger code LM on CUDA GPUs from scratch in under 10 minutes, then export it as a bundle.
#
#   bash scripts/train_gpu.sh CORPUS OUT [PRESET]        # PRESET: large (default), medium, small
#
# On a machine with the repository installed (pip install -e '.[train]') and one or more CUDA GPUs:
# `torchrun --standalone --nproc_per_node=<GPUs> -m quill train` (model/distributed.py: one process per GPU,
# NCCL, data parallel) with bf16, torch.compile and a wall-clock schedule of MAX_MINUTES (8: tokenizing the
# corpus and compiling come on top, ~1-2 min), then `quill export --checkpoint OUT/final` into OUT/bundle
# (int8 ONNX, parity-checked, test-split accuracy). CORPUS is a `quill corpus` folder (e.g. the 69 MB
# runs/xf_corpus: ~25M tokens per epoch with cross-file windows). The tokenizer is the shipped bundle's,
# so the new bundle drops in for lsp_server/bundle. Compare OUT/bundle's manifest metrics with the shipped
# one before replacing it (`quill eval`), and see BENCHMARKS.md "Size and speed (§4)" for the serving cost
# of each shape on the target CPU.
#
# Environment overrides (defaults for one GPU node):
#   NPROC=<n>          processes (default: GPUs listed by nvidia-smi, else 1)
#   TOKENIZER=<file>   default lsp_server/bundle/tokenizer.json
#   MAX_MINUTES=8  BATCH=64  BLOCK=1024  LR=2e-3  WARMUP=200  CROSS_FILE_RATE=0.5
#   BF16=1             0 trains in fp32 (CPUs without native bf16)
#   COMPILE=1          0 passes --no-compile
#   EXTRA="..."        more `quill train` options, e.g. "--max-steps 3"
#   DOC_FROM=<bundle>  whose docstring model the new bundle carries (default lsp_server/bundle; empty: none)
#   DRY_RUN=1          print the two commands instead of running them
# A CPU check of the whole path (what tests/scripts/test_train_gpu.py runs):
#   NPROC=1 BF16=0 COMPILE=0 BATCH=2 BLOCK=64 EXTRA="--max-steps 2" bash scripts/train_gpu.sh CORPUS OUT tiny
set -euo pipefail

if [[ $# -lt 2 || $# -gt 3 ]]; then
    sed -n '2,4p' "$0" >&2
    exit 2
fi
CORPUS=$1
OUT=$2
PRESET=${3:-large}
TOKENIZER=${TOKENIZER:-lsp_server/bundle/tokenizer.json}
if [[ -z "${NPROC:-}" ]]; then
    NPROC=$( (nvidia-smi -L 2>/dev/null || true) | grep -c '^GPU' || true)
    [[ "$NPROC" -ge 1 ]] || NPROC=1
fi
PYTHON=${PYTHON:-python}

train=("$PYTHON" -m torch.distributed.run --standalone "--nproc_per_node=$NPROC" -m quill train
       --preset "$PRESET" --corpus "$CORPUS" --tokenizer "$TOKENIZER" --out "$OUT"
       --max-minutes "${MAX_MINUTES:-8}" --batch-size "${BATCH:-64}" --block-size "${BLOCK:-1024}"
       --lr "${LR:-2e-3}" --warmup-steps "${WARMUP:-200}" --cross-file-rate "${CROSS_FILE_RATE:-0.5}"
       --eval-interval "${EVAL_INTERVAL:-250}" --checkpoint-interval "${CHECKPOINT_INTERVAL:-500}")
[[ "${BF16:-1}" == 1 ]] || train+=(--no-bf16)
[[ "${COMPILE:-1}" == 1 ]] || train+=(--no-compile)
# shellcheck disable=SC2206  # EXTRA is a list of options, split on purpose
train+=(${EXTRA:-})
export_cmd=("$PYTHON" -m quill export --checkpoint "$OUT/final" --tokenizer "$TOKENIZER" --corpus "$CORPUS"
            --train-summary "$OUT/train_summary.json" --out "$OUT/bundle" --name "quill-code-lm-$PRESET")
# The shipped docstring model reads the same tokenizer: carry it over so the bundle can replace the default
# one whole (DOC_FROM= leaves it out, e.g. with another tokenizer).
DOC_FROM=${DOC_FROM-lsp_server/bundle}
[[ -z "$DOC_FROM" ]] || export_cmd+=(--docstring-from "$DOC_FROM")

if [[ "${DRY_RUN:-0}" == 1 ]]; then
    printf '%q ' "${train[@]}"; echo
    printf '%q ' "${export_cmd[@]}"; echo
    exit 0
fi
export TOKENIZERS_PARALLELISM=false
start=$(date +%s)
"${train[@]}"
"${export_cmd[@]}"
echo "trained and exported $PRESET in $(( $(date +%s) - start )) s: $OUT/bundle"
