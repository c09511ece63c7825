"""W&B sweep files: they parse, and every option they set is one the runner takes."""

from pathlib import Path

import pytest
import yaml

from hqnn_lightning.run.build import build
from hqnn_lightning.run.options import build_parser
from hqnn_lightning.run.training import MONITOR

ROOT = Path(__file__).resolve().parents[2]
SWEEPS = sorted((ROOT / "experiments" / "configs" / "sweeps").glob("*.yaml"))


def sampled_values(spec):
    """The values a parameter can take: its list, or the ends of its range."""
    if "values" in spec:
        return spec["values"]
    if "value" in spec:
        return [spec["value"]]
    return [spec["min"], spec["max"]]


def trial_argv(sweep, choice):
    """The runner's arguments of one trial: the fixed ones of ``command`` plus the sampled
    ``--name=value`` pairs that W&B's ``${args}`` expands to."""
    fixed = [arg for arg in sweep["command"] if not arg.startswith("${")]
    return fixed + [f"--{name}={value}" for name, value in choice.items()]


def test_there_is_a_sweep():
    assert SWEEPS


@pytest.mark.parametrize("path", SWEEPS, ids=lambda path: path.stem)
class TestSweep:
    def test_runs_the_runner_and_optimises_a_logged_metric(self, path):
        sweep = yaml.safe_load(path.read_text())
        assert (ROOT / sweep["program"]).is_file()
        assert sweep["metric"]["name"] == MONITOR
        assert sweep["method"] in {"grid", "random", "bayes"}
        assert "${args}" in sweep["command"]

    def test_every_value_of_every_parameter_parses(self, path):
        sweep = yaml.safe_load(path.read_text())
        parser = build_parser()
        for name, spec in sweep["parameters"].items():
            for value in sampled_values(spec):
                config = parser.parse_args(trial_argv(sweep, {name: value}))
                assert config[name.replace("-", "_")] == pytest.approx(value)

    def test_the_smallest_and_largest_trials_build(self, path):
        sweep = yaml.safe_load(path.read_text())
        names = list(sweep["parameters"])
        ends = [
            [min(sampled_values(spec)), max(sampled_values(spec))]
            if all(isinstance(v, int | float) for v in sampled_values(spec))
            else sampled_values(spec)[:1]
            for spec in sweep["parameters"].values()
        ]
        for values in ([end[0] for end in ends], [end[-1] for end in ends]):
            config = build_parser().parse_args(
                trial_argv(sweep, dict(zip(names, values, strict=True)))
            )
            build(config)  # raises on an option the model or dataset does not take
