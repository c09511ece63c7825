"""The runner behind ``experiments/run.py``, one job per module.

- `options`: the runner's own options, listed once, and those derived from the registered
  models' and DataModules' constructors;
- `cli`: parses the command line and dispatches (train per seed, ``--resume``,
  ``--evaluate``);
- `build`: options to the seeded DataModule and the model; `training`: one run: fit,
  validate, test, ``results.json``; `seeds`: one run per seed, then the summary;
- `resume`, `dataset_record` (``dataset.json``), `lock` (one process per run directory),
  `hardware_evaluation`, `callbacks`, `loggers`, `provenance` (``environment.json``) and
  `distributed` (one run directory for all processes).

Import from the modules (``from hqnn_lightning.run.cli import main``); this package imports
none of them, so that the report can read the options without loading the trainer.
"""
