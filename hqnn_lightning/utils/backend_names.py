"""The name of the library's own exact simulator as ``--q-device`` gives it, apart from
`hqnn_lightning.quantum.devices` (which imports PennyLane) so that the command line can check
an option against it before importing anything quantum."""

TORCH_DEVICE = "torch"
"""Name of the library's exact torch state-vector simulator."""
