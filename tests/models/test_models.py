import pickle

import lightning as L
import pytest
import torch

from hqnn_lightning.models import (
    MODELS,
    ClassicalResNet,
    HybridVQC,
    QuanvNet,
    create_model,
    parameter_counts,
)
from hqnn_lightning.quantum import ExpansionQuanvolution, QuantumLayer, TorchStatevectorLayer

TINY = (
    "classical_tiny",
    "hybrid_tiny",
    "hybrid_control_tiny",
    "hybrid_control_matched_tiny",
    "hybrid_separable_tiny",
    "hybrid_study_tiny",
    "hybrid_study_control_tiny",
    "hybrid_study_separable_tiny",
    "hybrid_fourier_tiny",
    "hybrid_study_fourier_tiny",
    "quanv_tiny",
    "quanv_control_tiny",
)


def images(*shape):
    return torch.rand(*shape, generator=torch.Generator().manual_seed(0))


def tiny(name, **kwargs):
    return create_model(name, num_classes=4, in_channels=1, image_size=8, **kwargs)


class TestRegistry:
    def test_every_model_has_a_tiny_variant(self):
        full = {"classical", "hybrid", "hybrid_control", "hybrid_separable", "quanv"}
        full.add("hybrid_control_matched")
        full.add("quanv_control")
        full.add("quanv_control_trainable")
        full |= {"hybrid_study", "hybrid_study_control", "hybrid_study_separable"}
        full |= {"hybrid_fourier", "hybrid_study_fourier"}
        assert set(MODELS.names()) == full | set(TINY)

    @pytest.mark.parametrize(
        ("name", "cls"),
        [("classical", ClassicalResNet), ("hybrid", HybridVQC), ("quanv", QuanvNet)],
    )
    def test_names_build_their_classes(self, name, cls):
        assert isinstance(
            create_model(name, num_classes=3, arch="resnet18", image_size=8)
            if name != "quanv"
            else create_model(name, num_classes=3),
            cls,
        )

    def test_study_defaults(self):
        model = create_model("hybrid", num_classes=3, image_size=32)
        assert model.hparams.n_qubits == 6 and model.hparams.arch == "resnet50"
        assert model.projection.in_features == 2048

    def test_unknown_model_lists_the_known_ones(self):
        with pytest.raises(KeyError, match="unknown model 'qcnn'; known: classical"):
            create_model("qcnn", num_classes=3)

    def test_argument_a_model_does_not_take_is_named(self):
        with pytest.raises(TypeError, match="model 'classical_tiny' does not take n_qubits"):
            tiny("classical_tiny", n_qubits=4)


@pytest.mark.parametrize("name", TINY)
class TestTinyModels:
    def test_logits_shape(self, name):
        assert tiny(name)(images(5, 1, 8, 8)).shape == (5, 4)

    def test_saves_plain_hyperparameters(self, name):
        hparams = tiny(name).hparams
        assert hparams.num_classes == 4 and hparams.image_size == 8
        assert all(isinstance(v, int | float | str | bool | type(None)) for v in hparams.values())

    def test_pickles(self, name):
        model = tiny(name).eval()
        x = images(2, 1, 8, 8)
        torch.testing.assert_close(pickle.loads(pickle.dumps(model))(x), model(x))

    def test_checkpoint_round_trip(self, name, tmp_path):
        model = tiny(name).eval()
        trainer = L.Trainer(logger=False, enable_progress_bar=False, enable_model_summary=False)
        trainer.strategy.connect(model)
        trainer.save_checkpoint(tmp_path / "model.ckpt")
        restored = type(model).load_from_checkpoint(tmp_path / "model.ckpt").eval()
        x = images(2, 1, 8, 8)
        torch.testing.assert_close(restored(x), model(x))


def test_checkpoint_with_the_old_precompute_quanvolution_option_loads(tmp_path):
    model = tiny("quanv_tiny").eval()
    trainer = L.Trainer(logger=False, enable_progress_bar=False, enable_model_summary=False)
    trainer.strategy.connect(model)
    trainer.save_checkpoint(tmp_path / "model.ckpt")
    checkpoint = torch.load(tmp_path / "model.ckpt", weights_only=False)
    hparams = checkpoint["hyper_parameters"]
    hparams["precompute_quanvolution"] = hparams.pop("precompute_features")
    torch.save(checkpoint, tmp_path / "old.ckpt")
    restored = QuanvNet.load_from_checkpoint(tmp_path / "old.ckpt").eval()
    assert "precompute_quanvolution" not in restored.hparams
    assert restored.hparams.precompute_features is False
    x = images(2, 1, 8, 8)
    torch.testing.assert_close(restored(x), model(x))


