import pytest
import torch
from torch import nn

from hqnn_lightning.models import ImageClassifier


class LinearClassifier(ImageClassifier):
    def __init__(self, num_classes, precompute_features=False):
        super().__init__(num_classes=num_classes)
        self.linear = nn.Linear(4, num_classes)

    def forward(self, x):
        return self.linear(x)


class TestClassificationMetricsMixin:
    @pytest.mark.parametrize(("num_classes", "top_k"), [(3, 3), (10, 5)])
    def test_top5_is_clipped_to_the_number_of_classes(self, num_classes, top_k):
        model = LinearClassifier(num_classes)
        assert model.val_metrics["acc_top5"].top_k == top_k

    def test_stages_have_their_own_metrics(self):
        model = LinearClassifier(3)
        assert model.train_metrics is not model.val_metrics
        assert set(model.test_metrics.keys()) == {
            "test/acc_top1",
            "test/acc_top5",
            "test/f1_macro",
        }

    def test_metrics_are_submodules_that_follow_the_device(self):
        names = {name for name, _ in LinearClassifier(3).named_children()}
        assert {"train_metrics", "val_metrics", "test_metrics"} <= names

    def test_step_computes_the_values(self):
        model = LinearClassifier(3)
        with torch.no_grad():
            model.linear.weight.zero_()
            model.linear.bias.copy_(torch.tensor([5.0, 0.0, 0.0]))
        model._step((torch.zeros(4, 4), torch.tensor([0, 0, 1, 2])), "val")
        values = model.val_metrics.compute()
        assert values["val/acc_top1"] == pytest.approx(0.5)
        assert values["val/acc_top5"] == pytest.approx(1.0)

    def test_needs_two_classes(self):
        with pytest.raises(ValueError, match="num_classes"):
            LinearClassifier(1)
