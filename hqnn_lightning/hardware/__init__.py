"""Hardware evaluation: a trained checkpoint's test set on a noisy simulator or a real QPU
(``experiments/run.py --evaluate``), one job per module:

- `plan`: the cost (circuits, shots) and the prompt that asks for consent;
- `retries`: job submission with retries and backoff;
- `jobs`: provider jobs recorded by id in a `JobJournal`, so that none is paid for twice,
  and which errors a retry may fix; `braket_jobs`: Amazon Braket's tasks recorded by ARN;
- `journal`: the evaluation's directory, which makes it resumable;
- `placement`: the checkpoint's quantum modules, counted and moved to the device;
- `evaluation`: `evaluate_checkpoint`, which runs all of it.
"""

from hqnn_lightning.hardware.evaluation import evaluate_checkpoint, summarize
from hqnn_lightning.hardware.jobs import JobClient, JobDevice, JobJournal, JobStatus, is_transient
from hqnn_lightning.hardware.placement import count_circuits, load_on_device, move_to_device
from hqnn_lightning.hardware.plan import EvaluationPlan, confirm_on_terminal
from hqnn_lightning.hardware.retries import JobFailedError, RetryPolicy, call_with_retries

__all__ = [
    "EvaluationPlan",
    "JobClient",
    "JobDevice",
    "JobFailedError",
    "JobJournal",
    "JobStatus",
    "RetryPolicy",
    "call_with_retries",
    "confirm_on_terminal",
    "count_circuits",
    "evaluate_checkpoint",
    "is_transient",
    "load_on_device",
    "move_to_device",
    "summarize",
]
