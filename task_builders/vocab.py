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
from typing import Iterable, Optional, Union

from tokenizers import Tokenizer
from tokenizers.implementations import BertWordPieceTokenizer
from tokenizers.trainers import WordPieceTrainer

from schemas import __version__
from schemas.errors import InputError, OutputError
from task_builders.wordpiece_alphabet import AlphabetCounter

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
META = "vocab.json"
PREFIX = "##"


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
    tokenizer.json, vocab.txt and vocab.json into `out`, atomically. The same sentences give the
    same vocab.txt on every run (see wordpiece_alphabet for what that takes)."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise OutputError(f"{out}: already exists; pass overwrite=True (--overwrite) to replace it")
        if not (out / META).exists():
            raise OutputError(f"{out}: not a vocab made by ernie-corpus (no {META}); refusing to delete it")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        tokenizer, n = _train(sentences, tmp / "sentences.txt", vocab_size, cased, min_frequency)
        (tmp / "sentences.txt").unlink()
        tokenizer.save(str(tmp / "tokenizer.json"))
        tokenizer.save_model(str(tmp))
        meta = {"fingerprint": fingerprint(tmp / "vocab.txt"), "lowercase": not cased,
                "vocab_size": tokenizer.get_vocab_size(), "sentences": n, "created_by": f"ernie-corpus {__version__}",
                "source": source or {}}
        (tmp / META).write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
    return load_vocab(out)


def _train(sentences: Iterable[str], spill: Path, vocab_size: int, cased: bool,
           min_frequency: int) -> tuple[BertWordPieceTokenizer, int]:
    """Write the sentences to `spill` one per line while counting their characters, then train on
    the file with the alphabet and continuing pieces fixed up front."""
    counter, n = AlphabetCounter(), 0
    with spill.open("w", encoding="utf-8") as fh:
        for sentence in sentences:
            sentence = sentence.replace("\n", " ")
            fh.write(sentence + "\n")
            counter.add(sentence)
            n += 1
    if n == 0:
        raise InputError("no sentences to train a vocab on")
    options = dict(clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=not cased)
    normalizer = BertWordPieceTokenizer(**options).normalizer
    alphabet, continuing = counter.alphabet(normalizer.normalize_str, limit=max(1000, vocab_size // 3))
    pieces = [PREFIX + c for c in continuing]
    while True:
        trainer = WordPieceTrainer(vocab_size=vocab_size, min_frequency=min_frequency, show_progress=False,
                                   special_tokens=SPECIAL_TOKENS + pieces, limit_alphabet=len(alphabet),
                                   initial_alphabet=alphabet, continuing_subword_prefix=PREFIX)
        trained = BertWordPieceTokenizer(**options)
        trained._tokenizer.train([str(spill)], trainer)
        vocab = trained.get_vocab()
        # a `##c` the counter did not foresee got its id in hash order: train again with it fixed
        missed = sorted(t for t in vocab if t.startswith(PREFIX) and len(t) == len(PREFIX) + 1 and t not in pieces)
        if not missed:
            break
        pieces = sorted(pieces + missed)
    # the pieces were special tokens only to fix their ids: the vocab's tokenizer knows five
    return BertWordPieceTokenizer(vocab, **options), n
