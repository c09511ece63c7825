import pytest
import torch
from sklearn.metrics import f1_score
from torch import nn

from hqnn_lightning.models import ImageClassifier
from hqnn_lightning.models.metrics import classification_metrics


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
            "test/f1_macro_classes",
        }
        assert not any("f1_macro_classes" in key for key in model.state_dict())  # checkpoints

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


@pytest.mark.parametrize(
    ("labels", "predictions", "averaged"),
    [
        ([0, 0, 1, 1], [0, 0, 1, 1], [0, 1]),  # classes 2 and 3: no image, never predicted
        ([0, 0, 1, 1], [0, 3, 1, 1], [0, 1, 3]),  # class 3 predicted once: counts, with F1 0
        ([0, 1, 2, 3], [1, 1, 2, 3], [0, 1, 2, 3]),  # class 0 never predicted: F1 0
    ],
)
def test_macro_f1_averages_over_the_classes_it_counts(labels, predictions, averaged):
    """torchmetrics' macro F1 leaves out the classes no sample has as label or prediction;
    f1_macro_classes counts the others, and sklearn's F1 over exactly those agrees."""
    logits = torch.nn.functional.one_hot(torch.tensor(predictions), 4).float()
    values = classification_metrics(4)(logits, torch.tensor(labels))
    assert values["f1_macro_classes"] == len(averaged)
    expected = f1_score(labels, predictions, labels=averaged, average="macro", zero_division=0)
    assert values["f1_macro"].item() == pytest.approx(expected)
