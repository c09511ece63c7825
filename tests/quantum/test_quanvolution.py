import os
import pickle
import shutil

import pennylane as qml
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from hqnn_lightning.quantum import QuanvolutionLayer, quanvolution_filter_qnode
from hqnn_lightning.quantum.expansion.kernel import load_kernel
from hqnn_lightning.quantum.expansion.layer import ExpansionQuanvolution

DEVICES = ("torch", "default.qubit")
HAS_COMPILER = shutil.which(os.environ.get("CC", "cc")) is not None
needs_compiler = pytest.mark.skipif(not HAS_COMPILER, reason="needs a C compiler")
FLOAT32_TOLERANCE = 1e-6
"""float32 against float64 on the same images; measured worst case 3.4e-7 (docs)."""


def images(*shape, seed=0, dtype=torch.float64):
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def reference_quanvolution(x, kernel_size, stride, seed):
    """The per-patch loop of PennyLane's quanvolution demo, one QNode call per patch."""
    qnode, _ = quanvolution_filter_qnode(kernel_size=kernel_size, seed=seed)
    batch, channels, height, width = x.shape
    out_h = (height - kernel_size) // stride + 1
    out_w = (width - kernel_size) // stride + 1
    out = torch.zeros(batch, channels * kernel_size**2, out_h, out_w, dtype=x.dtype)
    for b in range(batch):
        for c in range(channels):
            for i in range(out_h):
                for j in range(out_w):
                    patch = x[
                        b,
                        c,
                        i * stride : i * stride + kernel_size,
                        j * stride : j * stride + kernel_size,
                    ]
                    values = qnode(patch.reshape(-1))
                    for q, value in enumerate(values):
                        out[b, c * kernel_size**2 + q, i, j] = value
    return out


class TestQuanvolutionLayer:
    @pytest.mark.parametrize("device", DEVICES)
    @pytest.mark.parametrize(
        ("kernel_size", "stride", "padding", "size", "expected"),
        [(2, 2, 0, 8, 4), (3, 1, 0, 5, 3), (3, 3, 1, 7, 3), (2, 2, 0, 7, 3)],
    )
    def test_output_shape(self, device, kernel_size, stride, padding, size, expected):
        layer = QuanvolutionLayer(kernel_size, stride, padding, device=device)
        out = layer(images(2, 3, size, size))
        assert out.shape == (2, 3 * kernel_size**2, expected, expected)
        assert layer.output_size(size) == expected

    @pytest.mark.parametrize("device", DEVICES)
    @pytest.mark.parametrize(("kernel_size", "stride"), [(2, 2), (3, 1)])
    def test_equals_the_per_patch_reference_loop(self, device, kernel_size, stride):
        x = images(2, 2, 5, 5)
        layer = QuanvolutionLayer(kernel_size, stride, seed=3, device=device)
        expected = reference_quanvolution(x, kernel_size, stride, seed=3)
        torch.testing.assert_close(layer(x), expected, atol=1e-10, rtol=0)

    def test_torch_is_the_default_device(self):
        assert isinstance(QuanvolutionLayer().filter, ExpansionQuanvolution)

    def test_all_patches_of_all_images_are_one_simulation(self):
        layer = QuanvolutionLayer(device="default.qubit")
        with qml.Tracker(layer.filter.qnode.device) as tracker:
            layer(images(4, 3, 8, 8))
        assert tracker.totals["simulations"] == 1
        assert tracker.totals["executions"] == 4 * 3 * 16

    @pytest.mark.parametrize("device", DEVICES)
    def test_has_no_trainable_parameters_and_builds_no_graph(self, device):
        layer = QuanvolutionLayer(device=device)
        assert sum(p.numel() for p in layer.parameters()) == 0
        assert not layer(images(1, 1, 4, 4)).requires_grad

    @pytest.mark.parametrize("device", DEVICES)
    def test_filter_depends_on_the_seed(self, device):
        x = images(1, 1, 4, 4)
        first = QuanvolutionLayer(seed=0, device=device)(x)
        assert not torch.allclose(first, QuanvolutionLayer(seed=1, device=device)(x))

    def test_rejects_images_smaller_than_a_patch(self):
        with pytest.raises(ValueError, match="smaller than one 3x3 patch"):
            QuanvolutionLayer(kernel_size=3)(images(1, 1, 2, 2))

    def test_rejects_non_image_input(self):
        with pytest.raises(ValueError, match=r"\(B, C, H, W\)"):
            QuanvolutionLayer()(images(3, 8, 8))

    def test_torch_device_samples_with_shots(self):
        layer = QuanvolutionLayer(device="torch", shots=100)
        with torch.no_grad():
            halves = layer(images(1, 1, 4, 4)) * 50
        assert torch.allclose(halves, halves.round(), atol=1e-4)  # <Z> = 2 n_0 / 100 - 1

    def test_pickles(self):
        layer = QuanvolutionLayer(kernel_size=3, stride=1, seed=2)
        x = images(1, 2, 6, 6)
        torch.testing.assert_close(pickle.loads(pickle.dumps(layer))(x), layer(x))


geometries = st.tuples(
    st.integers(1, 3),  # kernel_size
    st.integers(1, 3),  # stride
    st.integers(0, 2),  # padding
    st.integers(1, 2),  # n_layers
    st.integers(0, 2**16),  # seed
)


