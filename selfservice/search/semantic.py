"""A semantic re-ranker from static word embeddings (the ``selfservice[semantic]`` extra).

:class:`SemanticReranker` embeds the query and each candidate's title with WordLlama's
``l2_supercat_256`` model (a token-embedding table distilled from a large language model: one
vector per token, averaged, then scaled to unit length, as ``WordLlamaInference.embed`` does)
and scores them by cosine similarity, for :func:`.rerank.blend`. No neural network runs: a
query costs a tokenisation and a few hundred additions (about 0.1 ms); a title is embedded
the first time it is a candidate (about 25 µs) and kept.

Nothing is downloaded, ever: the weights (16 MB) and the tokenizer file ship inside the
``wordllama`` wheel and are opened here by path, with ``safetensors`` and ``tokenizers`` (its
own dependencies). The ``wordllama`` package itself is not imported: its import configures the
root logger and pulls in pydantic and requests, and its ``WordLlama.load`` fetches the
tokenizer from the network when it misses its own file. Memory: the 32k × 256 float16 table
is mapped from the wheel's file (16 MB, read as needed and shared by every process), the
tokenizer (about 14 MB), and 0.5 KB per title kept.

The defaults (``depth`` 30, ``weight`` 4.0) sit on the flat best region of a 2-fold
cross-validation on the StackFAQ dev queries (``benchmarks/search_quality.py --semantic
--tune``; weight 4–8, depth 30–50 score alike, and 30 candidates cost less than 50).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ..errors import SearchError

__all__ = ["SemanticReranker", "model_files"]

_MODEL = "l2_supercat"
_DIM = 256
_TITLES = 50_000  # title vectors kept (0.5 KB each)
_WORDS = 100_000  # words whose token ids are kept (about 0.2 KB each)
_BATCH = 1_000  # titles embedded together by prepare (their token rows: a few MB)
INSTALL = "install the extra: pip install 'selfservice[semantic]'"


def _mapped_table(np: Any, path: Path) -> Any:
    """The embedding table mapped from the weights file (None if its layout is not the one
    expected): pages are read as tokens need them and shared by every process on the machine,
    where loading it took 16 MB in each. The file is a safetensors file: an 8-byte header
    length, a JSON header naming each tensor's dtype, shape and byte range, then the data."""
    try:
        with path.open("rb") as f:
            size = int.from_bytes(f.read(8), "little")
            header = json.loads(f.read(size))
        info = header["embedding.weight"]
        rows, dim = info["shape"]
        start, end = info["data_offsets"]
        if info["dtype"] != "F16" or end - start != rows * dim * 2:
            return None
        return np.memmap(path, dtype=np.float16, mode="r", offset=8 + size + start, shape=(rows, dim))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def model_files() -> tuple[Path, Path]:
    """(weights, tokenizer) inside the installed ``wordllama`` package, found without importing it."""
    spec = importlib.util.find_spec("wordllama")
    if spec is None or not spec.submodule_search_locations:
        raise SearchError(f"the semantic re-ranker needs the wordllama package; {INSTALL}")
    root = Path(next(iter(spec.submodule_search_locations)))
    weights = root / "weights" / f"{_MODEL}_{_DIM}.safetensors"
    tokenizer = root / "tokenizers" / f"{_MODEL}_tokenizer_config.json"
    for path in (weights, tokenizer):
        if not path.is_file():
            raise SearchError(f"the wordllama package has no {path.name}; reinstall it ({INSTALL})")
    return weights, tokenizer


