"""Runs a documented shell command in this process, as a user's shell would run it in a
checkout of the repository, only faster: ``python SCRIPT ARGS``, ``python -c CODE ARGS`` and
``python -m MODULE ARGS`` run through `runpy` (no new interpreter to import torch in again),
and ``make TARGET ...`` runs the commands ``make -n`` says the target runs (with the test's
Python in place of ``.venv/bin/python``, and no install).

The working directory is a scratch copy of the checkout's layout: ``experiments``,
``benchmarks``, ``tests``, ``Makefile`` and ``pyproject.toml`` link to the repository
(``notebooks`` is a copy), so a run's outputs (``runs/``, ``reports/``) land in the scratch
directory, and a ``shared`` link next to it points at ``../shared`` when the data are there.

A path argument holding ``...`` (``runs/hybrid-digits-seed0-.../checkpoints/best-epoch19.ckpt``)
stands for what an earlier command of the same page wrote: ``...`` and an epoch's number
match anything, and exactly one file must match.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import runpy
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from tests.docs.snippets import ROOT

LINKED = ("experiments", "benchmarks", "tests", "Makefile", "pyproject.toml")
COPIED = ("notebooks",)
"""Copied, not linked: a documented command rewrites them."""
PYTHONS = ("python", "python3", ".venv/bin/python")
ASSIGNMENT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", flags=re.DOTALL)
PATTERN = re.compile(r"\*|\.\.\.")
SHELL_VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")


class NotRunnable(Exception):
    """A command this runner does not run: the page should mark it ``not run``."""


def prepare(directory: Path) -> Path:
    """``directory``/repo laid out like the checkout (links) and, when ``../shared`` exists
    next to the checkout, ``directory``/shared linking to it; returns ``directory``/repo."""
    repo = directory / "repo"
    repo.mkdir(parents=True, exist_ok=True)
    for name in LINKED:
        if not (repo / name).exists():
            (repo / name).symlink_to(ROOT / name)
    for name in COPIED:
        if not (repo / name).exists():
            shutil.copytree(ROOT / name, repo / name)
    shared = ROOT.parent / "shared"
    if shared.is_dir() and not (directory / "shared").exists():
        (directory / "shared").symlink_to(shared)
    return repo


def run_command(command: str, variables: dict[str, str], cwd: Path) -> str:
    """Runs one shell ``command`` in ``cwd`` (from `prepare`) and returns what it printed;
    ``NAME=value`` alone sets a shell variable in ``variables``, before a command an
    environment variable for that command. Raises `NotRunnable` for a program other than
    python and make, and `AssertionError` for a non-zero exit."""
    words = shlex.split(_expand(command, variables), comments=True)
    settings = {}
    while words and ASSIGNMENT.match(words[0]):
        name, value = ASSIGNMENT.match(words.pop(0)).groups()
        settings[name] = value
    if not words:
        variables.update(settings)
        return ""
    if words[0] == "time":
        words.pop(0)
    if words[0] == "make":
        return "".join(run_command(line, variables, cwd) for line in _make_commands(words[1:]))
    if words[0] not in PYTHONS:
        raise NotRunnable(f"{words[0]} is not run by the documentation's tests")
    arguments = [name for word in words[1:] for name in _expand_path(word, cwd)]
    with _environment(settings), _directory(cwd), _captured() as printed:
        _python(arguments)
    return printed.getvalue()


def _python(arguments: list[str]) -> None:
    """``python ARGUMENTS`` in this interpreter; a non-zero exit is an `AssertionError`."""
    saved = sys.argv
    try:
        if arguments[0] == "-c":
            sys.argv = ["-c", *arguments[2:]]
            exec(compile(arguments[1], "<python -c>", "exec"), {"__name__": "__main__"})
        elif arguments[0] == "-m":
            sys.argv = arguments[1:]
            runpy.run_module(arguments[1], run_name="__main__", alter_sys=True)
        else:
            sys.argv = arguments
            runpy.run_path(arguments[0], run_name="__main__")
    except SystemExit as exit_:
        assert exit_.code in (None, 0), f"python {shlex.join(arguments)} exited with {exit_.code}"
    finally:
        sys.argv = saved


def _make_commands(arguments: list[str]) -> list[str]:
    """The commands ``make ARGUMENTS`` runs, with ``python`` as the venv's Python and its
    install step skipped. Under ``make test`` the inner make would say which directory it
    enters: it is run as a make of its own."""
    outer_make = ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")
    dry_run = subprocess.run(
        ["make", "-n", "--no-print-directory", "-o", ".venv/.installed", "PY=python", *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={name: value for name, value in os.environ.items() if name not in outer_make},
    )
    return [line for line in dry_run.stdout.splitlines() if line.strip()]


def _expand_path(argument: str, cwd: Path) -> list[str]:
    """``argument`` as the shell passes it: a pattern (``notebooks/*.ipynb``) replaced by
    the files it matches; and a path holding ``...`` replaced by the one file it stands for."""
    if argument.startswith("-") or re.search(r"\s", argument) or not re.search(PATTERN, argument):
        return [argument]
    pattern = re.sub(r"epoch\d+", "epoch*", argument.replace("...", "*"))
    matches = [str(path.relative_to(cwd)) for path in sorted(cwd.glob(pattern))]
    if "..." in argument:
        assert len(matches) == 1, f"{argument} matches {len(matches)} files under {cwd}"
    return matches or [argument]


def _expand(command: str, variables: dict[str, str]) -> str:
    """``$NAME`` and ``${NAME}`` replaced by the block's shell variables, then the
    environment's; single-quoted text is left as it is."""
    parts = re.split(r"('[^']*')", command)
    value = lambda m: variables.get(m[1] or m[2], os.environ.get(m[1] or m[2], ""))  # noqa: E731
    return "".join(p if p.startswith("'") else SHELL_VARIABLE.sub(value, p) for p in parts)


@contextlib.contextmanager
def _environment(settings: dict[str, str]):
    saved = {name: os.environ.get(name) for name in settings}
    os.environ.update(settings)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def _directory(path: Path):
    saved = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(saved)


@contextlib.contextmanager
def _captured():
    """What the command prints, also passed on to the real stdout (pytest's capture)."""
    printed = io.StringIO()
    real = sys.stdout

    class Tee(io.TextIOBase):
        def write(self, text: str) -> int:
            printed.write(text)
            return real.write(text)

        def flush(self) -> None:
            real.flush()

    with contextlib.redirect_stdout(Tee()):
        yield printed
