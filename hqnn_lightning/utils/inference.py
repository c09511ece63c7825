"""A fixed module made fast for inference on batches of one shape, with the same outputs.

A frozen backbone's forward pass is most of the cost of caching its features (a plain
EfficientNet-Lite0 loop manages 13-16 images/s on two cores at 224 px). Three changes that keep
the outputs, up to float32 rounding, speed it up several times on a CPU (measured by
``benchmarks/feature_extraction.py``):

- channels-last memory, which oneDNN's convolutions run faster;
- batch normalisation folded into the preceding convolution: by ``torch.fx``'s ``fuse`` when
  running eagerly, by inductor's weight freezing when compiled;
- with ``compile``, ``torch.compile`` for a fixed batch shape: every batch is padded to that
  shape, so it compiles once.
"""

from __future__ import annotations

import copy
import logging
import warnings
from collections.abc import Callable

import torch
from torch import Tensor, nn
from torch.fx.experimental.optimization import fuse

log = logging.getLogger(__name__)


class InferenceModule:
    """``module``'s eval-mode forward pass, ``(B, ...) -> (B, ...)`` for any ``B`` up to
    ``batch_size``, computed on a copy with batch normalisation folded, channels-last inputs
    and, with ``compile``, a compiled graph for batches of exactly ``batch_size``.

    The copy is made on the first call, so an unused one costs nothing; ``module`` itself is
    not changed. A module that ``torch.fx`` cannot trace (a quantum
    filter) keeps its layers; one that ``torch.compile`` cannot compile (no C++ compiler) runs
    eagerly, with a warning.

    Args:
        module: The fixed module, taking ``(B, C, H, W)`` images.
        batch_size: The largest batch; with ``compile``, smaller ones are padded to it.
        compile: Compile the forward pass (seconds to a minute, once, then about twice as
            fast again on a CPU): worth it for thousands of images.
    """

    def __init__(self, module: nn.Module, batch_size: int, compile: bool = False) -> None:
        self.source = module
        self.batch_size = batch_size
        self.compile = compile
        self.module: nn.Module | None = None
        self.compiled: Callable[[Tensor], Tensor] | None = None

    def _prepare(self) -> nn.Module:
        model = copy.deepcopy(self.source).eval().to(memory_format=torch.channels_last)
        if not self.compile:
            return _fused(model)
        # Inductor's weight freezing folds batch norm into the convolutions itself.
        self.compiled = torch.compile(model, dynamic=False, options={"freezing": True})
        return model

    @torch.inference_mode()
    def __call__(self, images: Tensor) -> Tensor:
        """``(B, C, H, W) -> (B, ...)``, ``B <= batch_size``."""
        if self.module is None:
            self.module = self._prepare()
        count = images.shape[0]
        images = images.contiguous(memory_format=torch.channels_last)
        if self.compiled is None:
            return self.module(images)
        if count < self.batch_size:
            padding = images.new_zeros((self.batch_size - count, *images.shape[1:]))
            images = torch.cat([images, padding]).contiguous(memory_format=torch.channels_last)
        try:
            return self.compiled(images)[:count]
        except Exception as error:  # inductor's failures have no common type
            warnings.warn(
                f"torch.compile failed ({type(error).__name__}: {error}); running eagerly",
                RuntimeWarning,
                stacklevel=2,
            )
            self.compiled = None
            self.module = _fused(self.module)
            return self.module(images[:count])


def _fused(model: nn.Module) -> nn.Module:
    """``model`` with each batch norm folded into its convolution, if ``torch.fx`` can trace
    it; else ``model``."""
    if not any(isinstance(layer, nn.BatchNorm2d) for layer in model.modules()):
        return model
    try:
        return fuse(model)
    except Exception as error:  # any tracing failure leaves it unfused
        log.info("%s keeps its batch norms: %s", type(model).__name__, error)
        return model
