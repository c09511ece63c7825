"""The hybrid's circuit options: encoding, initialisation, the separable control, q_lr."""

import lightning as L
import pytest
import torch

from hqnn_lightning.models import create_model
from hqnn_lightning.models.summary import quantum_parameters


def tiny(name="hybrid_tiny", **kwargs):
    return create_model(name, num_classes=4, in_channels=1, image_size=8, **kwargs)


@pytest.mark.parametrize("encoding", ["ry", "rx", "hadamard_ry"])
@pytest.mark.parametrize("q_init", ["uniform", "normal", "identity"])
def test_options_reach_the_circuit(encoding, q_init):
    blocks = q_init == "identity"
    model = tiny(
        q_depth=2, encoding=encoding, identity_blocks=blocks, q_init=q_init, q_init_scale=0.02
    )
    circuit = model.quantum.circuit
    assert circuit.encoding == encoding
    assert circuit.identity_blocks == blocks and model.hparams.identity_blocks == blocks
    assert model.hparams.encoding == encoding and model.hparams.q_init == q_init


def test_normal_init_starts_near_zero():
    torch.manual_seed(0)
    weights = tiny(n_qubits=6, q_depth=10, q_init="normal", q_init_scale=0.01).quantum.weights
    assert weights.abs().max() < 0.05


def test_identity_init_passes_the_encoding_through():
    model = tiny(q_depth=2, encoding="hadamard_ry", q_init="identity").double()
    angles = torch.tensor([[0.3, -1.1], [-0.2, 0.9]], dtype=torch.float64)
    torch.testing.assert_close(model.bottleneck(angles), -torch.sin(angles), atol=1e-10, rtol=0)


def test_separable_control_differs_only_by_its_entangler():
    hybrid, separable = tiny("hybrid_tiny"), tiny("hybrid_separable_tiny")
    assert separable.quantum.circuit.entangler == "separable"
    assert hybrid.quantum.circuit.entangler == "strong"
    assert sum(p.numel() for p in separable.parameters()) == sum(
        p.numel() for p in hybrid.parameters()
    )


def optimizer_of(model):
    trainer = L.Trainer(max_epochs=2, logger=False, enable_checkpointing=False)
    model.trainer = trainer
    return model.configure_optimizers()["optimizer"]


def test_q_lr_puts_the_circuit_in_its_own_group():
    model = tiny(lr=1e-3, q_lr=0.05)
    groups = optimizer_of(model).param_groups
    assert [group["lr"] for group in groups] == [1e-3, 0.05]
    assert {id(p) for p in groups[1]["params"]} == {id(p) for p in quantum_parameters(model)}
    assert len(groups[0]["params"]) + len(groups[1]["params"]) == len(list(model.parameters()))
    assert model.hparams.q_lr == 0.05


def test_q_lr_defaults_to_lr_and_is_recorded():
    model = tiny(lr=2e-3)
    assert model.hparams.q_lr == 2e-3
    assert {group["lr"] for group in optimizer_of(model).param_groups} == {2e-3}


def test_a_checkpoint_from_before_q_init_is_refused_with_the_options_to_load_it(tmp_path):
    # Before q_init existed every hybrid had the study's circuit, and its hparams name neither
    # option: the new defaults (identity blocks) cannot take its weights.
    old = tiny(encoding="ry", identity_blocks=False, q_init="uniform")
    trainer = L.Trainer(logger=False, enable_progress_bar=False, enable_model_summary=False)
    trainer.strategy.connect(old)
    path = tmp_path / "old.ckpt"
    trainer.save_checkpoint(path)
    checkpoint = torch.load(path, weights_only=False)
    for name in ("encoding", "identity_blocks", "readout", "q_init", "q_init_scale", "q_lr"):
        del checkpoint["hyper_parameters"][name]
    torch.save(checkpoint, path)
    model_type = type(old)
    with pytest.raises(ValueError, match="load it with identity_blocks=False"):
        model_type.load_from_checkpoint(path, arch="small_cnn", n_qubits=2, q_depth=2)
    loaded = model_type.load_from_checkpoint(
        path,
        arch="small_cnn",
        n_qubits=2,
        q_depth=2,
        encoding="ry",
        identity_blocks=False,
        q_init="uniform",
    )
    torch.testing.assert_close(loaded.quantum.weights, old.quantum.weights)
