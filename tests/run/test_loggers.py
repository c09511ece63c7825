import pytest
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

from hqnn_lightning.run.loggers import (
    create_logger,
    wandb_environment_problem,
    wandb_mode,
    wandb_project_problem,
)


class TestWandbMode:
    @pytest.fixture(autouse=True)
    def no_credentials(self, tmp_path, monkeypatch):
        monkeypatch.delenv("WANDB_API_KEY", raising=False)
        monkeypatch.delenv("WANDB_MODE", raising=False)
        monkeypatch.setenv("HOME", str(tmp_path))
        monkeypatch.setenv("NETRC", str(tmp_path / ".netrc"))
        return tmp_path

    def test_offline_without_credentials(self):
        assert wandb_mode() == "offline"

    def test_online_with_an_api_key(self, monkeypatch):
        monkeypatch.setenv("WANDB_API_KEY", "0" * 40)
        assert wandb_mode() == "online"

    def test_online_after_wandb_login(self, no_credentials):
        netrc = no_credentials / ".netrc"
        netrc.write_text("machine api.wandb.ai\n  login user\n  password secret\n")
        netrc.chmod(0o600)
        assert wandb_mode() == "online"

    def test_explicit_mode_wins(self, monkeypatch):
        monkeypatch.setenv("WANDB_API_KEY", "0" * 40)
        monkeypatch.setenv("WANDB_MODE", "disabled")
        assert wandb_mode() == "disabled"


class TestCreateLogger:
    @pytest.mark.parametrize(
        ("name", "cls"), [("csv", CSVLogger), ("tensorboard", TensorBoardLogger)]
    )
    def test_builds_by_name(self, name, cls, tmp_path):
        assert isinstance(create_logger(name, tmp_path, "run"), cls)

    def test_unknown_name(self, tmp_path):
        with pytest.raises(ValueError, match="unknown logger 'mlflow'; known: wandb, csv"):
            create_logger("mlflow", tmp_path, "run")


class TestWandbSettings:
    def test_a_variable_wandb_refuses_is_named_with_what_wandb_takes(self):
        environ = {"HOME": "/home/x", "WANDB_MODE": "offline", "WANDB_CONSOLE": "loud"}
        assert wandb_environment_problem(environ) == (
            "WANDB_CONSOLE=loud in the environment: Input should be 'auto', 'off', 'wrap', "
            "'redirect', 'wrap_raw' or 'wrap_emu'"
        )

    def test_variables_wandb_takes_and_empty_ones_pass(self):
        environ = {"WANDB_MODE": "", "WANDB_INIT_TIMEOUT": "30", "WANDB_SILENT": "true"}
        assert wandb_environment_problem(environ) is None

    def test_a_secrets_value_is_not_shown(self):
        problem = wandb_environment_problem({"WANDB_AZURE_ACCOUNT_URL_TO_ACCESS_KEY": "s3cret"})
        assert problem == (
            "WANDB_AZURE_ACCOUNT_URL_TO_ACCESS_KEY in the environment: Input should be a valid "
            "dictionary"
        )

    def test_a_project_name_wandb_refuses(self):
        assert wandb_project_problem("hqnn-lightning") is None
        assert wandb_project_problem("a" * 129).endswith("exceeded 128 characters")
