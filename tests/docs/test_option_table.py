"""getting_started.md's option table covers every option of ``experiments/run.py``, and each
option it names exists."""

from __future__ import annotations

import re

from hqnn_lightning.experiment.options import RENAMED_OPTIONS
from hqnn_lightning.run.options import build_parser
from tests.docs.snippets import ROOT

PAGE = ROOT / "docs" / "getting_started.md"
NOT_IN_THE_TABLE = {"--help", "--print_config"}
"""jsonargparse's own: --help is described above the table, --print_config beside --config."""


def runner_options() -> set[str]:
    """The runner's long options, without jsonargparse's ``+`` (append) and ``.help`` forms
    and the older names of `RENAMED_OPTIONS`."""
    renamed = {"--" + old.replace("_", "-") for old in RENAMED_OPTIONS}
    options = set()
    for action in build_parser()._actions:
        for flag in action.option_strings:
            if flag.startswith("--") and not flag.endswith(".help"):
                options.add(flag.rstrip("+"))
    return options - renamed - NOT_IN_THE_TABLE


def table_options() -> set[str]:
    """The options named in the first cell of the option table's rows."""
    text = PAGE.read_text()
    table = text[text.index("| option | meaning |") :].split("\n\n", 1)[0]
    cells = [row.split("|")[1] for row in table.splitlines()[2:]]
    return {flag.rstrip("+") for cell in cells for flag in re.findall(r"--[\w.-]+\+?", cell)}


def test_every_option_has_a_row():
    assert sorted(runner_options() - table_options()) == []


def test_every_row_names_a_real_option():
    assert sorted(table_options() - runner_options()) == []


def test_the_table_is_read():
    assert {"--model", "--q-device", "--seeds"} <= table_options()


def test_the_model_row_names_every_model_but_the_tiny_ones():
    from hqnn_lightning.models import MODELS

    text = PAGE.read_text()
    row = next(line for line in text.splitlines() if line.startswith("| `--model` |"))
    named = set(re.findall(r"`(\w+)`", row))
    assert sorted(name for name in MODELS if not name.endswith("_tiny") and name not in named) == []
