"""What the three commands (``experiments/run.py``, ``tune.py``, ``report.py``) share in how
they answer a mistake: one line, ``error: WHAT (see --help)``, and exit status 2, never the
usage block that argparse prints first.

The parser here is jsonargparse's; nothing else of the package is imported, so that a command
can refuse its options before it imports what its work needs.
"""

from __future__ import annotations

import difflib
import re
import sys
from typing import NoReturn

from jsonargparse import ArgumentParser

UNRECOGNIZED = re.compile(r"^[Uu]nrecognized arguments: (?P<given>.*)$", flags=re.DOTALL)
"""argparse's and jsonargparse's message for options no parser has."""


class OneLineParser(ArgumentParser):
    """jsonargparse's parser whose errors are one line: ``error: MESSAGE (see --help)`` on
    standard error, exit status 2. A parser jsonargparse nests for a class's arguments
    (``exit_on_error`` off) raises its message to the outer one unchanged."""

    def error(self, message: str, ex: Exception | None = None) -> NoReturn:
        if not self.exit_on_error:
            super().error(message, ex)
        refuse(self.one_line(message))

    def one_line(self, message: str) -> str:
        """``message`` on one line; an unknown option with the known ones it is close to:
        ``--modle hybrid: no such option (did you mean --model?)``."""
        unknown = UNRECOGNIZED.match(message.strip())
        if unknown is None:
            return " ".join(message.split())
        given = unknown["given"].split()
        flags = [token.split("=")[0] for token in given if token.startswith("--")]
        known = [flag for action in self._actions for flag in action.option_strings]
        close = [match for flag in flags for match in difflib.get_close_matches(flag, known, 1)]
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        return f"{' '.join(given)}: no such option{hint}"


def refuse(message: str) -> NoReturn:
    """Prints ``error: MESSAGE (see --help)`` to standard error and exits with 2: the one line
    every command gives for a mistake found before its work starts."""
    print(f"error: {message} (see --help)", file=sys.stderr)
    raise SystemExit(2)
