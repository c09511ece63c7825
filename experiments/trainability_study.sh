#!/usr/bin/env bash
# Why the study's hybrid does not train, measured: every encoding x initialisation of the
# circuit, each hybrid beside its two controls of the same shape, on the built-in digits and on
# the 10 Stanford Cars classes, several seeds, with the trainability monitor's figures.
#
#   bash experiments/trainability_study.sh [CARS_DIR] [OUTPUT_DIR]
#
# For each dataset: `hybrid` and `hybrid_separable` (the same circuit without entangling gates)
# for every encoding in ENCODINGS and initialisation in INITS, `hybrid_control` (a classical
# tanh(Linear(6, 6)) in the circuit's place) and `classical` (no bottleneck), all on the small
# CNN backbone trained from scratch, then OUTPUT_DIR/<dataset>/report/report.md, and
# report_focus/ with the figures of the study's circuit and the defaults only. CARS_DIR
# defaults to ../shared/data/stanford_cars_subset; a missing CARS_DIR skips the cars part.
# Overrides: DATASETS ("digits cars"), SEEDS ([0,1,2,3,4]), EPOCHS (digits 10, cars 15),
# ENCODINGS ("ry rx hadamard_ry"), INITS ("uniform normal identity"), BASELINES (the models
# without circuit options, "classical hybrid_control"; empty to add cells), JOBS (configurations
# run at once, default 1), PYTHON, and EXTRA (more options for every run, e.g.
# "--accelerator gpu").
set -euo pipefail
cd "$(dirname "$0")/.."
CARS_DIR=${1:-../shared/data/stanford_cars_subset}
OUTPUT_DIR=${2:-runs/trainability_study}
PYTHON=${PYTHON:-python}
SEEDS=${SEEDS:-[0,1,2,3,4]}

configurations() {
    # One line per run configuration: the model and the circuit's options.
    for model in ${BASELINES-classical hybrid_control}; do
        echo "--model $model"
    done
    for encoding in ${ENCODINGS:-ry rx hadamard_ry}; do
        for init in ${INITS:-uniform normal identity}; do
            # The mirror blocks come with the identity start only, as the study measured them.
            blocks=$([ "$init" = identity ] && echo true || echo false)
            for model in hybrid hybrid_separable; do
                echo "--model $model --encoding $encoding --identity-blocks $blocks --q-init $init"
            done
        done
    done
}

study() {
    local name=$1 out="$OUTPUT_DIR/$1"
    shift
    mkdir -p "$out"
    # Each line of configurations() is one run command; word splitting of {} is intended.
    configurations | xargs -P "${JOBS:-1}" -I{} sh -c \
        "$PYTHON experiments/run.py {} $* --arch small_cnn --seeds '$SEEDS' --logger csv \
         --progress-bar false ${EXTRA:-} --output-dir '$out' >> '$out/runs.log' 2>&1" \
        || echo "some runs of $name failed: see $out/runs.log" >&2
    "$PYTHON" experiments/report.py "$out" --output "$out/report"
    # The figures of every cell in one panel would be unreadable: report_focus draws the study's
    # circuit (ry, uniform) and the library's defaults (hadamard_ry, identity) beside the
    # controls.
    local focus=() config
    for run in "$out"/*/; do
        config="$run/config.yaml"
        [ -f "$run/results.json" ] || continue
        if grep -qE "^model: (classical|hybrid_control)$" "$config" \
            || { grep -q "^encoding: ry$" "$config" && grep -q "^q_init: uniform$" "$config"; } \
            || { grep -q "^encoding: hadamard_ry$" "$config" && grep -q "^q_init: identity$" "$config"; }; then
            focus+=("$run")
        fi
    done
    "$PYTHON" experiments/report.py "${focus[@]}" --output "$out/report_focus" > /dev/null
}

for dataset in ${DATASETS:-digits cars}; do
    case $dataset in
        digits) study digits --data digits --max-epochs "${EPOCHS:-10}" ;;
        cars)
            if [ -d "$CARS_DIR" ]; then
                study cars --data stanford_cars --data-dir "$CARS_DIR" --image-size 64 \
                    --cache-images true --max-epochs "${EPOCHS:-15}"
            else
                echo "no $CARS_DIR: the cars part is skipped" >&2
            fi
            ;;
        *) echo "unknown dataset $dataset (digits, cars)" >&2; exit 2 ;;
    esac
done
