"""BM25 over the stored chunks, with a French analyzer (bm25s + Snowball).

The analyzer folds case and accents, drops elided articles (l', d', qu', j'...),
removes French and English stopwords and stems with Snowball's French stemmer.
The index is persisted beside the store and rebuilt when the store's content
fingerprint changes.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from knowledge.errors import StoreError

if TYPE_CHECKING:
    from knowledge.store import StoredChunk

__all__ = ["FrenchAnalyzer", "LexicalIndex", "fold"]

logging.getLogger("bm25s").setLevel(logging.WARNING)

_STOPWORDS_FR = set(
    """au aux avec ce ces cet cette dans de des du elle en et eux il ils je la le les leur leurs
    lui ma mais me meme mes moi mon ne nos notre nous on ou par pas pour qu que qui sa se ses son
    sur ta te tes toi ton tu un une vos votre vous y a ete etre est sont ont avait avaient aussi
    comme dont lors plus tres tout tous toute toutes ainsi cela celle celui ceux ci la-bas deja
    entre quel quelle quels quelles combien est-ce si sous vers chez d l qu j n s c m t""".split()
)
_STOPWORDS_EN = set(
    """a an the of in on at to for from by with and or is are was were be been being it its this
    that these those which what who whom how many much did does do has have had there their they
    as into about than then so such can could would should will shall may might i we you he she
    them our your my me us""".split()
)
STOPWORDS = frozenset(_STOPWORDS_FR | _STOPWORDS_EN)
# Bump when the analyzer changes: a saved index built by another version is rebuilt.
ANALYZER_VERSION = 2

_ELISION = re.compile(r"\b(?:l|d|qu|j|n|s|c|m|t|lorsqu|puisqu)['’](?=\w)", re.IGNORECASE)
_TOKEN = re.compile(r"[0-9]+(?:[.,][0-9]+)*|[^\W\d_]+", re.UNICODE)


def fold(text: str) -> str:
    """Lower case without accents: 'Lauréats' -> 'laureats'."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


class FrenchAnalyzer:
    """Text -> index terms. Cheap to build; the stemmer loads on first use.

    >>> FrenchAnalyzer()("Les lauréats de l'Île-de-France")
    ['laureat', 'ile', 'franc']
    """

    def __init__(self) -> None:
        self._stemmer: Any = None

    def _stem(self, words: list[str]) -> list[str]:
        if self._stemmer is None:
            import Stemmer

            self._stemmer = Stemmer.Stemmer("french")
        return list(self._stemmer.stemWords(words))

    def __call__(self, text: str) -> list[str]:
        text = _ELISION.sub("", text.replace("’", "'"))
        words = [w.lower() for w in _TOKEN.findall(text)]
        words = [w for w in words if fold(w) not in STOPWORDS]
        return [fold(s) for s in self._stem(words)]


class LexicalIndex:
    """A BM25 index over chunks; `search()` returns chunks with their BM25 score.

    >>> index = LexicalIndex.build(chunks, fingerprint="abc")
    >>> [(c.id, round(s, 2)) for c, s in index.search("territoires Grand Est", k=3)]
    """

    def __init__(self, bm25: Any, chunks: list[StoredChunk], fingerprint: str, analyzer: FrenchAnalyzer) -> None:
        self._bm25 = bm25
        self.chunks = chunks
        self.fingerprint = fingerprint
        self._analyzer = analyzer
        self._vocab: dict[str, int] = dict(getattr(bm25, "vocab_dict", {}) or {}) if bm25 else {}

    @classmethod
    def build(cls, chunks: Sequence[StoredChunk], fingerprint: str, analyzer: FrenchAnalyzer | None = None) -> LexicalIndex:
        import bm25s

        analyzer = analyzer or FrenchAnalyzer()
        chunks = list(chunks)
        if not chunks:
            return cls(None, [], fingerprint, analyzer)
        bm25 = bm25s.BM25()
        bm25.index([analyzer(c.text) or ["<empty>"] for c in chunks], show_progress=False)
        return cls(bm25, chunks, fingerprint, analyzer)

    def __len__(self) -> int:
        return len(self.chunks)

    def search(
        self, query: str, k: int, allowed: Callable[[dict[str, Any]], bool] | None = None
    ) -> list[tuple[StoredChunk, float]]:
        if self._bm25 is None:
            return []
        terms = [t for t in self._analyzer(query) if t in self._vocab]
        if not terms:
            return []
        mask = None
        if allowed is not None:
            mask = np.array([1.0 if allowed(c.metadata) else 0.0 for c in self.chunks], dtype=np.float32)
            if not mask.any():
                return []
        n = len(self.chunks)
        docs, scores = self._bm25.retrieve(
            [terms], k=min(k, n), show_progress=False, n_threads=1, weight_mask=mask
        )
        out = []
        for i, s in zip(docs[0], scores[0], strict=True):
            if s > 0:
                out.append((self.chunks[int(i)], float(s)))
        return out

    # -- persistence -----------------------------------------------------------------
    def save(self, directory: Path) -> None:
        """Write atomically: a crash mid-save leaves the previous index in place."""
        directory = Path(directory)
        directory.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".lexical-", dir=directory.parent))
        try:
            if self._bm25 is not None:
                self._bm25.save(str(tmp / "bm25"), show_progress=False)
            payload = {
                "analyzer": ANALYZER_VERSION,
                "fingerprint": self.fingerprint,
                "chunks": [{"id": c.id, "text": c.text, "metadata": c.metadata} for c in self.chunks],
            }
            (tmp / "chunks.json").write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
            old = directory.with_name(directory.name + ".old")
            if directory.exists():
                shutil.rmtree(old, ignore_errors=True)
                directory.rename(old)
            tmp.rename(directory)
            shutil.rmtree(old, ignore_errors=True)
        except OSError as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            raise StoreError(f"cannot save the lexical index to {directory}: {exc}") from exc

    @classmethod
    def load(cls, directory: Path, analyzer: FrenchAnalyzer | None = None) -> LexicalIndex | None:
        """The saved index, or None when there is none (or it is unreadable: it is rebuilt)."""
        directory = Path(directory)
        meta = directory / "chunks.json"
        if not meta.exists():
            return None
        try:
            import bm25s

            from knowledge.store import StoredChunk

            payload = json.loads(meta.read_text(encoding="utf-8"))
            if payload.get("analyzer") != ANALYZER_VERSION:
                return None
            chunks = [StoredChunk(c["id"], c["text"], c["metadata"]) for c in payload["chunks"]]
            bm25 = bm25s.BM25.load(str(directory / "bm25"), show_progress=False) if chunks else None
            return cls(bm25, chunks, payload["fingerprint"], analyzer or FrenchAnalyzer())
        except Exception:  # a damaged index is not data: it is rebuilt from the store
            logging.getLogger(__name__).warning("lexical index at %s unreadable; rebuilding", directory)
            return None
