"""Run by tests/test_train.py, alone or under torchrun: pretrain, then record a checksum of this
rank's weights so the test can check that every rank ends with the same model."""
import json
import os
import sys
from pathlib import Path

import torch

from trainer.config import TrainConfig
from trainer.train import pretrain

config = TrainConfig(**json.loads(sys.argv[1]))
models = []
out = pretrain(config, on_step=None, keep_model=models)
rank = int(os.environ.get("RANK", "0"))
digest = [round(float(p.detach().double().sum()), 10) for p in models[0].parameters()]
Path(out, f"weights-rank{rank}.json").write_text(json.dumps(digest))
