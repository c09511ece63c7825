#!/usr/bin/env bash
# The study's small-scale experiments on real Stanford Cars photographs, with the controls.
#
#   bash experiments/subset_study.sh [DATA_DIR] [OUTPUT_DIR]
#
# For each of the 10, 5 and 3 classes with most images of DATA_DIR (a Stanford Cars folder
# layout; default ../shared/data/stanford_cars_subset), trains from scratch, for each seed:
# ResNet-18 (classical), the hybrid on a ResNet-18 trunk (512 -> 6 angles -> 6-qubit circuit),
# its same-width classical control, QuanvNet (fixed random 2x2 quantum filter) and its classical
# twin (fixed random 2x2 grouped convolution), with the study's augmentation, then writes
# OUTPUT_DIR/classesK/report/report.md (table and curves). IMAGE_SIZE, EPOCHS, SEEDS and SUBSETS
# override the defaults (112, 15, [0,1,2], "10 5 3").
set -euo pipefail
cd "$(dirname "$0")/.."
DATA_DIR=${1:-../shared/data/stanford_cars_subset}
OUTPUT_DIR=${2:-runs/subset_study}
PYTHON=${PYTHON:-python}
COMMON=(--data stanford_cars --data-dir "$DATA_DIR" --image-size "${IMAGE_SIZE:-112}" --cache-images true
        --class-selection most_images --batch-size 32 --max-epochs "${EPOCHS:-15}"
        --seeds "${SEEDS:-[0,1,2]}" --logger csv)
for k in ${SUBSETS:-10 5 3}; do
    out="$OUTPUT_DIR/classes$k"
    # The study's circuit (RY on |0>, weights uniform in [0, 2 pi)), as docs/results.md ran it.
    "$PYTHON" experiments/run.py --model hybrid --encoding ry --identity-blocks false \
        --q-init uniform --arch resnet18 --num-classes "$k" "${COMMON[@]}" --output-dir "$out"
    for model in classical hybrid_control; do
        "$PYTHON" experiments/run.py --model "$model" --arch resnet18 --num-classes "$k" \
            "${COMMON[@]}" --output-dir "$out"
    done
    for model in quanv quanv_control; do
        "$PYTHON" experiments/run.py --model "$model" --normalize false --num-classes "$k" \
            "${COMMON[@]}" --output-dir "$out"
    done
    "$PYTHON" experiments/report.py "$out" --output "$out/report"
done
