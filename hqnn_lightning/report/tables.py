"""The report's tables: mean +- std over seeds per group, with the gaps to a baseline and to
each of a quantum model's same-shape controls; and each quantum group against each of its
controls, with the tests over seeds and the bootstrap over test images."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from hqnn_lightning.report.bootstrap import ImageInterval, image_bootstrap
from hqnn_lightning.report.runs import RunGroup, RunRecord
from hqnn_lightning.report.statistics import Difference, seed_difference

METRICS = ("val/acc_top1", "val/acc_top5", "test/acc_top1", "test/acc_top5")


def summary_table(
    groups: Sequence[RunGroup],
    baseline: str | None = None,
    controls: Mapping[str, Sequence[str]] | None = None,
) -> str:
    """A Markdown table: one row per group, mean +- std over its seeds.

    ``seeds`` counts distinct seeds (`_seeds`). Accuracies are in percent. The last columns
    give the difference in mean test top-1 (percentage points, with its 95% confidence
    interval in brackets: paired by seed where the seeds match, `seed_difference`) to the
    ``baseline`` group (a label or a model name; default the group of model ``classical``, or
    of one variant of it, when there is exactly one) and, one column per control model that
    has runs, to each of the group's controls: the group whose model is one of
    ``controls[model]`` (default: the controls declared where the models are registered,
    ``MODELS.controls()``) with otherwise equal options, the options of the circuit alone aside
    (those the model takes and its control does not).
    """
    controls = registered_controls() if controls is None else controls
    models_run = {group.model for group in groups}
    control_models = [
        model
        for model in dict.fromkeys(c for group in groups for c in controls.get(group.model, ()))
        if model in models_run
    ]
    reference = reference_group(groups, baseline)
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
                _seeds(group),
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


def _seeds(group: RunGroup) -> str:
    """The number of distinct seeds, each counted once (`group_runs`), with the run
    directories left out as duplicates of one in brackets: ``2 (+1 duplicate)``."""
    left_out = sum(len(duplicate.left_out) for duplicate in group.duplicates)
    return (
        f"{len(group.runs)} (+{left_out} duplicate{'s' * (left_out > 1)})"
        if left_out
        else str(len(group.runs))
    )


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


@dataclass(frozen=True)
class Comparison:
    """A quantum group beside one of its controls, in test top-1 (percentage points).

    Args:
        group: The quantum model's group.
        control: The control's group (`_control_of`: equal options, the circuit's aside).
        difference: ``group - control`` over seeds (`seed_difference`), ``None`` when the
            seeds give no interval.
        images: ``group - control`` with its bootstrap interval over the test images
            (`image_bootstrap`), ``None`` when either group saved no predictions or their
            test sets differ.
    """

    group: RunGroup
    control: RunGroup
    difference: Difference | None
    images: ImageInterval | None

    @property
    def label(self) -> str:
        """``hybrid − hybrid_control`` followed by the options that set the group apart."""
        options = self.group.label.removeprefix(self.group.model).strip()
        return " ".join(filter(None, [f"{self.group.model} − {self.control.model}", options]))


def control_comparisons(
    groups: Sequence[RunGroup], controls: Mapping[str, Sequence[str]] | None = None
) -> list[Comparison]:
    """Each quantum group against each of its controls present (``controls``: quantum model ->
    control models, default ``MODELS.controls()``), in the groups' order."""
    controls = registered_controls() if controls is None else controls
    comparisons = []
    for group in groups:
        for model in controls.get(group.model, ()):
            control = _control_of(group, groups, model)
            if control is not None:
                images = image_bootstrap(group.predictions_by_seed(), control.predictions_by_seed())
                difference = _test_difference(group, control)
                comparisons.append(Comparison(group, control, difference, images))
    return comparisons


def control_sentences(comparisons: Sequence[Comparison]) -> list[str]:
    """One sentence per comparison with an interval over seeds: the difference in test top-1
    with that interval and the tests, or ``no detectable difference`` (`Difference.sentence`),
    and the bootstrap interval over test images where the runs saved their predictions."""
    return [
        comparison.difference.sentence(
            comparison.group.label, comparison.control.label, comparison.images
        )
        for comparison in comparisons
        if comparison.difference is not None
    ]


def differences_table(comparisons: Sequence[Comparison]) -> str:
    """A Markdown table, one row per `Comparison`: the difference in mean test top-1 (points)
    with its 95% interval over seeds, the t-test's p (paired, or Welch's when the seeds
    differ), the Wilcoxon signed-rank p (paired only), the difference with its 95% bootstrap
    interval over the test images, and the seeds compared; ``-`` where one cannot be given."""
    header = [
        "hybrid",
        "control",
        "Δ test top-1 [95% CI over seeds]",
        "t-test p",
        "Wilcoxon p",
        "Δ test top-1 [95% bootstrap CI over test images]",
        "seeds",
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for comparison in comparisons:
        difference, images = comparison.difference, comparison.images
        t_test, wilcoxon, seeds = "-", "-", "-"
        if difference is not None:
            t_test = f"{difference.p_value:.2g}" + ("" if difference.paired else " (Welch)")
            if difference.wilcoxon_p is not None:
                wilcoxon = f"{difference.wilcoxon_p:.2g}"
            seeds = str(difference.n)
        elif images is not None:
            seeds = str(images.runs)
        row = [
            comparison.group.label,
            comparison.control.label,
            difference.cell() if difference is not None else "-",
            t_test,
            wilcoxon,
            images.cell() if images is not None else "-",
            seeds,
        ]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def reference_group(groups: Sequence[RunGroup], baseline: str | None = None) -> RunGroup | None:
    """The group named ``baseline`` (a label or a model), else the group of model
    ``classical`` (or of one variant of it) when there is exactly one.

    Raises:
        ValueError: no group is named ``baseline``.
    """
    return _find_group(groups, baseline) if baseline else _only(groups, "classical")


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
    from hqnn_lightning.models import MODELS  # as in `registered_controls`

    if model not in MODELS or control not in MODELS:
        return set()
    return MODELS.accepted_arguments(model) - MODELS.accepted_arguments(control)


def registered_controls() -> dict[str, tuple[str, ...]]:
    """``MODELS.controls()``: each quantum model's controls, as registered (imported here:
    the models load Lightning and PennyLane, which a report of given controls does without)."""
    from hqnn_lightning.models import MODELS

    return MODELS.controls()