class SemanticReranker:
    """Re-ranks the best ``depth`` results by title similarity (see :mod:`.rerank`).

    Pass one to ``Settings(search_reranker=SemanticReranker())``; it is shared by every
    search thread. Raises :class:`~selfservice.errors.SearchError` when the extra is missing.
    """

    #: Names the vectors :meth:`title_vector` writes (:class:`~.rerank.TitleVectors`).
    model = f"wordllama/{_MODEL}_{_DIM}/float16"

    def __init__(self, *, depth: int = 30, weight: float = 4.0) -> None:
        if depth < 1 or weight < 0:
            raise ValueError("depth must be at least 1 and weight not negative")
        self.depth = depth
        self.weight = weight
        # A title vector's bytes: this tag, then the float16 vector, little-endian.
        self._tag = hashlib.blake2b(self.model.encode(), digest_size=4).digest()
        weights, tokenizer = model_files()
        try:
            import numpy as np
            from safetensors import safe_open
            from tokenizers import Tokenizer
        except ImportError as e:
            raise SearchError(f"the semantic re-ranker is missing a dependency ({e}); {INSTALL}") from None
        self._np = np
        self._table = _mapped_table(np, weights)
        if self._table is None:  # not the layout expected: read it whole instead
            with safe_open(str(weights), framework="np") as f:
                self._table = f.get_tensor("embedding.weight")
        self._tokenizer = Tokenizer.from_file(str(tokenizer))
        self._tokenizer.no_padding()
        self._tokenizer.no_truncation()
        # Words are tokenised one at a time and their ids kept here (_tokens), so the BPE
        # model's own cache would hold the same words twice: off. (When whole titles were
        # tokenised, it kept them, never hit again: +25 MB at 30k. A method of tokenizers ≥ 0.21.)
        resize = getattr(self._tokenizer.model, "_resize_cache", None)
        if callable(resize):
            resize(0)
        self._words: dict[str, tuple[int, ...]] = {}
        self._titles: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> Any:
        """Unit vectors, one row per text (a numpy array; zeros for a text without tokens).

        The token rows of each text are summed and scaled to unit length: the normalised mean
        ``WordLlamaInference.embed`` computes. Texts are tokenised word by word, each word's
        ids kept (:meth:`_tokens`), so a title costs a few dictionary look-ups rather than a
        tokenisation; then the rows of all texts are read in one gather and summed in one
        ``add.reduceat``. Few numpy calls: this runs on every search.
        """
        np = self._np
        flat: list[int] = []
        counts: list[int] = []
        tokens = self._tokens
        for text in texts:
            before = len(flat)
            for ids in tokens(text):
                flat.extend(ids)
            counts.append(len(flat) - before)
        if not flat:
            return np.zeros((len(texts), self._table.shape[1]), dtype=np.float32)
        ids = np.array(flat, dtype=np.intp)
        last = self._table.shape[0] - 1
        if ids.max() > last:
            ids = np.minimum(ids, last)
        rows = np.asarray(self._table[ids]).astype(np.float32)
        if len(texts) == 1:
            sums = rows.sum(axis=0, keepdims=True)
        else:
            full = [i for i, c in enumerate(counts) if c]  # reduceat needs rising starts: no empty text
            sums = np.zeros((len(texts), rows.shape[1]), dtype=np.float32)
            sums[full] = np.add.reduceat(rows, np.cumsum([0, *(counts[i] for i in full[:-1])]), axis=0)
        norms = np.sqrt(np.einsum("ij,ij->i", sums, sums))[:, None]
        norms[norms == 0] = 1.0
        return sums / norms

    def _tokens(self, text: str) -> list[tuple[int, ...]]:
        """The token ids of ``text``, word by word: the same ids as tokenising it whole.

        The tokenizer's normaliser writes each space as "▁" and puts one before the text, and
        its pieces never span a "▁" (SentencePiece splits at whitespace when it learns them),
        so tokenising "Reset your password" whole gives the ids of "Reset", "your" and
        "password" tokenised one by one (``test_words_tokenise_as_the_whole`` checks it on
        every bundled and test title). Each word's ids are kept, since titles share most of
        their words: a known word costs a look-up (under 0.1 µs) where tokenising a title
        took about 20 µs. At ``_WORDS`` words the cache starts again. A text with a run of
        spaces, or one at either end, is tokenised whole (its "▁" runs would differ).
        """
        encode = self._tokenizer.encode
        if "  " in text or text[:1] == " " or text[-1:] == " ":
            return [tuple(encode(text, add_special_tokens=False).ids)]
        known = self._words
        out = []
        for word in text.split(" "):
            ids = known.get(word)
            if ids is None:
                ids = tuple(encode(word, add_special_tokens=False).ids)
                if len(known) >= _WORDS:
                    known.clear()
                known[word] = ids
            out.append(ids)
        return out

    def prepare(self, titles: Iterable[str]) -> int:
        """Embed every title not embedded yet, in batches; how many were new.

        Optional: searches embed the titles they re-rank themselves. A host that wants its
        first searches after start-up to skip that (≤ 30 titles, under a millisecond) may
        call this with its titles before serving; the index never does (on a thread next to
        the searches, two seconds of it at 30k titles slowed them more than it saved).
        """
        with self._lock:
            missing = list(dict.fromkeys(t for t in titles if t not in self._titles))
        for start in range(0, len(missing), _BATCH):
            chunk = missing[start : start + _BATCH]
            self._remember(dict(zip(chunk, self.embed(chunk).astype(self._np.float16))))
        return len(missing)

    def _remember(self, fresh: dict[str, Any]) -> None:
        """Keep these title vectors, dropping the oldest beyond the bound. They are kept as
        float16 (the table's own precision; half the memory of float32, the same rankings)."""
        with self._lock:
            self._titles.update(fresh)
            while len(self._titles) > _TITLES:
                self._titles.popitem(last=False)

    def title_vector(self, title: str) -> bytes:
        """The title's unit vector as the index keeps it: a 4-byte tag naming :attr:`model`,
        then 256 float16 values (the precision of the model's table, and of the vectors
        :meth:`similarities` keeps)."""
        return self._tag + self.embed([title])[0].astype("<f2").tobytes()

    def similarities_with(self, query: str, titles: Sequence[str], vectors: Sequence[bytes]) -> Sequence[float]:
        """:meth:`similarities`, reading the title vectors the index wrote (:meth:`title_vector`).

        A search then embeds its query only: the candidates' vectors are joined and read as
        one array. A title whose bytes are missing or another model's is embedded as
        :meth:`similarities` does; the scores are the same either way.
        """
        if not titles:
            return []
        np = self._np
        tag, size = self._tag, 4 + 2 * self._table.shape[1]
        stored = [i for i, v in enumerate(vectors) if len(v) == size and v[:4] == tag]
        if len(stored) < len(titles):
            if not stored:
                return self.similarities(query, titles)
            scores = [0.0] * len(titles)
            rest = sorted(set(range(len(titles))) - set(stored))
            for i, score in zip(rest, self.similarities(query, [titles[i] for i in rest])):
                scores[i] = score
            for i, score in zip(stored, self.similarities_with(query, [titles[i] for i in stored],
                                                               [vectors[i] for i in stored])):  # fmt: skip
                scores[i] = score
            return scores
        joined = b"".join([v[4:] for v in vectors])
        matrix = np.frombuffer(joined, dtype="<f2").reshape(len(titles), -1).astype(np.float32)
        return [float(s) for s in matrix @ self.embed([query])[0]]

    def similarities(self, query: str, titles: Sequence[str]) -> Sequence[float]:
        """Cosine similarity of ``query`` to each title."""
        if not titles:
            return []
        with self._lock:
            known = {t: v for t in titles if (v := self._titles.get(t)) is not None}
        missing = list(dict.fromkeys(t for t in titles if t not in known))
        vectors = self.embed([query, *missing])
        if missing:
            fresh = dict(zip(missing, vectors[1:].astype(self._np.float16)))  # as they are kept
            known.update(fresh)
            self._remember(fresh)
        matrix = self._np.stack([known[t] for t in titles]).astype(self._np.float32)
        return [float(s) for s in matrix @ vectors[0]]
