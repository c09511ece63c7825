"""The report's table: mean +- std over seeds per group, with the gaps to a baseline and to
each of a quantum model's same-shape controls."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence

import numpy as np

from hqnn_lightning.models import MODELS
from hqnn_lightning.report.runs import RunGroup, RunRecord
from hqnn_lightning.report.statistics import Difference, seed_difference

METRICS = ("val/acc_top1", "val/acc_top5", "test/acc_top1", "test/acc_top5")


def summary_table(
    groups: Sequence[RunGroup],
    baseline: str | None = None,
    controls: Mapping[str, Sequence[str]] | None = None,
) -> str:
    """A Markdown table: one row per group, mean +- std over its seeds.

    Accuracies are in percent. The last columns give the difference in mean test top-1
    (percentage points, with its 95% confidence interval in brackets: paired by seed where the
    seeds match, `seed_difference`) to the ``baseline`` group (a label or a model name; default
    the group of model ``classical``, or of one variant of it, when there is exactly one) and,
    one column per control model, to each of the group's controls: the group whose model is one
    of ``controls[model]`` (default: the controls declared where the models are registered,
    ``MODELS.controls()``) with otherwise equal options, the options of the circuit alone aside
    (those the model takes and its control does not).
    """
    controls = MODELS.controls() if controls is None else controls
    control_models = list(
        dict.fromkeys(c for group in groups for c in controls.get(group.model, ()))
    )
    reference = _find_group(groups, baseline) if baseline else _only(groups, "classical")
    header = [
        "model",
        "seeds",
        "params classical",
        "params quantum",
        "val top-1 %",
        "val top-5 %",
        "test top-1 %",
        "test top-5 %",
        "s/epoch",
        f"Δ test top-1 vs {reference.label if reference else 'baseline'}",
        *(f"Δ test top-1 vs {model}" for model in control_models),
    ]
    rows = []
    for group in groups:
        first = group.runs[0].results
        own_controls = controls.get(group.model, ())
        rows.append(
            [
                group.label,
                str(len(group.runs)),
                f"{first.get('params_classical', 0):,}",
                f"{first.get('params_quantum', 0):,}",
                *(_mean_std(100 * group.values(metric)) for metric in METRICS),
                _mean_std(group.values("seconds_per_epoch"), digits=1),
                _gap(group, reference),
                *(
                    _gap(group, _control_of(group, groups, model)) if model in own_controls else "-"
                    for model in control_models
                ),
            ]
        )
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _mean_std(values: np.ndarray, digits: int = 2) -> str:
    if values.size == 0:
        return "-"
    if values.size == 1:
        return f"{values[0]:.{digits}f}"
    return f"{values.mean():.{digits}f} ± {values.std(ddof=1):.{digits}f}"


def _gap(group: RunGroup, reference: RunGroup | None) -> str:
    """The difference in mean test top-1 (points), with its 95% interval where the seeds
    allow one (`seed_difference`)."""
    if reference is None or reference is group:
        return "-"
    difference = _test_difference(group, reference)
    if difference is not None:
        return difference.cell()
    ours, theirs = group.values("test/acc_top1"), reference.values("test/acc_top1")
    if ours.size == 0 or theirs.size == 0:
        return "-"
    gap = 100 * (ours.mean() - theirs.mean())
    return f"{gap:+.2f}" if math.isfinite(gap) else "-"


def _test_difference(group: RunGroup, reference: RunGroup) -> Difference | None:
    ours, theirs = (
        {seed: 100 * value for seed, value in g.by_seed("test/acc_top1").items()}
        for g in (group, reference)
    )
    return seed_difference(ours, theirs)


def control_sentences(
    groups: Sequence[RunGroup], controls: Mapping[str, Sequence[str]] | None = None
) -> list[str]:
    """One sentence per quantum group and each of its controls present: the difference in test
    top-1 with its 95% interval and test, or ``no detectable difference`` (`Difference`)."""
    controls = MODELS.controls() if controls is None else controls
    sentences = []
    for group in groups:
        for model in controls.get(group.model, ()):
            control = _control_of(group, groups, model)
            difference = None if control is None else _test_difference(group, control)
            if difference is not None:
                sentences.append(difference.sentence(group.label, control.label))
    return sentences


def _only(groups: Sequence[RunGroup], model: str) -> RunGroup | None:
    """The one group whose model is ``model`` or a variant of it (``model_tiny``), if unique."""
    matches = [
        group for group in groups if group.model == model or group.model.startswith(f"{model}_")
    ]
    return matches[0] if len(matches) == 1 else None


def _find_group(groups: Sequence[RunGroup], name: str) -> RunGroup:
    for group in groups:
        if name in (group.label, group.model):
            return group
    raise ValueError(
        f"no group named {name!r}; groups: {', '.join(group.label for group in groups)}"
    )


def _control_of(group: RunGroup, groups: Sequence[RunGroup], control_model: str) -> RunGroup | None:
    """The group of model ``control_model`` whose options equal ``group``'s, those of the
    circuit alone aside."""
    circuit_only = _circuit_options(group.model, control_model)

    def comparable(run: RunRecord) -> dict[str, str]:
        return {name: value for name, value in run.group_key if name not in circuit_only}

    wanted = {**comparable(group.runs[0]), "model": json.dumps(control_model)}
    for candidate in groups:
        if comparable(candidate.runs[0]) == wanted:
            return candidate
    return None


def _circuit_options(model: str, control: str) -> set[str]:
    """The arguments ``model`` takes and its control ``control`` does not (the circuit's);
    none when either is not registered (runs of a model this version does not have)."""
    if model not in MODELS or control not in MODELS:
        return set()
    return MODELS.accepted_arguments(model) - MODELS.accepted_arguments(control)
