"""The fine-tuning tokenizer: the WordPiece vocab a model was pre-trained with, read with HF
`tokenizers` alone (the trainer never imports the corpus tools).

A vocab directory holds `vocab.txt` (its sha256 is the vocab's fingerprint, recorded in every task
shard and checked here), and `tokenizer.json` and `vocab.json` when `ernie-corpus vocab` made it.
The tokenizer used for fine-tuning is that tokenizer with NFKC in front of its normalizer (the
pre-training corpus was NFKC-normalized at ingest, so full-width punctuation must become the
ASCII the vocab knows) and the BERT template `[CLS] A [SEP] (B [SEP])`. The exported
`tokenizer.json` is exactly this tokenizer, so transformers encodes the same ids.
"""
from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence, Union

from tokenizers import Tokenizer, normalizers, processors
from tokenizers.implementations import BertWordPieceTokenizer

SPECIALS = {"pad": "[PAD]", "unk": "[UNK]", "cls": "[CLS]", "sep": "[SEP]", "mask": "[MASK]"}
VOCAB_FILES = ("vocab.txt", "tokenizer.json", "vocab.json")


class VocabError(ValueError):
    """A missing or mismatched vocab; str() is one line."""


def fingerprint(vocab_txt: Union[str, Path]) -> str:
    return hashlib.sha256(Path(vocab_txt).read_bytes()).hexdigest()


def _lowercase(directory: Path) -> bool:
    meta = directory / "vocab.json"
    if meta.exists():
        return bool(json.loads(meta.read_text(encoding="utf-8")).get("lowercase", True))
    config = directory / "tokenizer_config.json"
    if config.exists():
        return bool(json.loads(config.read_text(encoding="utf-8")).get("do_lower_case", True))
    words = (directory / "vocab.txt").read_text(encoding="utf-8").split()
    return sum(w[:1].isupper() and w.isalpha() for w in words) <= 50


@dataclass
class FinetuneTokenizer:
    directory: Path
    tokenizer: Tokenizer  # NFKC + the vocab's normalizer, BERT template
    fingerprint: str
    lowercase: bool

    @property
    def special_ids(self) -> dict[str, int]:
        return {k: self.tokenizer.token_to_id(v) for k, v in SPECIALS.items()}

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.get_vocab_size()

    def encode(self, text: str, pair: Optional[str], max_len: int) -> tuple[list[int], list[int]]:
        """ids and token types of `[CLS] text [SEP] (pair [SEP])`, the longer side cut first."""
        self.tokenizer.enable_truncation(max_len, strategy="longest_first")
        encoding = self.tokenizer.encode(text, pair)
        return encoding.ids, encoding.type_ids

    def encode_words(self, words: Sequence[str], max_len: int) -> tuple[list[int], list[int]]:
        """ids of `[CLS] words [SEP]` and, per position, the index of the word whose first piece it
        is (-1 elsewhere); words that do not fit are cut."""
        self.tokenizer.no_truncation()
        encoding = self.tokenizer.encode(list(words), is_pretokenized=True)
        ids, first, previous = [], [], None
        for token_id, word in zip(encoding.ids, encoding.word_ids):
            ids.append(token_id)
            first.append(word if word is not None and word != previous else -1)
            previous = word
        if len(ids) > max_len:  # keep [CLS] ... and put the final [SEP] back
            ids, first = ids[:max_len - 1] + [ids[-1]], first[:max_len - 1] + [-1]
        return ids, first

    def save(self, out: Path) -> None:
        """vocab.txt, vocab.json and this tokenizer's tokenizer.json into `out`."""
        out.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.directory / "vocab.txt", out / "vocab.txt")
        self.tokenizer.no_truncation()
        self.tokenizer.save(str(out / "tokenizer.json"))
        (out / "vocab.json").write_text(json.dumps({"fingerprint": self.fingerprint, "lowercase": self.lowercase,
                                                    "vocab_size": self.vocab_size, "nfkc": True}, indent=2) + "\n")


def load_tokenizer(directory: Union[str, Path], expect: Optional[str] = None) -> FinetuneTokenizer:
    """The fine-tuning tokenizer of a vocab (or model) directory; `expect` is the fingerprint the
    model was trained with (a one-line VocabError when it differs)."""
    directory = Path(directory)
    vocab_txt = directory / "vocab.txt" if directory.is_dir() else directory
    if not vocab_txt.is_file():
        raise VocabError(f"{directory}: no vocab.txt; pass the vocab directory the model was trained with")
    directory = vocab_txt.parent
    found = fingerprint(vocab_txt)
    if expect is not None and found != expect:
        raise VocabError(f"{vocab_txt}: vocab fingerprint {found[:12]}… is not the model's {expect[:12]}…; "
                         "pass the vocab the model was pre-trained with")
    lowercase = _lowercase(directory)
    if (directory / "tokenizer.json").exists():
        tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
    else:
        tokenizer = BertWordPieceTokenizer(str(vocab_txt), lowercase=lowercase, handle_chinese_chars=True)._tokenizer
    missing = [t for t in SPECIALS.values() if tokenizer.token_to_id(t) is None]
    if missing:
        raise VocabError(f"{vocab_txt}: not a BERT-style vocab (no {', '.join(missing)})")
    if not _has_nfkc(tokenizer.normalizer):
        parts = [normalizers.NFKC()] + ([tokenizer.normalizer] if tokenizer.normalizer is not None else [])
        tokenizer.normalizer = normalizers.Sequence(parts)
    cls, sep = SPECIALS["cls"], SPECIALS["sep"]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{cls}:0 $A:0 {sep}:0", pair=f"{cls}:0 $A:0 {sep}:0 $B:1 {sep}:1",
        special_tokens=[(cls, tokenizer.token_to_id(cls)), (sep, tokenizer.token_to_id(sep))])
    tokenizer.no_padding()
    return FinetuneTokenizer(directory, tokenizer, found, lowercase)


def _has_nfkc(normalizer) -> bool:
    return normalizer is not None and '"NFKC"' in normalizer.__getstate__().decode() if hasattr(
        normalizer, "__getstate__") else False
