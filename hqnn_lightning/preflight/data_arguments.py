"""The DataModules' checks of their arguments that need no data: the split fractions and the
combined set's rule of which classes to keep. The DataModules call them in their constructors;
the datasets' input checks (`car_layouts`) call them first, in the same order, so that the
command line names a bad value before a missing directory, as the library does."""

from __future__ import annotations

KEEP_RULES = ("matched", "union")
"""The combined dataset's ``keep``: the classes of both datasets, or of either."""


def check_split_fractions(val_fraction: float, test_fraction: float) -> None:
    """Checks that ``val_fraction`` and ``test_fraction`` describe a valid three-way split.

    Raises:
        ValueError: a fraction is outside ``[0, 1)``, or the two sum to 1 or more (no train
            samples would be left).
    """
    for option, fraction in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0 <= fraction < 1:
            raise ValueError(f"{option} must be in [0, 1), got {fraction}")
    if val_fraction + test_fraction >= 1:
        raise ValueError(
            f"val_fraction + test_fraction must be < 1 to leave train samples, "
            f"got {val_fraction} + {test_fraction}"
        )


def check_keep(keep: str) -> None:
    """Raises ``ValueError`` unless ``keep`` is one of `KEEP_RULES`."""
    if keep not in KEEP_RULES:
        raise ValueError(f"keep must be one of {', '.join(KEEP_RULES)}, got {keep!r}")
