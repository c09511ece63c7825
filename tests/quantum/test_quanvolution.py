import pennylane as qml
import pytest
import torch

from hqnn_lightning.quantum import QuanvolutionLayer, quanvolution_filter_qnode


def images(*shape):
    return torch.rand(*shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64)


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
    @pytest.mark.parametrize(
        ("kernel_size", "stride", "padding", "size", "expected"),
        [(2, 2, 0, 8, 4), (3, 1, 0, 5, 3), (3, 3, 1, 7, 3), (2, 2, 0, 7, 3)],
    )
    def test_output_shape(self, kernel_size, stride, padding, size, expected):
        layer = QuanvolutionLayer(kernel_size, stride, padding)
        out = layer(images(2, 3, size, size))
        assert out.shape == (2, 3 * kernel_size**2, expected, expected)
        assert layer.output_size(size) == expected

    @pytest.mark.parametrize(("kernel_size", "stride"), [(2, 2), (3, 1)])
    def test_equals_the_per_patch_reference_loop(self, kernel_size, stride):
        x = images(2, 2, 5, 5)
        layer = QuanvolutionLayer(kernel_size, stride, seed=3)
        expected = reference_quanvolution(x, kernel_size, stride, seed=3)
        torch.testing.assert_close(layer(x), expected)

    def test_all_patches_of_all_images_are_one_simulation(self):
        layer = QuanvolutionLayer()
        with qml.Tracker(layer.filter.qnode.device) as tracker:
            layer(images(4, 3, 8, 8))
        assert tracker.totals["simulations"] == 1
        assert tracker.totals["executions"] == 4 * 3 * 16

    def test_has_no_trainable_parameters_and_builds_no_graph(self):
        layer = QuanvolutionLayer()
        assert sum(p.numel() for p in layer.parameters()) == 0
        assert not layer(images(1, 1, 4, 4)).requires_grad

    def test_filter_depends_on_the_seed(self):
        x = images(1, 1, 4, 4)
        assert not torch.allclose(QuanvolutionLayer(seed=0)(x), QuanvolutionLayer(seed=1)(x))

    def test_rejects_images_smaller_than_a_patch(self):
        with pytest.raises(ValueError, match="smaller than one 3x3 patch"):
            QuanvolutionLayer(kernel_size=3)(images(1, 1, 2, 2))

    def test_rejects_non_image_input(self):
        with pytest.raises(ValueError, match=r"\(B, C, H, W\)"):
            QuanvolutionLayer()(images(3, 8, 8))
