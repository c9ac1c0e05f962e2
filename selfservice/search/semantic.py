"""A semantic re-ranker from static word embeddings (the ``selfservice[semantic]`` extra).

:class:`SemanticReranker` embeds the query and each candidate's title with WordLlama (a
token-embedding table distilled from a large language model: a vector per token, averaged)
and scores them by cosine similarity, for :func:`.rerank.blend`. No neural network runs: one
query costs a tokenisation and a few hundred additions (about 0.2 ms), titles are embedded
once and kept.

Nothing is downloaded, ever: the weights (``l2_supercat_256.safetensors``, 16 MB) and the
tokenizer file ship inside the ``wordllama`` wheel, and they are opened here by path rather
than through ``WordLlama.load``, which would fetch the tokenizer from the network when it
misses its own file. Held in memory: the 32k × 256 table as float32 (32 MB) plus 1 KB per
cached title.

The defaults (``depth`` 30, ``weight`` 3.0) were chosen by 2-fold cross-validation on the
StackFAQ dev queries (``benchmarks/search_quality.py --semantic --tune``).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import SearchError

__all__ = ["SemanticReranker"]

_MODEL = "l2_supercat"
_DIM = 256
_TITLES = 50_000  # title vectors kept (1 KB each)
INSTALL = "install the extra: pip install 'selfservice[semantic]'"


def _load_wordllama() -> Any:
    """Import wordllama without letting it configure the host's logging.

    Importing it calls ``logging.basicConfig(level=INFO)``: the root logger's handlers and
    level are put back as they were.
    """
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        import wordllama
    except ImportError as e:
        raise SearchError(f"the semantic re-ranker needs the wordllama package ({e}); {INSTALL}") from None
    finally:
        for h in root.handlers[:]:
            if h not in handlers:
                root.removeHandler(h)
        root.setLevel(level)
    return wordllama


class SemanticReranker:
    """Re-ranks the best ``depth`` results by title similarity (see :mod:`.rerank`).

    Pass one to ``Settings(search_reranker=SemanticReranker())``; it is shared by every
    search thread. Raises :class:`~selfservice.errors.SearchError` when the extra is missing.
    """

    def __init__(self, *, depth: int = 30, weight: float = 3.0) -> None:
        if depth < 1 or weight < 0:
            raise ValueError("depth must be at least 1 and weight not negative")
        self.depth = depth
        self.weight = weight
        wordllama = _load_wordllama()
        from safetensors import safe_open
        from tokenizers import Tokenizer

        root = Path(wordllama.__file__).parent
        weights = root / "weights" / f"{_MODEL}_{_DIM}.safetensors"
        tokenizer = root / "tokenizers" / f"{_MODEL}_tokenizer_config.json"
        for path in (weights, tokenizer):
            if not path.is_file():
                raise SearchError(f"the wordllama package has no {path.name}; reinstall it ({INSTALL})")
        with safe_open(str(weights), framework="np") as f:
            table = f.get_tensor("embedding.weight")
        self._model = wordllama.WordLlamaInference(table, Tokenizer.from_file(str(tokenizer)))
        self._titles: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> Any:
        """Unit vectors, one row per text (a numpy array; zeros for a text without tokens)."""
        import numpy as np

        with np.errstate(invalid="ignore", divide="ignore"):  # no tokens: 0 / 0
            return np.nan_to_num(self._model.embed(list(texts), norm=True))

    def similarities(self, query: str, titles: Sequence[str]) -> Sequence[float]:
        """Cosine similarity of ``query`` to each title."""
        import numpy as np

        if not titles:
            return []
        with self._lock:
            known = {t: v for t in titles if (v := self._titles.get(t)) is not None}
        missing = list(dict.fromkeys(t for t in titles if t not in known))
        vectors = self.embed([query, *missing])
        if missing:
            fresh = dict(zip(missing, vectors[1:]))
            known.update(fresh)
            with self._lock:
                self._titles.update(fresh)
                while len(self._titles) > _TITLES:
                    self._titles.popitem(last=False)
        matrix = np.stack([known[t] for t in titles])
        return [float(s) for s in matrix @ vectors[0]]
