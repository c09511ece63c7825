"""Bad input, tried on purpose through the Python API and the command line: each gets one clear
sentence (the CLI prints it and exits with 2), not a traceback from inside a library.

The unknown model, dataset, device and logger names and the qubit count a simulator cannot hold
are tried on the command line in ``tests/experiments/test_run.py``
(``test_bad_options_stop_before_training_with_a_clear_message``).
"""

from __future__ import annotations

import os
import threading
import time
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import lightning as L
import pytest
import torch
import wandb

from hqnn_lightning.data import StanfordCarsDataModule, SyntheticImageDataModule, create_datamodule
from hqnn_lightning.hardware import RetryPolicy
from hqnn_lightning.models import create_model
from hqnn_lightning.quantum import make_device
from hqnn_lightning.run.cli import main
from hqnn_lightning.run.loggers import create_logger
from hqnn_lightning.run.options import build_parser, constructor_arguments
from hqnn_lightning.run.resume import check_checkpoint
from tests.data.car_files import write_folders
from tests.run.cli_errors import error_line


def cli_error(argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """Runs the CLI on ``argv``, checks it exits with 2, and returns its last stderr line."""
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--logger", "csv", "--output-dir", str(tmp_path / "runs")])
    assert exit_info.value.code == 2
    return capsys.readouterr().err


class TestNames:
    @pytest.mark.parametrize(
        ("build", "message"),
        [
            (lambda: create_model("qcnn", num_classes=3), "unknown model 'qcnn'; known: classical"),
            (lambda: create_datamodule("mnist"), "unknown dataset 'mnist'; known: combined"),
            (lambda: make_device("ibm.fake", wires=2), "unknown quantum device 'ibm.fake'"),
            (lambda: create_logger("mlflow", ".", "run"), "unknown logger 'mlflow'; known: wandb"),
        ],
    )
    def test_unknown_names_list_the_known_ones(self, build, message):
        with pytest.raises((KeyError, ValueError), match=message):
            build()


class TestCircuitSizes:
    @pytest.mark.parametrize(
        ("option", "message"),
        [("n_qubits", "n_qubits must be at least 1, got 0"), ("q_depth", "q_depth must be")],
    )
    def test_api(self, option, message):
        with pytest.raises(ValueError, match=message):
            create_model("hybrid_tiny", num_classes=3, **{option: 0})

    @pytest.mark.parametrize(
        ("option", "message"), [("--n-qubits", "n_qubits"), ("--q-depth", "q")]
    )
    def test_cli(self, option, message, tmp_path, capsys):
        assert f"{message}" in cli_error(["--model", "hybrid_tiny", option, "0"], tmp_path, capsys)

    def test_more_qubits_than_the_simulator_holds(self):
        with pytest.raises(ValueError, match="between 1 and 28 qubits"):
            make_device("default.qubit", wires=40)


class TestClassCounts:
    def test_model_and_data_disagree(self):
        model = create_model("hybrid_tiny", num_classes=4, in_channels=3, image_size=8)
        trainer = L.Trainer(max_epochs=1, logger=False, enable_progress_bar=False)
        with pytest.raises(ValueError, match="num_classes=4 but SyntheticImageDataModule has 3"):
            trainer.fit(model, datamodule=SyntheticImageDataModule(num_classes=3))

    def test_top5_with_five_classes_or_fewer_warns_and_reads_one(self):
        with pytest.warns(UserWarning, match="acc_top5 is always 1.0"):
            model = create_model("hybrid_tiny", num_classes=3)
        logits, labels = torch.randn(8, 3), torch.randint(0, 3, (8,))
        assert model.val_metrics["val/acc_top5"](logits, labels) == 1.0
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            create_model("hybrid_tiny", num_classes=6)

    def test_top5_warning_on_the_command_line(self, tmp_path):
        argv = ["--model", "hybrid_tiny", "--data", "synthetic", "--num-classes", "3"]
        with pytest.warns(UserWarning, match="acc_top5 is always 1.0"):
            main(
                [*argv, "--fast-dev-run", "true", "--logger", "csv", "--output-dir", str(tmp_path)]
            )


class TestDataDirectories:
    @pytest.mark.parametrize("name", ["missing", "empty"])
    def test_api(self, name, tmp_path):
        (tmp_path / "empty").mkdir()
        data = StanfordCarsDataModule(data_dir=str(tmp_path / name), cache_dir=str(tmp_path))
        with pytest.raises(FileNotFoundError, match="no Stanford Cars layout found in"):
            data.setup()

    @pytest.mark.parametrize("name", ["missing", "empty"])
    def test_cli(self, name, tmp_path, capsys):
        (tmp_path / "empty").mkdir()
        argv = ["--data", "stanford_cars", "--data-dir", str(tmp_path / name)]
        argv += ["--cache-dir", str(tmp_path / "cache")]
        assert "error: no Stanford Cars layout found in" in cli_error(argv, tmp_path, capsys)

    def test_recheck_images_goes_to_the_car_datasets(self):
        options = ["--data", "stanford_cars", "--data-dir", "cars", "--recheck-images"]
        _, data_arguments = constructor_arguments(build_parser().parse_args(options))
        assert data_arguments["recheck_images"] is True
        parsed = build_parser().parse_args(["--data", "digits", "--recheck-images"])
        with pytest.raises(TypeError, match="recheck_images"):
            constructor_arguments(parsed)

    def test_corrupt_images_are_skipped_with_one_warning(self, tmp_path):
        data_dir = write_folders(tmp_path / "cars", per_class=10, test_per_class=2)
        broken = next((data_dir / "train").glob("*/000.jpg"))
        broken.write_bytes(b"not a jpeg")
        argv = ["--model", "quanv_tiny", "--data", "stanford_cars", "--data-dir", str(data_dir)]
        argv += ["--num-classes", "3", "--val-fraction", "0.2", "--image-size", "16"]
        argv += ["--cache-dir", str(tmp_path / "cache")]
        argv += ["--fast-dev-run", "true", "--logger", "csv", "--output-dir", str(tmp_path)]
        with pytest.warns(UserWarning, match="skipped 1 unreadable image file") as caught:
            (results,) = main(argv)
        assert str(broken) in str(caught[0].message)
        assert 0 <= results["test/acc_top1"] <= 1


TAKES = "--config takes a file of YAML options, one 'name: value' per line (max_epochs: 5)"


class TestConfigFiles:
    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("n_qbits: 4\n", "Option 'n_qbits' is not accepted"),
            ("n_qubits: four\n", "--n-qubits four: expected int or null"),
        ],
    )
    def test_unknown_key_or_wrong_type(self, text, message, tmp_path, capsys):
        config = tmp_path / "experiment.yaml"
        config.write_text(text)
        with pytest.raises(SystemExit):
            build_parser().parse_args(["--config", str(config)])
        assert message in capsys.readouterr().err
        assert message in cli_error(["--config", str(config)], tmp_path, capsys)

    @pytest.mark.parametrize(
        ("content", "message"),
        [
            (bytes(range(256)), f"is not text (byte 0x80 at offset 128 is not UTF-8); {TAKES}"),
            (b"", f"holds nothing (it is empty); {TAKES}"),
            (b"- max_epochs\n- 5\n", f"holds a list, not options; {TAKES}"),
            (b"42\n", f"holds the int 42, not options; {TAKES}"),
            (
                b"model: [hybrid\n",
                "is not a file of options: expected ',' or ']', but got '<stream end>' at line "
                "2, column 1",
            ),
        ],
        ids=["binary", "empty", "list", "scalar", "invalid"],
    )
    def test_a_file_that_holds_no_options_is_named(self, content, message, tmp_path, capsys):
        config = tmp_path / "experiment.yaml"
        config.write_bytes(content)
        error = one_line_error(["--config", str(config)], tmp_path, capsys)
        assert error == f"error: --config {config} {message}"

    def test_a_directory_is_named(self, tmp_path, capsys):
        error = one_line_error(["--config", str(tmp_path)], tmp_path, capsys)
        assert error == f"error: --config {tmp_path} is a directory; {TAKES}"

    def test_a_pipe_is_named_not_read(self, tmp_path, capsys):
        pipe = tmp_path / "options.yaml"
        os.mkfifo(pipe)
        error = one_line_error(["--config", str(pipe)], tmp_path, capsys)
        assert error == f"error: --config {pipe} is not a regular file; {TAKES}"

    def test_a_python_tag_is_refused_and_never_run(self, tmp_path, capsys):
        ran = tmp_path / "ran"
        config = tmp_path / "experiment.yaml"
        config.write_text(f"model: !!python/object/apply:os.system ['touch {ran}']\n")
        error = one_line_error(["--config", str(config)], tmp_path, capsys)
        assert error.startswith(f"error: --config {config} is not a file of options: could not")
        assert "a Python tag is never run) at line 1, column 8" in error
        assert not ran.exists()

    def test_a_bad_file_named_by_a_config_file(self, tmp_path, capsys):
        (tmp_path / "inner.yaml").write_bytes(b"\xff\xfe")
        outer = tmp_path / "outer.yaml"
        outer.write_text("config: inner.yaml\n")
        error = one_line_error(["--config", str(outer)], tmp_path, capsys)
        assert error.startswith(f"error: --config {tmp_path / 'inner.yaml'} is not text")

    @pytest.mark.parametrize("imports", ["[5]", "[null]", "json", "{a: 1}"])
    def test_an_import_list_of_other_than_module_names(self, imports, tmp_path, capsys):
        config = tmp_path / "experiment.yaml"
        config.write_text(f"import: {imports}\n")
        error = one_line_error(["--config", str(config)], tmp_path, capsys)
        assert error.startswith(f"error: {config}: import: ")
        assert error.endswith(
            "is not a list of module names; write e.g. import: [my_package.models]"
        )