class TestHybridVQC:
    def test_gradients_reach_the_quantum_weights_and_the_backbone(self):
        model = tiny("hybrid_tiny")
        model(images(4, 1, 8, 8)).sum().backward()
        assert model.quantum.weights.grad.abs().sum() > 0
        assert model.projection.weight.grad.abs().sum() > 0
        assert next(model.backbone.parameters()).grad.abs().sum() > 0

    def test_angles_enter_the_circuit_within_half_pi(self):
        model = tiny("hybrid_tiny")
        seen = []
        model.quantum.register_forward_pre_hook(lambda module, args: seen.append(args[0]))
        model.projection.weight.data.mul_(1e3)
        model(images(4, 1, 8, 8))
        assert seen[0].abs().max() <= torch.pi / 2

    def test_frozen_backbone_gets_no_gradient_and_stays_in_eval_mode(self):
        model = tiny("hybrid_tiny", freeze_backbone=True)
        model.train()
        assert not model.backbone.training and model.quantum.training
        model(images(4, 1, 8, 8)).sum().backward()
        assert all(p.grad is None for p in model.backbone.parameters())
        assert model.quantum.weights.grad is not None

    def test_parameter_counts(self):
        model = tiny("hybrid_tiny", n_qubits=3, q_depth=2, identity_blocks=False, q_init="normal")
        counts = parameter_counts(model)
        assert counts["quantum"] == 2 * 3 * 3
        # The mirror is a structure of its own: every q_init keeps its weights.
        for q_init in ("identity", "normal", "uniform"):
            mirrored = tiny("hybrid_tiny", n_qubits=3, q_depth=2, q_init=q_init)
            assert parameter_counts(mirrored)["quantum"] == 2 * (2 * 3 * 3)
        assert counts["classical"] + counts["quantum"] == sum(p.numel() for p in model.parameters())

    def test_simulates_on_the_torch_backend_by_default(self):
        model = tiny("hybrid_tiny")
        assert model.hparams.q_device == "torch"
        assert isinstance(model.quantum, TorchStatevectorLayer)

    def test_checkpoint_moves_to_a_pennylane_device(self, tmp_path):
        model = tiny("hybrid_tiny").eval()
        trainer = L.Trainer(logger=False, enable_progress_bar=False, enable_model_summary=False)
        trainer.strategy.connect(model)
        trainer.save_checkpoint(tmp_path / "model.ckpt")
        restored = HybridVQC.load_from_checkpoint(tmp_path / "model.ckpt", q_device="default.qubit")
        assert isinstance(restored.eval().quantum, QuantumLayer)
        x = images(2, 1, 8, 8)
        torch.testing.assert_close(restored(x), model(x), atol=1e-5, rtol=0)

    def test_device_and_shots_reach_the_quantum_layer(self):
        model = tiny("hybrid_tiny", q_device="lightning.qubit", shots=100)
        device = model.quantum.quantum_device
        assert (device.name, device.shots, device.diff_method) == (
            "lightning.qubit",
            100,
            "parameter-shift",
        )


