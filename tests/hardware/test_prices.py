"""The price table's arithmetic and the cost preview's line for known plans and prices."""

import pytest

from hqnn_lightning.hardware.plan import EvaluationPlan
from hqnn_lightning.hardware.prices import PRICES, describe_cost, price_for
from hqnn_lightning.quantum import KNOWN_DEVICES

ARIA = "arn:aws:braket:us-east-1::device/qpu/ionq/Aria-1"
GARNET = "arn:aws:braket:eu-north-1::device/qpu/iqm/Garnet"


def test_every_row_names_a_remote_device_a_source_and_a_date():
    for price in PRICES:
        assert KNOWN_DEVICES[price.device].remote
        assert price.source and price.read_on == "2026-12-07" and price.currency == "USD"
        unpublished = price.per_second is None and price.per_shot is None
        assert not unpublished or "not found" in price.note


def test_braket_bills_a_task_per_circuit_and_each_shot():
    aria = price_for("braket.aws.qubit", {"device_arn": ARIA})
    assert aria.name == "IonQ Aria on Braket"
    # 2,049 tasks x ($0.30 + 1,024 x $0.03)
    assert aria.dollars(2049, 1024) == pytest.approx(2049 * 0.30 + 2049 * 1024 * 0.03)
    assert aria.dollars(2049, 1024) == pytest.approx(63_559.98, abs=0.01)
    assert aria.qpu_seconds(2049, 1024) is None
    garnet = price_for("braket.aws.qubit", {"device_arn": GARNET})
    assert garnet.dollars(10, 100) == pytest.approx(10 * (0.30 + 100 * 0.00145))


def test_ibm_bills_its_time_per_second():
    ibm = price_for("qiskit.remote", {"backend": "ibm_torino"})
    assert ibm.qpu_seconds(2049, 1024) == pytest.approx(2049 * 1024 * 250e-6)
    assert ibm.dollars(2049, 1024) == pytest.approx(2049 * 1024 * 250e-6 * 1.60)


def test_unknown_qpus_simulators_and_unpublished_prices_have_no_cost():
    assert price_for("braket.aws.qubit", {"device_arn": "arn:aws:braket:::device/qpu/x"}) is None
    assert price_for("qiskit.aer") is None
    ionq = price_for("ionq.qpu", {"backend": "aria-1"})
    assert ionq.dollars(5, 100) is None and ionq.qpu_seconds(5, 100) is None
    assert "not published" in describe_cost(ionq, 5, 100)


def test_the_preview_states_dollars_and_time():
    plan = EvaluationPlan(2049, 9, 0, 2049, 1, 1024)  # the 196-class test set, 1 head
    braket = plan.describe("braket.aws.qubit", {"device_arn": ARIA}).splitlines()
    assert len(braket) == 2
    assert braket[1].startswith("estimated cost: $63,559.98 (Amazon Braket, IonQ Aria on Braket")
    assert "QPU time: not published" in braket[1]
    ibm = plan.describe("qiskit.remote", {"backend": "ibm_torino"}).splitlines()[1]
    assert "at least $839.27" in ibm and "at least 8.7 min" in ibm
    assert "\n" not in plan.describe("qiskit.aer")
