"""The `ernie-train` command line. Pre-training, fine-tuning and export land with the trainer issue;
until then the command only reports what it will do."""
from __future__ import annotations

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option("0.1.0", prog_name="ernie-train")
def main() -> None:
    """Train ERNIE 2.0 models from task shards built by `ernie-corpus build`.

    No subcommands yet: `pretrain`, `finetune` and `export` arrive with the trainer.
    """


if __name__ == "__main__":
    main()