class TestBottleneckVariants:
    def test_control_has_the_hybrids_shape_with_a_classical_layer(self):
        hybrid, control = tiny("hybrid_tiny", n_qubits=3), tiny("hybrid_control_tiny", n_qubits=3)
        assert control.projection.out_features == hybrid.projection.out_features == 3
        assert control.classifier.in_features == hybrid.classifier.in_features == 3
        assert parameter_counts(control)["quantum"] == 0
        out = control.bottleneck_layer()(torch.full((2, 3), 10.0))
        assert out.shape == (2, 3) and out.abs().max() <= 1

    def test_matched_control_has_the_circuits_parameter_count(self):
        hybrid = create_model("hybrid", num_classes=7, arch="small_cnn", image_size=8)
        matched = create_model(
            "hybrid_control_matched", num_classes=7, arch="small_cnn", image_size=8
        )
        circuit = parameter_counts(hybrid)["quantum"]
        head = sum(p.numel() for p in matched.classical.parameters())
        assert circuit == 108 and head == 110  # 6 -> 8 -> 6, the nearest to 108
        assert parameter_counts(matched)["quantum"] == 0
        assert "hybrid_control_matched" in MODELS.controls()["hybrid"]
        # The study's circuit (no mirror) has 54 angles: 6 -> 4 -> 6 has 58.
        uniform = tiny("hybrid_control_tiny", n_qubits=6, bottleneck_parameters=54)
        assert sum(p.numel() for p in uniform.classical.parameters()) == 58
        small = parameter_counts(tiny("hybrid_tiny"))["quantum"]
        small_matched = tiny("hybrid_control_matched_tiny").classical
        assert abs(sum(p.numel() for p in small_matched.parameters()) - small) <= 2 * 2 + 1
        out = matched.bottleneck_layer()(torch.full((2, 6), 10.0))
        assert out.shape == (2, 6) and out.abs().max() <= 1

    @pytest.mark.parametrize("name", ["hybrid_tiny", "hybrid_control_tiny"])
    def test_heads_side_by_side_see_their_own_slice(self, name):
        model = tiny(name, n_qubits=2, n_heads=3)
        assert model.projection.out_features == model.classifier.in_features == 6
        heads = model.quantum if name == "hybrid_tiny" else model.classical
        angles = torch.rand(4, 6)
        moved = angles.clone()
        moved[:, 2:4] += 0.5  # only the second head's inputs
        changed = (model.bottleneck_layer()(angles) - model.bottleneck_layer()(moved)).abs().sum(
            0
        ) > 1e-9
        assert changed.tolist() == [False, False, True, True, False, False]
        assert len(heads) == 3
        if name == "hybrid_tiny":
            # three heads of two layers on two qubits, each layer mirrored (identity blocks)
            assert parameter_counts(model)["quantum"] == 3 * (2 * 2 * 3) * 2

    def test_residual_path_carries_the_features_around_the_circuit(self):
        model = tiny("hybrid_tiny", residual=True)
        assert model.shortcut.in_features == model.projection.in_features
        model(images(4, 1, 8, 8)).sum().backward()
        assert model.shortcut.weight.grad.abs().sum() > 0
        with torch.no_grad():
            model.classifier.weight.zero_()
            model.classifier.bias.zero_()
        x = images(2, 1, 8, 8)
        torch.testing.assert_close(model(x), model.shortcut(model.backbone(x)))

    def test_reuploading_hybrid_encodes_before_every_layer_and_trains(self):
        model = tiny(
            "hybrid_tiny", q_depth=2, reupload=True, identity_blocks=False, q_init="normal"
        )
        assert model.quantum.circuit.reupload and model.hparams.reupload
        program = model.quantum.simulator.program
        assert program.reencodes  # both layers' encodings read the inputs
        assert sum(gate.uses_inputs for gate in program.gates) == 2 * model.quantum.circuit.n_qubits
        model(images(4, 1, 8, 8)).sum().backward()
        assert model.quantum.weights.grad.abs().sum() > 0
        assert model.projection.weight.grad.abs().sum() > 0

    def test_no_heads_is_refused(self):
        with pytest.raises(ValueError, match="n_heads must be at least 1"):
            tiny("hybrid_tiny", n_heads=0)


class TestQuanvNet:
    def test_only_the_classical_head_trains(self):
        model = tiny("quanv_tiny")
        counts = parameter_counts(model)
        assert counts["quantum"] == 0
        assert not any(
            isinstance(m, QuantumLayer) and list(m.parameters()) for m in model.modules()
        )

    def test_head_sees_the_quanvolved_channels(self):
        model = create_model(
            "quanv", num_classes=3, in_channels=3, image_size=8, kernel_size=3, stride=1
        )
        assert model.head[0].in_channels == 3 * 9
        assert model(images(2, 3, 8, 8)).shape == (2, 3)

    def test_simulates_with_the_torch_backend_by_default(self):
        model = tiny("quanv_tiny")
        assert isinstance(model.quanvolution.filter, ExpansionQuanvolution)
        reference = tiny("quanv_tiny", q_device="default.qubit")
        reference.load_state_dict(model.state_dict())
        x = images(2, 1, 8, 8)
        torch.testing.assert_close(model.eval()(x), reference.eval()(x))

    def test_trainable_filter_angles_are_quantum_parameters_that_learn(self):
        model = tiny("quanv_tiny", trainable_filter=True, n_layers=2)
        assert parameter_counts(model)["quantum"] == 2 * 4
        model(images(2, 1, 8, 8)).sum().backward()
        assert model.quanvolution.filter.weights.grad.abs().sum() > 0

    def test_image_smaller_than_a_patch_is_refused(self):
        with pytest.raises(ValueError, match="smaller than one 3x3 patch"):
            create_model("quanv", num_classes=3, image_size=2, kernel_size=3)
