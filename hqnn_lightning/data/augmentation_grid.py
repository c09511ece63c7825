"""The "augmented samples" figure: source images next to several augmented views of each.

Drawn with matplotlib's object-oriented API and the Agg canvas, so that importing or calling it
leaves the user's pyplot backend alone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image
from torch import Tensor

from hqnn_lightning.data.transforms import AugmentationConfig
from hqnn_lightning.utils.files import atomic_write

MAX_SOURCES = 8
"""At most this many source images (rows) are drawn."""

CELL_INCHES = 1.6
"""Side of one image cell of the figure, in inches."""

DPI = 100


def save_augmentation_grid(
    images: Tensor | Sequence[Tensor | Image.Image],
    augment: Callable[[Any], Tensor],
    path: str | Path,
    n_views: int = 8,
    normalize_config: AugmentationConfig | None = None,
) -> Path:
    """Draws each source image and ``n_views`` augmentations of it in a row, and saves a PNG.

    Args:
        images: Source images: a uint8 ``(B, 3, H, W)`` batch, or a sequence of uint8
            ``(3, H, W)`` tensors or RGB PIL images; only the first `MAX_SOURCES` are drawn.
        augment: Maps one source image to one augmented float ``(3, S, S)`` image, e.g.
            ``train_transform(config)``; it is called ``n_views`` times per source image.
        path: The PNG file to write; missing parent directories are created.
        n_views: Augmented views per source image, >= 1.
        normalize_config: The augmentation config ``augment`` follows; if it normalises, the
            views are un-normalised with its mean and std for display. ``None``: views
            are shown as they are (clipped to ``[0, 1]``).

    Returns:
        ``path``, as a `Path`.

    Raises:
        ValueError: no source image, or ``n_views`` < 1.
    """
    sources = list(images)[:MAX_SOURCES]
    if not sources:
        raise ValueError("images is empty: need at least one source image")
    if n_views < 1:
        raise ValueError(f"n_views must be >= 1, got {n_views}")
    normalized_by = normalize_config if normalize_config and normalize_config.normalize else None

    columns = n_views + 1
    figure = Figure(figsize=(columns * CELL_INCHES, len(sources) * CELL_INCHES), dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.subplots(len(sources), columns, squeeze=False)
    for row, source in enumerate(sources):
        panels = [_source_pixels(source)]
        panels += [_view_pixels(augment(source), normalized_by) for _ in range(n_views)]
        for column, (ax, pixels) in enumerate(zip(axes[row], panels, strict=True)):
            ax.imshow(pixels)
            ax.set_axis_off()
            if row == 0:
                ax.set_title("original" if column == 0 else f"view {column}", fontsize=9)
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path, binary=True) as file:
        figure.savefig(file, format="png")
    return path


def _source_pixels(image: Tensor | Image.Image) -> np.ndarray:
    """A source image as an ``(H, W, 3)`` array for ``imshow``."""
    if isinstance(image, Image.Image):
        return np.asarray(image.convert("RGB"))
    return _view_pixels(image, normalized_by=None)


def _view_pixels(image: Tensor, normalized_by: AugmentationConfig | None) -> np.ndarray:
    """A uint8, ``[0, 1]`` or normalised ``(3, H, W)`` tensor as ``[0, 1]`` float ``(H, W, 3)``."""
    pixels = image.detach().to("cpu", torch.float32)
    if not image.is_floating_point():
        pixels = pixels / 255.0
    elif normalized_by is not None:
        mean = torch.tensor(normalized_by.mean).view(3, 1, 1)
        std = torch.tensor(normalized_by.std).view(3, 1, 1)
        pixels = pixels * std + mean
    return pixels.clamp(0.0, 1.0).permute(1, 2, 0).numpy()
