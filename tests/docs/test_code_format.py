"""The Python blocks of README.md and docs/*.md are formatted as ``ruff format`` formats them
(ruff formats a Markdown file's Python blocks; ``make format`` would otherwise rewrite them)."""

from __future__ import annotations

import subprocess
import sys

from tests.docs.snippets import PAGES, ROOT


def test_python_blocks_are_ruff_formatted():
    check = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", "--diff", *map(str, PAGES)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stdout + check.stderr
