"""The keys of the metrics a run logs that the report reads back by name: the trainability
monitor's (`hqnn_lightning.run.trainability`), drawn by `hqnn_lightning.report.figures`."""

PREFIX = "trainability"
"""The prefix of every metric the monitor logs."""

LOSS_KEY = f"{PREFIX}/loss_minus_ln_classes"
"""The epoch's mean train loss minus ``ln C``, in nats: 0 at chance, negative once learning."""

GRAD_NORM_KEY = f"{PREFIX}/grad_norm/"
"""Prefix of the gradient norms, one metric per part: ``trainability/grad_norm/bottleneck``."""

OUTPUT_STD_KEY = f"{PREFIX}/output_std/"
"""Prefix of the output spread: ``trainability/output_std/mean`` and one metric per unit,
``trainability/output_std/0``, ``.../1``, ..."""
