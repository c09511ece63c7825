#!/usr/bin/env bash
# The variants that attack the hybrid's bottleneck, each beside its same-shape classical control,
# on the 10 classes of subset_study.sh with the same settings:
#
#   bash experiments/bottleneck_study.sh [DATA_DIR] [OUTPUT_DIR]
#
# data re-uploading (the plain control is subset_study.sh's hybrid_control), four 6-wide heads
# side by side, a residual linear path around the bottleneck, and 12 qubits. Writes
# OUTPUT_DIR/report/report.md over these runs and any given in BASELINE_DIRS (e.g. the
# classical, hybrid and hybrid_control runs of subset_study.sh). IMAGE_SIZE, EPOCHS, SEEDS and
# NUM_CLASSES override the defaults (112, 15, [0,1,2], 10).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA_DIR=${1:-../shared/data/stanford_cars_subset}
OUTPUT_DIR=${2:-runs/bottleneck_study}
PYTHON=${PYTHON:-python}
COMMON=(--data stanford_cars --data-dir "$DATA_DIR" --image-size "${IMAGE_SIZE:-112}" --cache-images true
        --class-selection most_images --num-classes "${NUM_CLASSES:-10}" --batch-size 32
        --max-epochs "${EPOCHS:-15}" --seeds "${SEEDS:-[0,1,2]}" --logger csv --arch resnet18
        --output-dir "$OUTPUT_DIR")
# The study's circuit (RY on |0>, weights uniform in [0, 2 pi)), as docs/results.md ran it.
STUDY_CIRCUIT=(--encoding ry --identity-blocks false --q-init uniform)
"$PYTHON" experiments/run.py --model hybrid "${STUDY_CIRCUIT[@]}" --reupload true "${COMMON[@]}"
for variant in "--n-heads 4" "--residual true" "--n-qubits 12"; do
    # shellcheck disable=SC2086  # the variant is an option and its value
    "$PYTHON" experiments/run.py --model hybrid "${STUDY_CIRCUIT[@]}" $variant "${COMMON[@]}"
    # shellcheck disable=SC2086
    "$PYTHON" experiments/run.py --model hybrid_control $variant "${COMMON[@]}"
done
# shellcheck disable=SC2086  # BASELINE_DIRS is a list of directories
"$PYTHON" experiments/report.py "$OUTPUT_DIR" ${BASELINE_DIRS:-} --output "$OUTPUT_DIR/report"
