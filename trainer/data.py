"""Batches of one task from its memory-mapped shards: token-budget batches with length bucketing,
dynamic masking, a disjoint slice per rank, and a resumable cursor.

Each epoch is a permutation of the examples seeded by (seed, task_id, epoch); chunks of
`bucket_batches` × (the typical batch size) examples are sorted by length and cut greedily into
batches of at most `tokens_per_batch` tokens (B × T_max; one longer example makes a batch alone),
then all batches are shuffled. The budget is global: every rank walks the same global batches and
takes its slice of each (examples r, r + world_size, ...), so a DDP step sees exactly the
examples a single process would (batches with fewer examples than ranks are dropped). Each
example's mask comes from an rng seeded by (seed, task_id, epoch, example index), so masks do not
depend on the rank, the batch or the world size, and a resumed run sees the same batches and
masks. The budget is fixed per epoch: a different budget mid-epoch ends the epoch and starts the
next one with the new budget.
"""
from __future__ import annotations

import copy
import itertools
from typing import Any, Optional

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import torch

from schemas.tasks import IGNORE
from schemas.validate import read_table
from trainer.masking import MaskingConfig, mask_basic, mask_knowledge
from trainer.skip_gram import UnigramTables, draw_pairs
from trainer.tasks import TaskSpec

_COLUMNS = {
    "mlm": ("input_ids", "token_type_ids", "word_labels", "phrase_spans", "entity_spans"),
    "token": ("input_ids", "token_type_ids", "labels"),
    "sequence": ("input_ids", "token_type_ids", "label"),
    "contrastive": ("input_ids", "token_type_ids", "doc_id"),  # doc_id: partners of one document are no negatives
    "skip_gram": ("input_ids", "token_type_ids"),  # the pairs are drawn from the pieces (trainer/skip_gram.py)
}


def _flat(column: pa.ChunkedArray) -> np.ndarray:
    """The values of a list column, row after row."""
    return pc.list_flatten(column).to_numpy()


def _spans(column: pa.ChunkedArray) -> list[np.ndarray]:
    """Per row, the [k, 2] array of (start, end) of a list<struct<start, end, ...>> column."""
    counts = pc.list_value_length(column).to_numpy()
    flat = pc.list_flatten(column)
    pairs = np.stack([pc.struct_field(flat, "start").to_numpy(), pc.struct_field(flat, "end").to_numpy()], axis=1)
    return np.split(pairs.astype(np.int64).reshape(-1, 2), np.cumsum(counts)[:-1])


