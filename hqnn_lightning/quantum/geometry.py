"""The output size of a convolution-like sliding window, shared by the quanvolution layers and
their classical control."""


def conv_output_size(size: int, kernel_size: int, stride: int, padding: int = 0) -> int:
    """Windows of side ``kernel_size`` that fit along ``size`` pixels padded by ``padding`` on
    each side, stepping by ``stride``, as `torch.nn.Conv2d` counts them; below 1 when the
    padded input is smaller than one window."""
    return (size + 2 * padding - kernel_size) // stride + 1
