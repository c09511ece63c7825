"""Finite shots on the torch state-vector backend: each read-out estimated from samples of
the exact state's computational-basis distribution.

`sampled_frequencies` draws ``shots`` basis states per sample from its exact probabilities
(``torch.multinomial`` with replacement, from a given ``torch.Generator``) and returns their
frequencies ``counts / shots``. A program's outputs are its probabilities times its read-out
matrix (`StatevectorProgram.readout`), so the frequencies times the same matrix are the
estimates a device with shots returns, all from the same samples of one input: ``probs`` as
``counts / shots``, ``<Z_i>`` as the mean of ``(-1)^{bit_i}``, ``<Z_i Z_j>`` as the mean of
``(-1)^{bit_i + bit_j}``.
"""

from __future__ import annotations

import torch

DRAWS_PER_CHUNK = 2**22
"""Basis states drawn at once (the rows of a batch are sampled in chunks of at most this many
draws, 32 MiB of indices), so that 8,192 shots of a 512-sample batch stay small."""


def sampled_frequencies(
    probabilities: torch.Tensor, shots: int, generator: torch.Generator
) -> torch.Tensor:
    """``(B, 2^n)`` exact probabilities -> ``(B, 2^n)`` frequencies of ``shots`` basis states
    drawn independently per row, in the same dtype; rows in order, each draw advancing
    ``generator``. Without a gradient."""
    rows_per_chunk = max(1, DRAWS_PER_CHUNK // shots)
    chunks = [probabilities.new_zeros(0, probabilities.shape[1])]
    with torch.no_grad():
        for chunk in probabilities.detach().split(rows_per_chunk):
            draws = torch.multinomial(chunk, shots, replacement=True, generator=generator)
            ones = torch.ones(draws.shape, dtype=chunk.dtype, device=chunk.device)
            chunks.append(torch.zeros_like(chunk).scatter_add_(1, draws, ones) / shots)
    return torch.cat(chunks)
