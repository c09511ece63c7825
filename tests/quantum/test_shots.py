"""Finite shots through the layers and models, and the upstream problems worked around."""

import lightning as L
import pennylane as qml
import pytest
import torch

from hqnn_lightning.data.synthetic import SyntheticImageDataModule
from hqnn_lightning.models import create_model
from hqnn_lightning.quantum import QuantumLayer, VariationalClassifierCircuit, make_device

CIRCUIT = VariationalClassifierCircuit(3, 1, "strong", "ry", identity_blocks=False)


def batch(size=5):
    return torch.rand(size, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)


class TestBroadcastWithGradientTransforms:
    def test_upstream_parameter_shift_fails_on_a_broadcast_batch(self):
        # PennyLane issue #6078: a plain broadcast QNode cannot be differentiated by
        # parameter-shift with respect to its broadcast inputs (a hybrid's inputs come from a
        # trained projection, so they require grad). If this starts passing upstream, the
        # expansion in QuantumDevice.qnode can go.
        device = qml.device("default.qubit", wires=3)
        qnode = qml.QNode(CIRCUIT, device, interface="torch", diff_method="parameter-shift")
        layer = qml.qnn.TorchLayer(qnode, CIRCUIT.weight_shapes)
        with pytest.raises(NotImplementedError, match="broadcasted"):
            layer(batch().requires_grad_()).sum().backward()

    @pytest.mark.parametrize("device", ["default.qubit", "lightning.qubit"])
    def test_parameter_shift_gradients_equal_the_exact_ones(self, device):
        reference = QuantumLayer(CIRCUIT, init="uniform").double()
        layer = QuantumLayer(
            CIRCUIT, init="uniform", device=device, diff_method="parameter-shift"
        ).double()
        layer.load_state_dict(reference.state_dict())
        gradients = []
        for module in (reference, layer):
            x = batch().requires_grad_()
            module(x).pow(2).sum().backward()
            gradients.append((x.grad, module.weights.grad))
        for exact, shifted in zip(*gradients, strict=True):
            torch.testing.assert_close(shifted, exact)

    def test_with_shots_training_and_evaluation_run_one_circuit_per_sample(self):
        layer = QuantumLayer(CIRCUIT, init="uniform", device="default.qubit", shots=200)
        with qml.Tracker(layer.qnode.device) as tracker:
            out = layer(batch(7).float().requires_grad_())
        out.sum().backward()
        assert tracker.totals["executions"] >= 7
        assert tracker.history["executions"][:7] == [1] * 7
        assert layer.weights.grad.abs().sum() > 0

    def test_shot_noise_has_the_binomial_size(self):
        exact = QuantumLayer(CIRCUIT, init="uniform")
        sampled = QuantumLayer(CIRCUIT, init="uniform", shots=400, seed=3)
        sampled.load_state_dict(exact.state_dict())
        with torch.no_grad():
            x = batch(64).float()
            error = sampled(x) - exact(x)
        # <Z> from 400 shots: standard error sqrt(1 - <Z>^2) / 20 <= 0.05.
        assert 0.005 < error.abs().mean() < 0.05


class TestLightningSplitsBatches:
    def test_a_broadcast_batch_is_one_simulation_per_sample_on_lightning(self):
        layer = QuantumLayer(CIRCUIT, init="uniform", device="lightning.qubit", shots=50)
        with torch.no_grad(), qml.Tracker(layer.qnode.device) as tracker:
            out = layer(batch(6))
        assert tracker.totals["simulations"] == 6
        assert out.shape == (6, 3)

    def test_lightning_adjoint_gives_each_sample_its_own_values(self):
        reference = QuantumLayer(CIRCUIT, init="uniform").double()
        layer = QuantumLayer(CIRCUIT, init="uniform", device="lightning.qubit").double()
        layer.load_state_dict(reference.state_dict())
        torch.testing.assert_close(layer(batch(6)), reference(batch(6)))

    def test_and_one_simulation_per_batch_on_default_qubit(self):
        layer = QuantumLayer(CIRCUIT, init="uniform", device="default.qubit")
        with qml.Tracker(layer.qnode.device) as tracker:
            layer(batch(6))
        assert tracker.totals["simulations"] == 1


@pytest.mark.slow
@pytest.mark.parametrize(
    ("model", "device", "options"),
    [
        ("hybrid_tiny", "default.qubit", {}),
        ("hybrid_tiny", "lightning.qubit", {}),
        ("hybrid_tiny", "default.mixed", {"noise": "depolarizing", "noise_strength": 0.01}),
        ("quanv_tiny", "default.qubit", {}),
    ],
)
def test_models_train_and_test_with_shots(model, device, options):
    data = SyntheticImageDataModule(num_classes=3, samples_per_class=4, image_size=4, batch_size=6)
    data.setup("fit")
    net = create_model(
        model,
        num_classes=3,
        in_channels=3,
        image_size=4,
        q_device=device,
        shots=100,
        q_device_options=options,
    )
    assert make_device(device, 2, shots=100, **options).diff_method == "parameter-shift"
    before = {k: v.clone() for k, v in net.state_dict().items()}
    trainer = L.Trainer(
        max_epochs=1,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(net, datamodule=data)
    metrics = trainer.test(net, datamodule=data, verbose=False)[0]
    assert 0.0 <= metrics["test/acc_top1"] <= 1.0
    changed = [k for k, v in net.state_dict().items() if not torch.equal(v, before[k])]
    quantum = "quantum.weights" if model == "hybrid_tiny" else "classifier.weight"
    assert quantum in changed
