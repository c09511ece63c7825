"""Choosing the classes of a subset: by name, or k of them by a rule."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from hqnn_lightning.data.taxonomy import close_matches

CLASS_SELECTIONS = ("first", "most_images", "random")


def select_classes(
    class_names: Sequence[str],
    image_counts: Mapping[str, int],
    classes: Sequence[str] | None = None,
    num_classes: int | None = None,
    class_selection: str = "first",
    seed: int = 0,
) -> list[str]:
    """The classes a DataModule keeps, in the dataset's own order.

    Args:
        class_names: Every class of the dataset, in its order (label order).
        image_counts: Training images per class, for ``"most_images"``.
        classes: Keep exactly these (names as the dataset spells them).
        num_classes: Keep ``k`` classes chosen by ``class_selection``; ``None`` keeps all.
        class_selection: ``"first"`` (the first k in dataset order), ``"most_images"`` (the k
            with most training images, ties in dataset order) or ``"random"`` (k drawn with
            ``seed``).
        seed: Seed of the ``"random"`` rule.

    Raises:
        ValueError: an unknown class (the message lists close matches), an unknown rule, a
            ``num_classes`` outside ``[2, len(class_names)]``, or ``classes`` and
            ``num_classes`` that disagree.
    """
    if class_selection not in CLASS_SELECTIONS:
        raise ValueError(
            f"unknown class_selection {class_selection!r}; known: {', '.join(CLASS_SELECTIONS)}"
        )
    if classes is not None:
        unknown = [name for name in classes if name not in image_counts]
        if unknown:
            suggestions = close_matches(unknown[0], class_names, n=3)
            hint = f"; did you mean {', '.join(map(repr, suggestions))}?" if suggestions else ""
            raise ValueError(f"class {unknown[0]!r} does not exist in this dataset{hint}")
        if num_classes is not None and num_classes != len(set(classes)):
            raise ValueError(f"num_classes={num_classes} but {len(set(classes))} classes given")
        wanted = set(classes)
        return [name for name in class_names if name in wanted]
    if num_classes is None:
        return list(class_names)
    if not 2 <= num_classes <= len(class_names):
        raise ValueError(
            f"num_classes must be between 2 and the dataset's {len(class_names)}, got {num_classes}"
        )
    if class_selection == "first":
        chosen = range(num_classes)
    elif class_selection == "most_images":
        by_count = sorted(range(len(class_names)), key=lambda i: -image_counts[class_names[i]])
        chosen = by_count[:num_classes]
    else:
        chosen = np.random.default_rng(seed).choice(len(class_names), num_classes, replace=False)
    return [class_names[i] for i in sorted(chosen)]
