"""The Markdown tables of the GPU check's logs (``benchmarks/gpu.sh``), each under a heading.

    python benchmarks/gpu_tables.py "Heading" LOG ["Heading" LOG ...] >> gpu_tables.md

A table is a block of lines that all start with ``|``; the paragraph just before it (the
benchmark's title line: sizes, device, threads) is kept with it. Everything else in a log
(warnings, progress bars) is left out.
"""

from __future__ import annotations

import sys
from pathlib import Path


def tables(text: str) -> list[str]:
    """Each table of ``text`` (a run of lines starting with ``|``) as Markdown, after its title:
    the paragraph before it, when a blank line separates the two."""
    found: list[str] = []
    table: list[str] = []
    paragraph: list[str] = []  # the lines since the last blank line
    closed: list[str] = []  # the paragraph that the last blank line ended
    for line in [*text.splitlines(), ""]:
        line = line.rsplit("\r", 1)[-1].rstrip()  # the end of a progress bar's line
        if line.startswith("|"):
            if not table and not paragraph and closed:
                table = [" ".join(closed), ""]
            table.append(line)
            paragraph, closed = [], []
            continue
        if table:
            found.append("\n".join(table))
            table = []
        if line:
            paragraph.append(line)
        elif paragraph:
            closed, paragraph = paragraph, []
    return found


def main(arguments: list[str]) -> None:
    if len(arguments) % 2:
        sys.exit(__doc__)
    for heading, log in zip(arguments[::2], arguments[1::2], strict=True):
        path = Path(log)
        found = tables(path.read_text(errors="replace")) if path.exists() else []
        print(f"\n## {heading}\n")
        print("\n\n".join(found) if found else f"(no table in {path.name})")


if __name__ == "__main__":
    main(sys.argv[1:])
