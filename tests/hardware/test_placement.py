"""Hardware evaluation finds a model's quantum part through `QuantumModule`, whatever the
model: a researcher's own module is counted with its own `circuit_executions` and moved with
its own `on_device`; a model without one is refused in one line."""

import math

import lightning as L
import pytest
import torch
from torch import nn

from hqnn_lightning.data.synthetic import SyntheticImageDataModule
from hqnn_lightning.hardware import count_circuits, evaluate_checkpoint, move_to_device, placement
from hqnn_lightning.models import create_model
from hqnn_lightning.quantum import (
    QuantumDevice,
    QuantumLayer,
    TorchStatevectorLayer,
    VariationalClassifierCircuit,
    make_device,
    make_layer,
)
from hqnn_lightning.quantum.module import QuantumModule
from hqnn_lightning.utils.registry import Registry


class TwoCircuits(QuantumModule):
    """A researcher's own quantum module: features ``(B, 4)`` split in two halves, each run
    through its own 2-qubit circuit, ``(B, 4) -> (B, 4)``; two circuits per sample."""

    def __init__(self, device: str | QuantumDevice = "torch") -> None:
        super().__init__()
        self.circuit = VariationalClassifierCircuit(n_qubits=2, q_depth=2)
        if isinstance(device, str):
            device = make_device(device, self.circuit.n_qubits)
        self.halves = nn.ModuleList(make_layer(self.circuit, device) for _ in range(2))

    def circuit_executions(self, inputs: torch.Tensor) -> int:
        return 2 * math.prod(inputs.shape[:-1])

    def on_device(self, device: QuantumDevice) -> nn.Module:
        moved = TwoCircuits(device)
        moved.load_state_dict(self.state_dict())
        return moved

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        left, right = inputs.split(2, dim=-1)
        return torch.cat([self.halves[0](left), self.halves[1](right)], dim=-1)


class ResearcherNet(L.LightningModule):
    """A model outside the library holding `TwoCircuits` as an ordinary layer; ``built``
    counts its constructions."""

    built = 0

    def __init__(self, num_classes: int = 3, quantum: bool = True) -> None:
        super().__init__()
        self.save_hyperparameters()
        type(self).built += 1
        middle = TwoCircuits() if quantum else nn.Tanh()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(48, 4), middle, nn.Linear(4, num_classes))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images)


@pytest.fixture
def researcher_checkpoint(tmp_path, monkeypatch):
    """``researcher.ckpt`` (``quantum``) and ``classical.ckpt`` of `ResearcherNet`, registered
    as ``researcher`` in the models hardware evaluation loads from."""
    registry = Registry("model")
    registry.register("researcher")(ResearcherNet)
    monkeypatch.setattr(placement, "MODELS", registry)
    torch.manual_seed(0)
    for name, quantum in (("researcher", True), ("classical", False)):
        model = ResearcherNet(quantum=quantum)
        checkpoint = {
            "state_dict": model.state_dict(),
            "hyper_parameters": dict(model.hparams),
            "pytorch-lightning_version": L.__version__,
        }
        torch.save(checkpoint, tmp_path / f"{name}.ckpt")
    return tmp_path


def test_a_researchers_quantum_module_is_counted_by_its_own_rule():
    model = ResearcherNet()
    assert count_circuits(model, torch.rand(5, 3, 4, 4)) == 2 * 5


def test_a_researchers_quantum_module_moves_with_its_weights():
    model = ResearcherNet().eval()
    images = torch.rand(5, 3, 4, 4)
    with torch.no_grad():
        exact = model(images)
    move_to_device(model, "default.qubit")
    moved = model.net[2]
    assert isinstance(moved, TwoCircuits)
    assert all(isinstance(half, QuantumLayer) for half in moved.halves)
    with torch.no_grad():
        torch.testing.assert_close(model(images), exact, atol=1e-5, rtol=1e-5)


def test_the_library_layers_move_too():
    model = create_model("hybrid_tiny", num_classes=3, in_channels=3, image_size=4)
    assert isinstance(model.quantum, TorchStatevectorLayer)
    move_to_device(model, "default.qubit", shots=10)
    assert isinstance(model.quantum, QuantumLayer)
    assert model.quantum.quantum_device.shots == 10


def test_evaluation_loads_once_counts_and_moves_a_researchers_model(
    researcher_checkpoint, tmp_path
):
    data = SyntheticImageDataModule(image_size=4, batch_size=8)
    ResearcherNet.built = 0
    summary = evaluate_checkpoint(
        researcher_checkpoint / "researcher.ckpt",
        "researcher",
        data,
        "default.qubit",
        None,
        output_dir=tmp_path / "eval",
        confirm=lambda message: True,
        log=lambda message: None,
    )
    assert ResearcherNet.built == 1
    assert summary["samples"] == 24 and summary["circuits"] == 24 * 2
    model = ResearcherNet.load_from_checkpoint(researcher_checkpoint / "researcher.ckpt").eval()
    images, labels = map(torch.cat, zip(*data.test_dataloader(), strict=True))
    with torch.no_grad():
        accuracy = (model(images).argmax(1) == labels).float().mean().item()
    assert summary["test/acc_top1"] == pytest.approx(accuracy)


def test_a_model_without_a_quantum_module_is_refused_in_one_line(researcher_checkpoint):
    with pytest.raises(ValueError, match="has no quantum module") as refusal:
        placement.load_checkpoint(researcher_checkpoint / "classical.ckpt", "researcher")
    assert "\n" not in str(refusal.value)
