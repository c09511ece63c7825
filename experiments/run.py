"""Train, validate and test one model: ``python experiments/run.py --model hybrid``.

``python experiments/run.py --help`` lists every option; see ``hqnn_lightning.run.cli``.
"""

from hqnn_lightning.run.cli import main

if __name__ == "__main__":
    main()
