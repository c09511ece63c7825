"""The exact backend of ``device="torch"`` for quanvolution filters: no simulator.

`coefficients` writes the filter as a multilinear function of its pixels' cosines and sines,
`kernel` builds and calls the fused C kernel (``kernel.c``) that evaluates it on every patch,
and `layer` slides it over images as `ExpansionQuanvolution` (the kernel on the CPU, pure torch
otherwise).
"""

from hqnn_lightning.quantum.expansion.coefficients import expansion_coefficients
from hqnn_lightning.quantum.expansion.layer import ExpansionQuanvolution

__all__ = ["ExpansionQuanvolution", "expansion_coefficients"]
