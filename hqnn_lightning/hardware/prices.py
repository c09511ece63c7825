"""The QPU providers' published prices, with their date and source, and the cost and
estimated QPU time of an evaluation on each.

Every price here was read on 2026-12-07 from the stored copy of the page named in
``source`` (no network was reachable; a copy's own date is given where the page states one).
A price not found in those pages is ``None``, with the reason in ``note``; none is guessed.
A QPU time is a lower bound and says so: ``min_seconds_per_shot`` is the documented rate it
rests on, ``time_source`` where that rate is published.

How an evaluation is billed (`QpuPrice.dollars`): on Amazon Braket each circuit execution is
one quantum task (the PennyLane plugin submits one task per circuit, also when it submits a
batch of them in parallel), charged ``per_task`` plus ``per_shot`` for each of its shots,
whatever its gates. IBM's Pay-As-You-Go plan charges ``per_second`` of QPU usage, so its
cost is its estimated time times that price.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

READ_ON = "2026-12-07"
"""The day the stored pages below were read."""

BRAKET_PRICING = (
    "https://aws.amazon.com/braket/pricing/ (stored copy of the Indonesian edition, "
    "aws.amazon.com/id/braket/pricing; the page states no date)"
)
IBM_PRICING = (
    "https://www.ibm.com/quantum/pricing, as transcribed on 2026-05-25 in "
    "github.com/api-evangelist/ibm-quantum plans/ibm-quantum-plans-pricing.yml"
)
IBM_REP_DELAY = (
    "default_rep_delay = 250 us in the FakeTorino and FakeBrisbane backend configurations "
    "shipped with qiskit-ibm-runtime 0.45.1 (conf_torino.json, conf_brisbane.json)"
)


@dataclass(frozen=True)
class QpuPrice:
    """One QPU's published on-demand price, and what is known of its time per shot.

    Args:
        provider: Who bills it (``"Amazon Braket"``, ``"IBM Quantum"``, ``"IonQ"``).
        name: The QPU family as the provider names it, and the channel
            (``"IonQ Aria on Braket"``).
        device: The library's ``--q-device`` that reaches it.
        match: Lower-case text that the device option selecting the QPU (``device_arn`` on
            ``braket.aws.qubit``, ``backend`` on ``qiskit.remote`` and ``ionq.qpu``) contains
            for this row to apply; ``""`` matches any.
        source: Where the prices were read.
        per_task: US dollars per task (one circuit execution), ``None`` if not published.
        per_shot: US dollars per shot, ``None`` if not published.
        per_second: US dollars per second of QPU usage, ``None`` if not billed by time.
        min_seconds_per_shot: QPU seconds per shot at least (a lower bound of the time),
            ``None`` where no rate is published.
        time_source: Where ``min_seconds_per_shot`` comes from (``""`` when it is ``None``).
        note: What the numbers leave out, or why one is ``None``.
        currency: The prices' currency.
        read_on: The day the source was read (ISO date).
    """

    provider: str
    name: str
    device: str
    match: str
    source: str
    per_task: float | None = None
    per_shot: float | None = None
    per_second: float | None = None
    min_seconds_per_shot: float | None = None
    time_source: str = ""
    note: str = ""
    currency: str = "USD"
    read_on: str = READ_ON

    def qpu_seconds(self, tasks: int, shots: int) -> float | None:
        """QPU seconds, at least, of ``tasks`` circuit executions of ``shots`` shots each;
        ``None`` where no rate per shot is published."""
        if self.min_seconds_per_shot is None:
            return None
        return tasks * shots * self.min_seconds_per_shot

    def dollars(self, tasks: int, shots: int) -> float | None:
        """US dollars for ``tasks`` circuit executions of ``shots`` shots each (at least, where
        billed by time: `qpu_seconds` is a lower bound); ``None`` where the price is not
        published."""
        if self.per_second is not None:
            seconds = self.qpu_seconds(tasks, shots)
            return None if seconds is None else seconds * self.per_second
        if self.per_task is None or self.per_shot is None:
            return None
        return tasks * (self.per_task + shots * self.per_shot)


def _braket(name: str, match: str, per_shot: float) -> QpuPrice:
    """A Braket QPU: $0.30 per task, the same for every QPU, and its own price per shot."""
    return QpuPrice(
        provider="Amazon Braket",
        name=name,
        device="braket.aws.qubit",
        match=match,
        per_task=0.30,
        per_shot=per_shot,
        source=BRAKET_PRICING,
        note="billed per task and shot; no QPU time per shot is published on the page",
    )


PRICES: tuple[QpuPrice, ...] = (
    _braket("IonQ Aria on Braket", "ionq/aria", 0.03),
    _braket("IonQ Forte on Braket", "ionq/forte", 0.08),
    _braket("IQM Garnet on Braket", "iqm/garnet", 0.00145),
    _braket("Rigetti Ankaa on Braket", "rigetti/ankaa", 0.0009),
    QpuPrice(
        provider="IBM Quantum",
        name="IBM QPU, Pay-As-You-Go",
        device="qiskit.remote",
        match="",
        per_second=1.60,
        min_seconds_per_shot=250e-6,
        source=IBM_PRICING,
        time_source=IBM_REP_DELAY,
        note=(
            "billed per second of QPU usage; the time is a lower bound: the repetition delay "
            "between shots only, without the circuit's own duration, compilation or a job's "
            "fixed overhead"
        ),
    ),
    QpuPrice(
        provider="IonQ",
        name="IonQ direct",
        device="ionq.qpu",
        match="",
        source="no IonQ pricing page among the stored pages",
        note=(
            "not found: no price of IonQ's own for direct access is in the stored pages (those "
            "found are Braket's per-shot price and Azure Quantum's gate-shot formula, other "
            "channels)"
        ),
    ),
)
"""Every QPU the library reaches, one row per price (`docs/devices.md`)."""


def price_for(device: str, options: Mapping[str, Any] | None = None) -> QpuPrice | None:
    """The price of ``device`` with its options, ``None`` for a simulator or a QPU whose
    price is not in `PRICES` (a Braket ARN of another QPU)."""
    options = options or {}
    selector = str(options.get("device_arn") or options.get("backend") or "").lower()
    for price in PRICES:
        if price.device == device and price.match in selector:
            return price
    return None


def describe_cost(price: QpuPrice | None, tasks: int, shots: int | None) -> str:
    """One line for the cost preview: the estimated dollars and QPU time of ``tasks``
    circuit executions of ``shots`` shots each (Braket: one task per circuit)."""
    if price is None or shots is None:
        return (
            "estimated cost: no price for this device and its options in "
            "hqnn_lightning.hardware.prices"
        )
    dollars = price.dollars(tasks, shots)
    seconds = price.qpu_seconds(tasks, shots)
    bound = "" if price.per_second is None else "at least "
    cost = "not published" if dollars is None else f"{bound}${dollars:,.2f}"
    time = "not published" if seconds is None else f"at least {seconds / 60:,.1f} min"
    return (
        f"estimated cost: {cost} ({price.provider}, {price.name}, prices read {price.read_on}; "
        f"hqnn_lightning.hardware.prices), estimated QPU time: {time}"
    )
