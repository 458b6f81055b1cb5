"""WordPiece vocabularies: train one from a documents dataset with HF `tokenizers`, or load an
existing BERT/ERNIE `vocab.txt`. A vocab is identified by its fingerprint, the sha256 of
vocab.txt, which every task shard records."""
from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Optional, Union

from tokenizers import Tokenizer
from tokenizers.implementations import BertWordPieceTokenizer

from schemas import __version__
from schemas.errors import InputError, OutputError

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
META = "vocab.json"


@dataclass
class Vocab:
    """A loaded vocabulary: the tokenizer plus what builders and the trainer need to know."""

    path: Path
    tokenizer: Tokenizer
    fingerprint: str
    lowercase: bool

    @property
    def size(self) -> int:
        return self.tokenizer.get_vocab_size()

    def id(self, token: str) -> int:
        found = self.tokenizer.token_to_id(token)
        if found is None:
            raise InputError(f"{self.path}: vocab has no {token} token")
        return found


def fingerprint(vocab_txt: Union[str, Path]) -> str:
    return hashlib.sha256(Path(vocab_txt).read_bytes()).hexdigest()


def _looks_cased(vocab_txt: Path) -> bool:
    """A vocab with capitalised whole words (not [CLS]-style specials) is cased."""
    with vocab_txt.open(encoding="utf-8") as fh:
        words = [line.strip() for line in fh]
    return sum(w[:1].isupper() and w.isalpha() for w in words) > 50


def load_vocab(path: Union[str, Path], lowercase: Optional[bool] = None) -> Vocab:
    """Load a vocab directory (tokenizer.json and/or vocab.txt) or a bare vocab.txt file."""
    path = Path(path)
    vocab_txt = path / "vocab.txt" if path.is_dir() else path
    if not vocab_txt.is_file():
        raise InputError(f"{path}: no vocab.txt here; train one with `ernie-corpus vocab` or pass a BERT/ERNIE vocab.txt")
    meta = json.loads((path / META).read_text()) if path.is_dir() and (path / META).exists() else {}
    if lowercase is None:
        lowercase = meta.get("lowercase", not _looks_cased(vocab_txt))
    if path.is_dir() and (path / "tokenizer.json").exists() and lowercase == meta.get("lowercase", lowercase):
        tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
    else:
        tokenizer = BertWordPieceTokenizer(str(vocab_txt), lowercase=lowercase, handle_chinese_chars=True)._tokenizer
    missing = [t for t in SPECIAL_TOKENS if tokenizer.token_to_id(t) is None and t != "[MASK]"]
    if missing:
        raise InputError(f"{vocab_txt}: not a BERT-style vocab (no {', '.join(missing)})")
    return Vocab(path, tokenizer, fingerprint(vocab_txt), bool(lowercase))


def train_vocab(sentences: Iterable[str], out: Union[str, Path], vocab_size: int = 30000, cased: bool = False,
                min_frequency: int = 2, overwrite: bool = False, source: Optional[dict] = None) -> Vocab:
    """Train a BERT WordPiece vocab (CJK characters split as in BERT-Chinese) and write
    tokenizer.json, vocab.txt and vocab.json into `out`, atomically."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise OutputError(f"{out}: already exists; pass overwrite=True (--overwrite) to replace it")
        if not (out / META).exists():
            raise OutputError(f"{out}: not a vocab made by ernie-corpus (no {META}); refusing to delete it")
    tokenizer = BertWordPieceTokenizer(clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=not cased)
    counted = _Counting(sentences)
    tokenizer.train_from_iterator(counted, vocab_size=vocab_size, min_frequency=min_frequency,
                                  special_tokens=SPECIAL_TOKENS, limit_alphabet=max(1000, vocab_size // 3),
                                  show_progress=False)
    if counted.n == 0:
        raise InputError("no sentences to train a vocab on")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    tokenizer.save(str(tmp / "tokenizer.json"))
    tokenizer.save_model(str(tmp))
    meta = {"fingerprint": fingerprint(tmp / "vocab.txt"), "lowercase": not cased, "vocab_size": tokenizer.get_vocab_size(),
            "sentences": counted.n, "created_by": f"ernie-corpus {__version__}", "source": source or {}}
    (tmp / META).write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
    return load_vocab(out)


class _Counting:
    def __init__(self, items: Iterable[str]):
        self.items, self.n = items, 0

    def __iter__(self) -> Iterator[str]:
        for item in self.items:
            self.n += 1
            yield item