@settings(max_examples=20, deadline=None)
@given(geometries, st.integers(3, 9), st.integers(0, 2**16))
def test_torch_device_equals_default_qubit(geometry, size, data_seed):
    kernel_size, stride, padding, n_layers, seed = geometry
    args = (kernel_size, stride, padding, n_layers, seed)
    if (size + 2 * padding - kernel_size) // stride < 0:
        size = kernel_size
    x = images(2, 2, size, size + 1, seed=data_seed)
    expected = QuanvolutionLayer(*args, device="default.qubit")(x)
    layer = QuanvolutionLayer(*args, device="torch")
    assert layer.filter.uses_kernel(x) == HAS_COMPILER
    torch.testing.assert_close(layer(x), expected, atol=1e-10, rtol=0)
    # The pure-torch path: taken when the images need a gradient.
    torch.testing.assert_close(
        layer(x.clone().requires_grad_(True)).detach(), expected, atol=1e-10, rtol=0
    )
    torch.testing.assert_close(layer(x.float()).double(), expected, atol=FLOAT32_TOLERANCE, rtol=0)


class TestExpansionPaths:
    def test_input_gradient_equals_default_qubit(self):
        x = images(2, 2, 6, 6)
        cotangent = images(2, 8, 3, 3, seed=1)
        grads = []
        for device in DEVICES:
            pixels = x.clone().requires_grad_(True)
            (QuanvolutionLayer(device=device)(pixels) * cotangent).sum().backward()
            grads.append(pixels.grad)
        torch.testing.assert_close(grads[0], grads[1], atol=1e-10, rtol=0)

    def test_without_a_compiler_the_torch_path_gives_the_same_values(self, monkeypatch):
        layer = QuanvolutionLayer(kernel_size=3, stride=2, seed=5)
        x = images(2, 3, 9, 9)
        compiled = layer(x)
        monkeypatch.setattr("hqnn_lightning.quantum.expansion.layer.load_kernel", lambda: None)
        assert not layer.filter.uses_kernel(x)
        torch.testing.assert_close(layer(x), compiled, atol=1e-12, rtol=0)

    @needs_compiler
    def test_kernel_is_built_once_into_its_cache_directory(self, tmp_path, monkeypatch):
        monkeypatch.setenv("HQNN_LIGHTNING_KERNEL_DIR", str(tmp_path))
        load_kernel.cache_clear()
        try:
            assert load_kernel() is not None
            built = list(tmp_path.glob("quanvolution-*.so"))
            assert len(built) == 1
            stamp = built[0].stat().st_mtime_ns
            load_kernel.cache_clear()
            load_kernel()
            assert built[0].stat().st_mtime_ns == stamp
        finally:
            load_kernel.cache_clear()

    @pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
    def test_cuda_equals_cpu(self):
        layer = QuanvolutionLayer(kernel_size=2, stride=1, n_layers=2, seed=3)
        x = images(2, 3, 9, 9)
        torch.testing.assert_close(layer.cuda()(x.cuda()).cpu(), layer.cpu()(x), atol=1e-10, rtol=0)


class TestTrainableFilter:
    def test_starts_as_the_fixed_filter_with_its_angles_as_parameters(self):
        x = images(2, 2, 6, 6)
        for device in DEVICES:
            layer = QuanvolutionLayer(n_layers=2, seed=4, device=device, trainable=True)
            (angles,) = layer.parameters()
            assert angles.shape == (2, 4) and angles.dtype == torch.get_default_dtype()
            fixed = QuanvolutionLayer(n_layers=2, seed=4, device=device)(x)
            # The parameters hold the fixed angles rounded to float32.
            torch.testing.assert_close(layer(x).detach(), fixed, atol=FLOAT32_TOLERANCE, rtol=0)

    @pytest.mark.parametrize("kernel_size", [2, 3])
    def test_gradient_in_the_angles_equals_default_qubit(self, kernel_size):
        x = images(2, 2, 7, 7)
        grads, values = [], []
        for device in DEVICES:
            layer = QuanvolutionLayer(
                kernel_size, 2, n_layers=2, seed=6, device=device, trainable=True
            ).double()
            (angles,) = layer.parameters()
            with torch.no_grad():
                angles.copy_(torch.as_tensor(layer.circuit.random_weights) + 0.3)
            out = layer(x)
            cotangent = images(*out.shape, seed=2)
            (out * cotangent).sum().backward()
            values.append(out.detach())
            grads.append(angles.grad)
        torch.testing.assert_close(values[0], values[1], atol=1e-10, rtol=0)
        torch.testing.assert_close(grads[0], grads[1], atol=1e-10, rtol=0)

    def test_gradients_in_angles_and_pixels_together_equal_default_qubit(self):
        x = images(1, 2, 6, 6)
        grads = []
        for device in DEVICES:
            layer = QuanvolutionLayer(n_layers=3, seed=8, device=device, trainable=True).double()
            (angles,) = layer.parameters()
            with torch.no_grad():
                angles.copy_(torch.as_tensor(layer.circuit.random_weights) - 0.2)
            pixels = x.clone().requires_grad_(True)
            out = layer(pixels)
            (out * images(*out.shape, seed=3)).sum().backward()
            grads.append((angles.grad, pixels.grad))
        torch.testing.assert_close(grads[0], grads[1], atol=1e-10, rtol=0)

    @needs_compiler
    def test_no_grad_evaluation_uses_the_kernel_with_the_current_angles(self):
        layer = QuanvolutionLayer(n_layers=2, seed=1, trainable=True)
        with torch.no_grad():
            layer.filter.weights.mul_(0.5)
        x = images(1, 3, 8, 8)
        with_grad = layer(x)
        assert with_grad.requires_grad
        with torch.no_grad():
            assert layer.filter.uses_kernel(x)
            torch.testing.assert_close(layer(x), with_grad.detach(), atol=1e-12, rtol=0)
