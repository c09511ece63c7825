"""Every command and Python snippet of README.md and docs/*.md runs, in page order, with tiny
settings, or its page marks it ``not run`` with the reason (docs/contributing.md,
"Documentation that runs").

A shell command runs in this process (`tests.docs.shell`) with ``HQNN_SMOKE_BATCHES=2``: the
runner trains one epoch of two batches. A Python snippet runs with `lightning.Trainer`
replaced by one that does the same. A page's snippets share one scratch directory, so a
command finds the files an earlier one wrote (a checkpoint to evaluate). A command already run
for another page is not run again; one whose printed figures
`tests.docs.test_quoted_figures` checks runs there.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import lightning
import pytest
import torch

from hqnn_lightning.run.smoke import SMOKE_VARIABLE, smoke_trainer_arguments
from tests.docs.shell import PYTHONS, prepare, run_command
from tests.docs.snippets import PAGES, ROOT, Snippet, page_snippets, shell_commands, snippets
from tests.docs.test_quoted_figures import CHECKED_HERE

SNIPPETS = snippets()
RUN = [
    snippet
    for snippet in SNIPPETS
    if snippet.not_run is None
    and not any(page == snippet.page and text in snippet.text for page, text in CHECKED_HERE)
]
SMOKE_BATCHES = "2"
ALREADY_RUN: set[str] = set()


def commands(snippet: Snippet) -> list[tuple[str, str | None]]:
    """The shell commands of ``snippet`` with their ``# not run:`` reasons."""
    return [(snippet.text, None)] if snippet.language == "inline" else shell_commands(snippet.text)


@pytest.fixture(scope="session")
def page_directories(tmp_path_factory) -> dict[str, Path]:
    """One scratch checkout (`tests.docs.shell.prepare`) per page, made when first asked."""

    class Directories(dict):
        def __missing__(self, page: str) -> Path:
            self[page] = prepare(tmp_path_factory.mktemp(Path(page).stem))
            return self[page]

    return Directories()


class SmokeTrainer(lightning.Trainer):
    """`lightning.Trainer` with the runner's ``HQNN_SMOKE_BATCHES`` limits."""

    def __init__(self, *args, max_epochs: int | None = None, **kwargs):
        super().__init__(*args, **{**kwargs, **smoke_trainer_arguments(max_epochs or 1)})


@pytest.fixture
def torch_settings_kept():
    """Undoes what a snippet's Trainer sets for the whole process (``deterministic=True``
    turns on torch's deterministic algorithms), so that the tests after it run as before."""
    deterministic = torch.are_deterministic_algorithms_enabled()
    threads = torch.get_num_threads()
    yield
    torch.use_deterministic_algorithms(deterministic)
    torch.set_num_threads(threads)


@pytest.mark.slow
@pytest.mark.usefixtures("torch_settings_kept")
@pytest.mark.parametrize("snippet", RUN, ids=[snippet.id for snippet in RUN])
def test_documented_snippet_runs(snippet, page_directories, monkeypatch):
    monkeypatch.setenv(SMOKE_VARIABLE, SMOKE_BATCHES)
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setattr(lightning, "Trainer", SmokeTrainer)
    directory = page_directories[snippet.page]
    if snippet.language == "python":
        monkeypatch.chdir(directory)
        exec(compile(snippet.text, snippet.id, "exec"), {"__name__": "__main__"})
        return
    variables: dict[str, str] = {}
    for command, not_run in commands(snippet):
        if not_run is not None:
            continue
        if "shared/data" in command and not (directory.parent / "shared" / "data").is_dir():
            pytest.skip("needs ../shared/data")
        key = " ".join(command.split())
        if key not in ALREADY_RUN or "$" in key or "..." in key:
            run_command(command, variables, directory)
            ALREADY_RUN.add(key)


def test_every_command_is_run_or_marked():
    unrunnable = []
    for snippet in RUN:
        for command, not_run in commands(snippet) if snippet.is_shell else []:
            program = re.sub(r"^(\w+=\S*\s+)*(time\s+)?", "", command).split()[0]
            if "=" in program:  # a shell variable set for the commands after it
                continue
            if not_run is None and program not in (*PYTHONS, "make"):
                unrunnable.append(f"{snippet.id}: {command[:60]}")
    assert not unrunnable, "commands neither run nor marked <!-- not run: REASON -->"


def test_every_mark_gives_a_reason():
    marked = [snippet for snippet in SNIPPETS if snippet.not_run is not None]
    assert marked, "no page marks anything: the marks are not being read"
    assert [snippet.id for snippet in marked if len(snippet.not_run.split()) < 2] == []


def test_a_new_unmarked_command_is_found(tmp_path):
    page = """Run `make run` or

<!-- not run: needs a QPU -->
```bash
python experiments/run.py --evaluate C --q-device ionq.qpu
```

then `wandb sync runs/x` <!-- not run: needs credentials -->
and `bash experiments/new.sh DATA`:

```python
print(1)
```

<!-- not run: a mark must touch its block -->

```bash
make run
```
"""
    found = {(s.line, s.language): s.not_run for s in page_snippets("new.md", page)}
    assert found == {
        (1, "inline"): None,
        (4, "bash"): "needs a QPU",
        (8, "inline"): None,
        (9, "inline"): "needs credentials",
        (11, "python"): None,
        (17, "bash"): None,
    }


def test_a_marked_line_of_a_block_is_not_run():
    block = 'python -c "print(1)\nprint(2)"\nbash slow.sh \\\n  --all   # not run: hours of CPU\n'
    assert shell_commands(block) == [
        ('python -c "print(1)\nprint(2)"', None),
        ("bash slow.sh    --all", "hours of CPU"),
    ]


def test_the_pages_exist():
    assert (ROOT / "docs" / "contributing.md").read_text().count("not run:") >= 1


def test_no_mark_starts_a_line_inside_a_paragraph():
    """A line that starts with an HTML comment ends the paragraph above it when the page is
    rendered: a mark inside a paragraph goes after text on its line."""
    splitting = []
    for page in PAGES:
        lines = page.read_text().splitlines()
        for number, (previous, line) in enumerate(itertools.pairwise(lines), start=2):
            opens_a_block = number < len(lines) and lines[number].lstrip().startswith("```")
            starts = line.lstrip().startswith("<!--") and previous.strip()
            if starts and not previous.lstrip().startswith(("```", "<!--")) and not opens_a_block:
                splitting.append(f"{page.name}:{number}")
    assert splitting == []
