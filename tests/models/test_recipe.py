"""The training recipe from a script: AdamW with a cosine decay by default, exactly as the
models trained before it was open; another optimizer or scheduler through a `TrainingRecipe`
among the Trainer's callbacks, the circuits' weights keeping their own learning rate."""

from __future__ import annotations

from functools import partial

import lightning as L
import pytest
import torch

from hqnn_lightning.models import create_model
from hqnn_lightning.models.recipe import TrainingRecipe, parameter_groups
from hqnn_lightning.quantum.module import quantum_parameters


def tiny(name: str = "hybrid_tiny", **kwargs):
    return create_model(name, num_classes=4, in_channels=1, image_size=8, **kwargs)


def configured(model, max_epochs: int = 3, callbacks=()):
    """What ``model.configure_optimizers`` returns inside a Trainer's fit."""
    model.trainer = L.Trainer(
        max_epochs=max_epochs, callbacks=list(callbacks), logger=False, enable_checkpointing=False
    )
    return model.configure_optimizers()


def adamw_as_before(model):
    """The optimizer the library built before the recipe was open (its code, kept here)."""
    parameters = [p for p in model.parameters() if p.requires_grad]
    q_lr = model.hparams.get("q_lr")
    quantum = {id(p) for p in quantum_parameters(model)} if q_lr is not None else set()
    groups = [{"params": [p for p in parameters if id(p) not in quantum]}]
    if quantum:
        groups.append({"params": [p for p in parameters if id(p) in quantum], "lr": q_lr})
    return torch.optim.AdamW(groups, lr=model.hparams.lr, weight_decay=model.hparams.weight_decay)


def same_groups(a: torch.optim.Optimizer, b: torch.optim.Optimizer) -> None:
    assert len(a.param_groups) == len(b.param_groups)
    for group_a, group_b in zip(a.param_groups, b.param_groups, strict=True):
        assert [id(p) for p in group_a["params"]] == [id(p) for p in group_b["params"]]
        assert {k: v for k, v in group_a.items() if k != "params"} == {
            k: v for k, v in group_b.items() if k != "params"
        }


@pytest.mark.parametrize(
    "model",
    [
        lambda: tiny(lr=2e-3, q_lr=0.05, weight_decay=1e-3),
        lambda: tiny(),  # q_lr unset: recorded as lr, one group per part still
        lambda: tiny("hybrid_control_tiny"),
        lambda: tiny("quanv_tiny", trainable_filter=True, q_lr=0.02),
    ],
)
def test_the_default_is_adamw_with_a_cosine_decay_exactly_as_before(model):
    model = model()
    configuration = configured(model, max_epochs=7)
    optimizer = configuration["optimizer"]
    assert type(optimizer) is torch.optim.AdamW
    reference = adamw_as_before(model)
    reference_scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(reference, T_max=7)
    same_groups(optimizer, reference)  # initial_lr, set by the scheduler, included
    assert optimizer.defaults == reference.defaults
    scheduler = configuration["lr_scheduler"]["scheduler"]
    assert type(scheduler) is torch.optim.lr_scheduler.CosineAnnealingLR
    assert scheduler.state_dict() == reference_scheduler.state_dict()
    assert scheduler.T_max == 7


def test_without_a_trainer_the_default_has_no_scheduler():
    model = tiny(q_lr=0.05)
    optimizer = model.configure_optimizers()
    assert type(optimizer) is torch.optim.AdamW
    same_groups(optimizer, adamw_as_before(model))


def test_a_recipe_among_the_callbacks_chooses_the_optimizer_and_scheduler():
    model = tiny(lr=2e-3, q_lr=0.05, weight_decay=1e-3)
    recipe = TrainingRecipe(
        optimizer=partial(torch.optim.SGD, momentum=0.9),
        lr_scheduler=partial(torch.optim.lr_scheduler.StepLR, step_size=5, gamma=0.5),
    )
    configuration = configured(model, callbacks=[recipe])
    optimizer = configuration["optimizer"]
    assert type(optimizer) is torch.optim.SGD
    assert [group["lr"] for group in optimizer.param_groups] == [2e-3, 0.05]
    assert [group["momentum"] for group in optimizer.param_groups] == [0.9, 0.9]
    assert [group["weight_decay"] for group in optimizer.param_groups] == [1e-3, 1e-3]
    quantum = {id(p) for p in quantum_parameters(model)}
    assert {id(p) for p in optimizer.param_groups[1]["params"]} == quantum
    scheduler = configuration["lr_scheduler"]["scheduler"]
    assert type(scheduler) is torch.optim.lr_scheduler.StepLR
    assert (scheduler.step_size, scheduler.gamma) == (5, 0.5)


def test_reduce_on_plateau_follows_the_validation_loss():
    recipe = TrainingRecipe(lr_scheduler=torch.optim.lr_scheduler.ReduceLROnPlateau)
    configuration = configured(tiny(), callbacks=[recipe])
    assert configuration["lr_scheduler"]["monitor"] == "val/loss"


def test_the_groups_set_the_learning_rate_so_the_optimizer_may_not():
    with pytest.raises(ValueError, match="given lr, which every parameter group sets"):
        TrainingRecipe(optimizer=partial(torch.optim.SGD, lr=0.1))


def test_an_optimizer_without_weight_decay_needs_the_model_to_have_none():
    recipe = TrainingRecipe(optimizer=torch.optim.Rprop)
    with pytest.raises(ValueError, match="Rprop has no weight decay.*give weight_decay=0"):
        configured(tiny(weight_decay=1e-4), callbacks=[recipe])
    assert type(configured(tiny(weight_decay=0.0), callbacks=[recipe])["optimizer"]) is (
        torch.optim.Rprop
    )


def test_two_recipes_are_refused():
    with pytest.raises(ValueError, match="2 TrainingRecipe callbacks"):
        configured(tiny(), callbacks=[TrainingRecipe(), TrainingRecipe()])


def test_frozen_parameters_are_left_out():
    model = tiny("hybrid_tiny", freeze_backbone=True)
    groups = parameter_groups(model)
    assert all(p.requires_grad for group in groups for p in group["params"])
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert sum(p.numel() for group in groups for p in group["params"]) == trainable
