"""What an experiment is, below both the runner (`hqnn_lightning.run`), which writes run
directories, and the report (`hqnn_lightning.report`), which reads them: the runner's own
options (which of them define an experiment, their defaults, older names) and the keys of
the metrics a run logs. Import from the modules: `options`, `metrics`.
"""