def test_import_given_a_file_path_says_it_takes_a_module_name(tmp_path, capsys):
    plugin = tmp_path / "my_models.py"
    plugin.write_text("")
    error = one_line_error(["--import", str(plugin)], tmp_path, capsys)
    assert error == (
        f"error: --import {plugin}: the module failed to import: ModuleNotFoundError: No "
        f"module named '{str(plugin)[:-3]}'; give a module's dotted name, found on sys.path "
        "(PYTHONPATH), not a file"
    )


def one_line_error(argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """`cli_error`'s one ``error:`` line without its ``(see --help)``, checking it is the last
    line, with no usage block, no traceback and no run folder."""
    stderr = cli_error(argv, tmp_path, capsys)
    assert "Traceback" not in stderr and "usage:" not in stderr
    assert not (tmp_path / "runs").exists()
    return error_line(stderr)


def test_a_retry_policy_no_evaluation_can_follow():
    with pytest.raises(ValueError, match=r"max_retries -1: give 0 or more \(0: no retry\)"):
        RetryPolicy(max_retries=-1)
    with pytest.raises(ValueError, match="give 0 <= initial_delay <= max_delay"):
        RetryPolicy(initial_delay=10, max_delay=1)
    with pytest.raises(ValueError, match="backoff 0.5: give 1 or more"):
        RetryPolicy(backoff=0.5)


class TestCheckpointOfAnotherModel:
    @pytest.fixture
    def run_dir(self, tmp_path):
        """A run directory of hybrid_tiny whose last.ckpt holds a quanv_tiny."""
        run_dir = tmp_path / "runs" / "hybrid_tiny-digits-seed0-20260101-000000"
        (run_dir / "checkpoints").mkdir(parents=True)
        config = build_parser().parse_args(["--model", "hybrid_tiny", "--logger", "csv"])
        build_parser().save(config, run_dir / "config.yaml")
        other = create_model("quanv_tiny", num_classes=10, in_channels=1, image_size=8)
        torch.save({"state_dict": other.state_dict()}, run_dir / "checkpoints" / "last.ckpt")
        return run_dir

    def test_api(self, run_dir):
        model = create_model("hybrid_tiny", num_classes=10, in_channels=1, image_size=8)
        with pytest.raises(ValueError, match="holds another model than the HybridVQC"):
            check_checkpoint(run_dir / "checkpoints" / "last.ckpt", model)

    def test_other_class_count(self, run_dir):
        model = create_model("hybrid_tiny", num_classes=10, in_channels=1, image_size=8)
        torch.save({"state_dict": model.state_dict()}, run_dir / "checkpoints" / "last.ckpt")
        fewer = create_model("hybrid_tiny", num_classes=7, in_channels=1, image_size=8)
        with pytest.raises(
            ValueError, match=r"builds: classifier.weight \(10, 2\) \(model: \(7, 2\)\)"
        ):
            check_checkpoint(run_dir / "checkpoints" / "last.ckpt", fewer)

    def test_cli(self, run_dir, tmp_path, capsys):
        error = cli_error(["--resume", str(run_dir)], tmp_path, capsys)
        assert "holds another model than the HybridVQC this run builds: missing" in error

    def test_cli_names_the_option_for_a_run_from_before_q_init(self, run_dir, tmp_path, capsys):
        # Its config.yaml names no q_init nor identity_blocks (the default is now identity
        # blocks); its checkpoint holds the study's circuit.
        old = create_model(
            "hybrid_tiny",
            num_classes=10,
            in_channels=1,
            image_size=8,
            identity_blocks=False,
            q_init="uniform",
        )
        torch.save({"state_dict": old.state_dict()}, run_dir / "checkpoints" / "last.ckpt")
        error = cli_error(["--resume", str(run_dir)], tmp_path, capsys)
        assert (
            "circuit has no identity blocks but this model was built with identity_blocks=True"
            in error
        )
        assert "to --resume a run, identity_blocks: false in its config.yaml" in error

    def test_cli_refuses_changed_options(self, run_dir, tmp_path, capsys):
        error = cli_error(["--resume", str(run_dir), "--max-epochs", "3"], tmp_path, capsys)
        assert "the command line changes max_epochs=3 (run: 10)" in error


@pytest.mark.slow
class TestWandbWithoutNetwork:
    """An API key W&B cannot check: its server unreachable, or answering only errors."""

    @pytest.fixture(autouse=True)
    def bad_key(self, tmp_path, monkeypatch):
        monkeypatch.setenv("HOME", str(tmp_path))
        monkeypatch.setenv("WANDB_API_KEY", "bogus" + "0" * 35)
        monkeypatch.setenv("WANDB_BASE_URL", "http://127.0.0.1:9")  # nothing listens there
        monkeypatch.delenv("WANDB_MODE", raising=False)
        monkeypatch.delenv("WANDB_INIT_TIMEOUT", raising=False)  # 90 s: not waited for
        monkeypatch.setenv("WANDB_SILENT", "true")
        wandb.teardown()  # W&B reads its settings once per process
        yield
        wandb.teardown()

    def goes_offline_under_a_new_id(self, tmp_path, capsys) -> str:
        start = time.monotonic()
        logger = create_logger("wandb", tmp_path, "run", project="p", run_id="abc123")
        assert time.monotonic() - start < 30
        assert logger.experiment.settings.mode == "offline"
        assert logger.experiment.id == logger.version != "abc123"
        logger.log_metrics({"loss": 1.0})
        logger.experiment.finish()
        return capsys.readouterr().err

    def test_an_unreachable_server_is_not_waited_for(self, tmp_path, capsys):
        error = self.goes_offline_under_a_new_id(tmp_path, capsys)
        assert (
            "W&B could not start online (cannot reach http://127.0.0.1:9: [Errno 111] Connection "
            "refused); this run logs to W&B offline instead"
        ) in error

    def test_a_server_that_cannot_start_the_run(self, tmp_path, capsys, monkeypatch):
        class Failing(BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(500)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_HEAD = do_POST = do_GET

            def log_message(self, *args):
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Failing)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        monkeypatch.setenv("WANDB_BASE_URL", f"http://127.0.0.1:{server.server_port}")
        monkeypatch.setenv("WANDB_INIT_TIMEOUT", "3")
        try:
            error = self.goes_offline_under_a_new_id(tmp_path, capsys)
        finally:
            server.shutdown()
        assert "W&B could not start online (" in error  # W&B's own words follow
        assert "this run logs to W&B offline instead" in error

    def test_cli_goes_offline_and_says_so(self, tmp_path, capsys):
        argv = ["--model", "hybrid_tiny", "--logger", "wandb", "--fast-dev-run", "true"]
        (results,) = main([*argv, "--output-dir", str(tmp_path / "runs")])
        captured = capsys.readouterr()
        assert "this run logs to W&B offline instead" in captured.err
        assert "W&B ran offline; to upload: wandb sync" in captured.out
        run_dir = Path(results["run_dir"])
        run_id = (run_dir / "wandb_run_id").read_text().strip()
        assert [path.name for path in (run_dir / "wandb").glob("offline-run-*")] == [
            next((run_dir / "wandb").glob(f"offline-run-*-{run_id}")).name
        ]


def test_a_repeated_seed_is_refused_before_any_run(tmp_path, capsys):
    error = cli_error(["--model", "hybrid_tiny", "--seeds", "[0,1,0]"], tmp_path, capsys)
    assert "--seeds [0, 1, 0]: seed 0 given more than once" in error
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--max-epochs", "0"], "--max-epochs 0: give at least 1"),
        (["--max-epochs", "-3"], "--max-epochs -3: give at least 1"),
        (["--checkpoint-every-n-steps", "0"], "--checkpoint-every-n-steps 0: give at least 1"),
        (
            ["--checkpoint-interval", "-5"],
            "--checkpoint-interval -5.0: give at least 0 (0: after every epoch)",
        ),
        (["--num-nodes", "0"], "--num-nodes 0: give at least 1"),
        (["--lr", "-0.01"], "--lr -0.01: a learning rate must be above 0"),
        (["--q-lr", "0"], "--q-lr 0.0: a learning rate must be above 0"),
        (["--weight-decay", "-1"], "--weight-decay -1.0: give 0 or more"),
        (["--val-fraction", "0"], "--val-fraction 0: the runner picks the checkpoint"),
    ],
)
def test_values_no_run_can_use_are_refused_before_any_run(options, message, tmp_path, capsys):
    error = cli_error(["--model", "hybrid_tiny", *options], tmp_path, capsys)
    assert message in error
    assert not (tmp_path / "runs").exists()