class TaskData:
    """Token-budget batches of one task for one rank; see the module docstring for the order."""

    def __init__(self, spec: TaskSpec, seed: int, rank: int = 0, world_size: int = 1,
                 masking: Optional[MaskingConfig] = None, mlm_on_every_batch: bool = False,
                 bucket_batches: int = 100, max_seq_len: Optional[int] = None) -> None:
        if world_size < 1 or not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is not in [0, world_size {world_size})")
        if seed < 0:
            raise ValueError(f"seed {seed} must be >= 0")
        self.spec = spec
        self.seed = int(seed)
        self.rank = rank
        self.world_size = world_size
        self.masking = masking or MaskingConfig()
        self.mlm_on_every_batch = mlm_on_every_batch
        self.bucket_batches = bucket_batches
        columns = list(_COLUMNS[spec.kind])
        tables = [read_table(path).select(columns).replace_schema_metadata(None) for path in spec.shards]
        self.table = pa.concat_tables(tables)  # memory-mapped chunks, no copy
        if self.table.num_rows == 0:
            raise ValueError(f"{spec.name}: the shards hold no examples")
        self.full_lengths = pc.list_value_length(self.table.column("input_ids")).to_numpy().astype(np.int64)
        if max_seq_len is not None and max_seq_len < 8:
            raise ValueError(f"max_seq_len {max_seq_len} is below 8")
        self.max_seq_len = max_seq_len
        # cropped: the first max_seq_len - 1 tokens and the example's last ([SEP]); see collate
        self.lengths = (self.full_lengths if max_seq_len is None
                        else np.minimum(self.full_lengths, max_seq_len))
        self.unigram = None  # skip_gram: keep probabilities and the negatives' distribution, from all the pieces
        if spec.kind == "skip_gram":
            pieces = _flat(self.table.column("input_ids"))
            self.unigram = UnigramTables(np.bincount(pieces, minlength=spec.vocab_size), spec.special_ids)
        self.held_out = np.zeros(0, dtype=np.int64)  # examples never trained on (see hold_out)
        self.epoch = 0
        self.position = 0  # batches this rank has taken in the epoch
        self.tokens_per_batch: Optional[int] = None
        self._plan_key: Optional[tuple[int, int]] = None
        self._plan: list[np.ndarray] = []

    def __len__(self) -> int:
        return self.table.num_rows

    def hold_out(self, indices: np.ndarray) -> None:
        """Never train on these examples (the held-out probe's, trainer/probe.py); call before the
        first batch. With none held out the order is exactly that of a TaskData without the call."""
        if self.position or self.epoch:
            raise ValueError(f"{self.spec.name}: hold_out() after batches were drawn")
        self.held_out = np.asarray(indices, dtype=np.int64)
        self._plan_key, self._plan = None, []

    # --- order -----------------------------------------------------------------------------
    def epoch_batches(self, epoch: int, tokens_per_batch: int) -> list[np.ndarray]:
        """All ranks' batches (example indices) of an epoch, in order, remainder dropped."""
        if self._plan_key == (epoch, tokens_per_batch):
            return self._plan
        rng = np.random.default_rng([self.seed, self.spec.task_id, epoch])
        order = rng.permutation(len(self.lengths))
        if len(self.held_out):
            order = order[~np.isin(order, self.held_out)]
        typical = max(1, tokens_per_batch // max(1, int(self.lengths.mean())))
        chunk = max(1, self.bucket_batches * typical)
        batches: list[np.ndarray] = []
        for begin in range(0, len(order), chunk):
            part = order[begin:begin + chunk]
            part = part[np.argsort(self.lengths[part], kind="stable")]
            lengths = self.lengths[part]
            start = 0
            while start < len(part):
                # sorted ascending, so k examples cost k × length of the k-th; the cost grows with k
                window = lengths[start:start + max(1, tokens_per_batch // max(1, int(lengths[start])))]
                fits = int((np.arange(1, len(window) + 1) * window <= tokens_per_batch).sum())
                size = max(1, fits)
                batches.append(part[start:start + size])
                start += size
        batches = [batches[i] for i in rng.permutation(len(batches))]
        batches = [b for b in batches if len(b) >= self.world_size]  # every rank needs an example
        if not batches:
            raise ValueError(f"{self.spec.name}: no batch of {tokens_per_batch} tokens holds {self.world_size} "
                             "examples; raise tokens_per_batch")
        self._plan_key, self._plan = (epoch, tokens_per_batch), batches
        return self._plan

    def batches_per_epoch(self, tokens_per_batch: int) -> int:
        """How many (global) batches an epoch has at this budget."""
        return len(self.epoch_batches(self.epoch, tokens_per_batch))

    def next_batch(self, tokens_per_batch: int) -> dict[str, Any]:
        """This rank's next batch; moves the cursor (and to the next epoch at the end of one)."""
        return self.collate(*self.advance(tokens_per_batch))

    def advance(self, tokens_per_batch: int) -> tuple[np.ndarray, int]:
        """Move the cursor one batch; return that batch's example indices (this rank's) and epoch."""
        if tokens_per_batch < 1:
            raise ValueError(f"tokens_per_batch {tokens_per_batch} must be >= 1")
        if tokens_per_batch != self.tokens_per_batch:
            if self.tokens_per_batch is not None and self.position > 0:
                self.epoch, self.position = self.epoch + 1, 0
            self.tokens_per_batch = tokens_per_batch
        plan = self.epoch_batches(self.epoch, tokens_per_batch)
        if self.position >= len(plan):
            self.epoch, self.position = self.epoch + 1, 0
            plan = self.epoch_batches(self.epoch, tokens_per_batch)
        examples = plan[self.position][self.rank::self.world_size]
        self.position += 1
        return examples, self.epoch

    # --- cursor ----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The cursor as a JSON-able dict (the same on every rank)."""
        return {"task": self.spec.name, "seed": self.seed, "world_size": self.world_size, "epoch": self.epoch,
                "position": self.position, "tokens_per_batch": self.tokens_per_batch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from a cursor; a different world_size resumes at the same share of the epoch."""
        if state["task"] != self.spec.name:
            raise ValueError(f"data state is for task {state['task']!r}, not {self.spec.name!r}")
        if int(state["seed"]) != self.seed:
            raise ValueError(f"{self.spec.name}: data state has seed {state['seed']}, this run uses {self.seed}")
        self.epoch = int(state["epoch"])
        self.position = int(state["position"])  # a global batch index: the same for any world size
        budget = state.get("tokens_per_batch")
        self.tokens_per_batch = None if budget is None else int(budget)

    # --- batches ---------------------------------------------------------------------------
    def _rng(self, epoch: int, example: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, self.spec.task_id, epoch, int(example)])

    def collate(self, indices: np.ndarray, epoch: int) -> dict[str, Any]:
        """The padded batch of these examples; each example masked with its own seeded rng."""
        spec = self.spec
        rows = self.table.take(pa.array(indices, type=pa.int64()))
        full = self.full_lengths[indices]
        stored = np.arange(int(full.max()))[None, :] < full[:, None]

        def column(name: str, fill: int) -> np.ndarray:
            values = np.full(stored.shape, fill, dtype=np.int64)
            values[stored] = _flat(rows.column(name))
            return self._crop(values, full, fill)

        lengths = self.lengths[indices]
        real = np.arange(int(lengths.max()))[None, :] < lengths[:, None]
        ids = column("input_ids", spec.special_ids["pad"])
        types = column("token_type_ids", 0)
        batch: dict[str, Any] = {"task": spec.name}
        mlm = None
        if spec.kind == "mlm":
            words = column("word_labels", -1)
            long = np.flatnonzero(full > (self.max_seq_len or full.max()))
            if len(long):
                words[long, self.max_seq_len - 1] = -1  # the kept [SEP]
            phrases, entities = _spans(rows.column("phrase_spans")), _spans(rows.column("entity_spans"))
            mlm = np.full(real.shape, IGNORE, dtype=np.int64)
            for i, n in enumerate(lengths):
                ids[i, :n], mlm[i, :n] = mask_knowledge(ids[i, :n], words[i, :n], phrases[i], entities[i],
                                                        spec.special_ids, spec.vocab_size, self.masking,
                                                        self._rng(epoch, indices[i]))
        elif spec.kind == "skip_gram":  # pairs of each example's own pieces, drawn with its rng
            drawn = [draw_pairs(ids[i, :n], self.unigram, self._rng(epoch, indices[i])) for i, n in enumerate(lengths)]
            centres, contexts, pools = zip(*drawn)
            batch["centres"] = torch.from_numpy(np.concatenate(centres).astype(np.int64))
            batch["contexts"] = torch.from_numpy(np.concatenate(contexts).astype(np.int64))
            batch["negatives"] = torch.from_numpy(np.stack(pools).astype(np.int64))  # [B, POOL]
            batch["pair_example"] = torch.from_numpy(np.repeat(np.arange(len(drawn)), [len(c) for c in centres]))
        elif self.mlm_on_every_batch:
            mlm = np.full(real.shape, IGNORE, dtype=np.int64)
            for i, n in enumerate(lengths):
                ids[i, :n], mlm[i, :n] = mask_basic(ids[i, :n], spec.special_ids, spec.vocab_size, self.masking,
                                                    self._rng(epoch, indices[i]))
        batch["input_ids"] = torch.from_numpy(ids)
        batch["token_type_ids"] = torch.from_numpy(types)
        batch["task_type_ids"] = torch.full(real.shape, spec.task_id, dtype=torch.long)
        batch["attention_mask"] = torch.from_numpy(real.astype(np.int64))
        if mlm is not None:
            batch["mlm_labels"] = torch.from_numpy(mlm)
        if spec.kind == "token":
            batch["token_labels"] = torch.from_numpy(column("labels", IGNORE))
        elif spec.kind == "sequence":
            batch["labels"] = torch.from_numpy(rows.column("label").to_numpy().astype(np.int64))
        elif spec.kind == "contrastive":  # examples of one document share a group: not each other's negatives
            groups = np.unique(rows.column("doc_id").to_numpy(zero_copy_only=False), return_inverse=True)[1]
            batch["groups"] = torch.from_numpy(groups.reshape(-1).astype(np.int64))
        return batch


    def _crop(self, values: np.ndarray, full: np.ndarray, fill: int) -> np.ndarray:
        """Rows longer than max_seq_len keep their first max_seq_len - 1 values and their last."""
        limit = self.max_seq_len
        if limit is None or values.shape[1] <= limit:
            return values
        long = np.flatnonzero(full > limit)
        values[long, limit - 1] = values[long, full[long] - 1]
        return values[:, :limit]


class _Stream(torch.utils.data.IterableDataset):
    """The batches of a TaskData from its cursor on; DataLoader worker w builds batches w, w + n, ..."""

    def __init__(self, data: TaskData, tokens_per_batch: int) -> None:
        self.data, self.tokens_per_batch = data, tokens_per_batch

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        worker, workers = (info.id, info.num_workers) if info else (0, 1)
        cursor = copy.copy(self.data)  # shares the memory-mapped table
        for k in itertools.count():
            indices, epoch = cursor.advance(self.tokens_per_batch)
            if k % workers == worker:
                yield cursor.collate(indices, epoch)


class Loader:
    """A TaskData at a fixed token budget. With `workers` > 0, batches are built ahead in DataLoader
    worker processes; the DataLoader returns them in order, so the batches are the same as with
    0 workers, and the cursor (state_dict) counts the batches consumed, not those built ahead."""

    def __init__(self, data: TaskData, tokens_per_batch: int, workers: int = 0) -> None:
        self.data, self.tokens_per_batch, self.workers = data, tokens_per_batch, workers
        self._batches = None

    def next_batch(self) -> dict[str, Any]:
        if self.workers == 0:
            return self.data.next_batch(self.tokens_per_batch)
        if self._batches is None:
            self._batches = iter(torch.utils.data.DataLoader(
                _Stream(copy.copy(self.data), self.tokens_per_batch), batch_size=None, num_workers=self.workers,
                prefetch_factor=2))
        batch = next(self._batches)
        self.data.advance(self.tokens_per_batch)
        return batch

    def state_dict(self) -> dict[str, Any]:
        return self.data.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.data.load_state_dict(state)
        self._batches = None
