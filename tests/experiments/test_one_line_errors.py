"""``tune.py`` and ``report.py`` refuse a mistake as ``run.py`` does: one line,
``error: WHAT (see --help)``, exit status 2, no usage block."""

from __future__ import annotations

import pytest

from tests.experiments.scripts import load_script
from tests.run.test_help import run_with_imports

TUNE = load_script("tune")
REPORT = load_script("report")


@pytest.mark.parametrize(
    ("main", "argv", "line"),
    [
        (TUNE.main, ["--trials", "0", "--space", "lr=1e-3:1e-1", "--", "--model", "hybrid"],
         "error: --trials 0: give at least 1 (see --help)"),
        (TUNE.main, ["--space", "lr=bad", "--", "--model", "hybrid"],
         "error: --space 'lr=bad': expected NAME=LOW:HIGH[:log][:int] (see --help)"),
        (TUNE.main, ["--trails", "2", "--space", "lr=1e-3:1e-1"],
         "error: --trails 2: no such option (did you mean --trials?) (see --help)"),
        (TUNE.main, ["--space", "lr=1e-3:1e-1", "--", "--n-qubits", "four"],
         "error: --n-qubits four: expected int or null (see --help)"),
        (REPORT.main, [], "error: the following arguments are required: runs (see --help)"),
        (REPORT.main, ["/no/such/runs"], "error: /no/such/runs does not exist (see --help)"),
    ],
)  # fmt: skip
def test_a_mistake_is_one_line(main, argv, line, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert capsys.readouterr().err == line + "\n"


@pytest.mark.parametrize(
    ("options", "line"),
    [
        (["--data", "stanford_cars", "--data-dir", "{tmp}/cars"],
         "error: no Stanford Cars layout found in {tmp}/cars: give data_dir (--data-dir)"),
        (["--q-device", "braket.aws.qubit"],
         "error: braket.aws.qubit estimates expectation values from samples: give shots"),
    ],
)  # fmt: skip
def test_a_search_refuses_what_every_trial_would_before_the_first(tmp_path, capsys, options, line):
    argv = ["--space", "lr=1e-3:1e-1", "--", "--output-dir", str(tmp_path / "runs"), *options]
    with pytest.raises(SystemExit) as exit_info:
        TUNE.main([arg.format(tmp=tmp_path) for arg in argv])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.startswith(line.format(tmp=tmp_path))
    assert not (tmp_path / "runs").exists()


LIGHT_ANSWERS = {
    "experiments/tune.py": [
        ["--help"],
        ["--trials", "0", "--space", "lr=1e-3:1e-1", "--", "--seed", "1"],
        ["--space", "lr=1e-3:1e-1", "--", "--q-device", "ionq.qpu"],
    ],
    "experiments/report.py": [["--help"], ["/no/such/runs"]],
}


@pytest.mark.parametrize("script", list(LIGHT_ANSWERS))
def test_the_help_and_a_refusal_import_no_model(script):
    """What `benchmarks/cli_startup.py` times of ``tune.py`` and ``report.py``."""
    argvs = LIGHT_ANSWERS[script]
    for argv, answer in zip(argvs, run_with_imports(argvs, script), strict=True):
        expected = {"code": 0 if argv == ["--help"] else 2, "loaded": []}
        assert {key: answer[key] for key in expected} == expected, (argv, answer["stderr"])
