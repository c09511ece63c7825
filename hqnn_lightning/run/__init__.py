"""The runner behind ``experiments/run.py``, one job per module.

- `options`: the runner's own options, listed once, and those derived from the registered
  models' and DataModules' constructors;
- `cli`: parses the command line and dispatches (train per seed, ``--resume``,
  ``--evaluate``, which `hqnn_lightning.hardware` runs);
- `build`: options to the seeded DataModule and the model; `training`: one run: fit,
  validate, test, ``results.json``; `seeds`: one run per seed, then the summary;
- `resume`, `dataset_record` (``dataset.json``), `lock` (one process per run directory),
  `callbacks`, `loggers`, `provenance` (``environment.json``) and
  `distributed` (one run directory for all processes).

Import from the modules (``from hqnn_lightning.run.cli import main``); this package imports
none of them. The runner's own options are listed in `hqnn_lightning.experiment`, below both
the runner and the report, so that the report reads them without loading the runner.
"""
