"""Reading whoosh's files fast: postings a block at a time, columns a segment at a time.

whoosh's public reading API goes one posting or one document per Python call (a few µs
each): fine for a page of hits, too slow for scoring every match of a common word or for
reading a column of 30k values at every commit. Where whoosh's own file layout is the one
expected (its default ``W3`` codec), these read whole blocks and whole column files; anything
else falls back to the public API, so results never depend on which path was taken.
"""

from __future__ import annotations

import sys
import threading
from array import array
from collections.abc import Iterable, Iterator, Sequence
from itertools import accumulate
from typing import Any

import numpy as np
from numpy.typing import NDArray
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher
from whoosh.matching.wrappers import FilterMatcher
from whoosh.reading import IndexReader, TermNotFound
from whoosh.util.numeric import length_to_byte

__all__ = ["Postings", "byte_values", "group_keys", "length_bytes", "open_files"]

#: Segments of at most this many documents have their words listed once per generation: a
#: word they lack then costs no lookup. Every save adds a segment of one document or a few
#: (whoosh merges them only once there are several), and each lookup of a word in a segment,
#: found or not, costs 15–50 µs: five fields × five small segments doubled a new word's cost.
SMALL_SEGMENT = 256
_UNSEEN = frozenset({("", b"")})  # (a segment not looked at yet)


class Postings:
    """Reads postings with deleted documents left out; remembers each segment's deletions."""

    def __init__(self) -> None:
        self._deleted: dict[int, frozenset[int]] = {}  # per segment (by its first document)
        self._words: dict[int, frozenset[tuple[str, bytes]] | None] = {}  # small segments' (field, word)s
        self._live: NDArray[np.bool_] | None | bool = False  # False: not worked out yet
        self._lock = threading.Lock()

    def blocks(self, reader: IndexReader, field: str, term: str) -> Iterator[tuple[Sequence[int], Sequence[float], int]]:
        """(segment's document numbers, weights, the segment's first document number) of
        ``term`` in ``field``, a block at a time, all segments, *deleted documents included*
        (:meth:`live` says which are)."""
        key: tuple[str, bytes] | None = None
        for leaf, offset in reader.leaf_readers():
            words = self._words.get(offset, _UNSEEN)
            if words is _UNSEEN:
                small = leaf.doc_count_all() <= SMALL_SEGMENT
                words = frozenset((f, w) for f, w in leaf.all_terms()) if small else None  # a few hundred
                with self._lock:
                    self._words[offset] = words
            if words is not None:
                if key is None:
                    key = (field, leaf.schema[field].to_bytes(term))
                if key not in words:
                    continue
            try:
                matcher = _unfiltered(leaf, field, term)
            except TermNotFound:
                continue
            for ids, weights in _blocks(matcher):
                yield ids, weights, offset

    def live(self, reader: IndexReader) -> NDArray[np.bool_] | None:
        """Per document (all segments), whether it is live; None when none is deleted."""
        live = self._live
        if live is False:
            mask = None
            for leaf, offset in reader.leaf_readers():
                if leaf.has_deletions():
                    if mask is None:
                        mask = np.ones(reader.doc_count_all(), dtype=np.bool_)
                    gone = self._segment_deleted(leaf, offset)
                    mask[np.fromiter(gone, dtype=np.int64, count=len(gone)) + offset] = False
            if mask is not None:
                mask.flags.writeable = False  # shared by every thread
            self._live = live = mask
        assert live is not True
        return live

    def _segment_deleted(self, leaf: Any, offset: int) -> frozenset[int]:
        deleted = self._deleted.get(offset)
        if deleted is None:
            known = getattr(leaf, "deleted_docs_set", None)  # a cached property of whoosh's
            if isinstance(known, frozenset):
                deleted = known
            else:
                deleted = frozenset(d for d in range(leaf.doc_count_all()) if leaf.is_deleted(d))
            with self._lock:
                self._deleted[offset] = deleted
        return deleted

    def __call__(self, reader: IndexReader, field: str, term: str) -> Iterable[tuple[Sequence[int], Sequence[float]]]:
        """(document numbers, weights) of ``term`` in ``field``, a block at a time, all segments."""
        for leaf, offset in reader.leaf_readers():
            try:
                matcher = leaf.postings(field, term)
            except TermNotFound:
                continue
            deleted: frozenset[int] | None = None
            if isinstance(matcher, FilterMatcher):  # the segment has deletions
                deleted = self._segment_deleted(leaf, offset)
                matcher = matcher.child
            for ids, weights in _blocks(matcher):
                if deleted:
                    pairs = [(d, w) for d, w in zip(ids, weights) if d not in deleted]
                    ids, weights = [d for d, _ in pairs], [w for _, w in pairs]
                if offset:
                    ids = [d + offset for d in ids]
                yield ids, weights


def _unfiltered(leaf: Any, field: str, term: str) -> Any:
    """The segment's matcher of ``term`` in ``field``, deleted documents included.

    ``postings()`` wraps it to skip deleted documents, and that wrapper reads the first block
    as it is made, which a block-at-a-time reader then reads again; the caller filters."""
    terms, schema = getattr(leaf, "_terms", None), leaf.schema
    if terms is None or not hasattr(terms, "matcher") or getattr(leaf, "is_closed", True) or field not in schema:
        matcher = leaf.postings(field, term)  # another reader: its public way
        return matcher.child if isinstance(matcher, FilterMatcher) else matcher
    return terms.matcher(field, schema[field].to_bytes(term), schema[field].format)


def open_files(reader: IndexReader) -> None:
    """Open every column file of ``reader``'s segments now, rather than on first use.

    whoosh opens a segment's column files lazily; if the folder is cleaned up in between (two
    commits later), that first use would fail. An open file outlives its deletion.
    """
    schema = reader.schema
    names = ["_stored", *(f"_{n}_len" for n in schema.scorable_names())]
    names += [n for n, f in schema.items() if f.column_type is not None]
    for leaf, _ in reader.leaf_readers():
        perdoc = getattr(leaf, "_perdoc", None)
        files = getattr(perdoc, "_colfiles", None)
        if perdoc is None or not isinstance(files, dict) or not hasattr(perdoc, "_get_column_file"):
            continue  # another codec: nothing known to open ahead
        for name in names:
            if name not in files and perdoc.has_column(name):
                files[name] = perdoc._get_column_file(name)


def length_bytes(reader: IndexReader, name: str) -> bytes:
    """Every document's length byte for field ``name``, read a segment at a time.

    Reading them one call per document took 0.15 s a field at 30k articles, at every commit;
    the column's bytes are read at once where whoosh's column layout is the one expected.
    """
    parts = []
    for leaf, _ in reader.leaf_readers():
        count = leaf.doc_count_all()
        perdoc = getattr(leaf, "_perdoc", None)
        if perdoc is not None and not perdoc.has_column(f"_{name}_len"):
            # No document of the segment has the field (articles without keywords, say): all
            # zero, which is what whoosh answers too, after a file lookup per document.
            parts.append(bytes(count))
            continue
        column = _raw_column(leaf, f"_{name}_len", LENGTHS_COLUMN)
        if column is not None and getattr(column, "_fixedlen", None) == 1 and hasattr(column, "_count"):
            data = column._dbfile.get(column._basepos, min(count, column._count))
            parts.append(data + bytes(count - len(data)))
        else:
            parts.append(bytes(length_to_byte(leaf.doc_field_length(d, name, 0) or 0) for d in range(count)))
    return b"".join(parts)


def group_keys(reader: IndexReader) -> list[int]:
    """Every document's ``group`` column value, read a segment at a time."""
    keys: list[int] = []
    for leaf, _ in reader.leaf_readers():
        count = leaf.doc_count_all()
        column = _raw_column(leaf, "group", None)
        if column is not None and getattr(column, "_typecode", None) == "Q" and getattr(column, "_count", 0) >= count:
            values = array("Q", column._dbfile.get(column._basepos, count * 8))
            if sys.byteorder == "little":
                values.byteswap()  # stored big-endian
            keys.extend(values)
        else:
            keys.extend(leaf.column_reader("group")) if leaf.has_column("group") else keys.extend([0] * count)
    return keys


def byte_values(reader: IndexReader, name: str) -> list[bytes]:
    """Every document's value of the bytes column ``name`` (b"" where missing), all segments.

    A segment's values are read as one block and cut up, not one file read per document.
    """
    out: list[bytes] = []
    for leaf, _ in reader.leaf_readers():
        count = leaf.doc_count_all()
        column = _raw_column(leaf, name, None)
        offsets, lengths = getattr(column, "_offsets", None), getattr(column, "_lengths", None)
        if column is not None and offsets is not None and lengths is not None and len(offsets) == count:
            end = max((o + n for o, n in zip(offsets, lengths)), default=0)
            blob = column._dbfile.get(column._basepos, end)
            out.extend(blob[o : o + n] for o, n in zip(offsets, lengths))
        elif leaf.has_column(name):
            values = leaf.column_reader(name, translate=False)
            out.extend(values[d] for d in range(count))
        else:
            out.extend([b""] * count)
    return out


def _raw_column(leaf: Any, name: str, column: Any) -> Any:
    """The untranslated column reader of one segment, or None (another codec, no such column)."""
    perdoc = getattr(leaf, "_perdoc", None)
    if perdoc is None or not perdoc.has_column(name):
        return None
    found = perdoc.column_reader(name, column or leaf.schema[name].column_type)
    ok = all(hasattr(found, a) for a in ("_dbfile", "_basepos"))
    return found if ok else None


_W3_INTERNALS = ("_atend", "_data", "_read_data", "_byteids", "_next_block")


def _blocks(matcher: Any) -> Iterable[tuple[Sequence[int], Sequence[float]]]:
    # whoosh's file matcher decodes a block of ids and weights at once; reading them through
    # its per-posting API costs ten times more. Anything else (inlined postings of rare terms,
    # another codec) goes through the public API.
    m = matcher
    if type(m) is W3LeafMatcher and all(hasattr(m, a) for a in _W3_INTERNALS):
        while not m._atend:
            if m._data is None:
                m._read_data()
            ids, weights = m._data[0], m._data[1]
            if not m._byteids:
                ids = list(accumulate(ids))  # stored as deltas; whoosh decodes them with a generator
            if weights is None or isinstance(weights, float):
                weights = [1.0 if weights is None else weights] * len(ids)
            yield ids, weights
            m._next_block()
        return
    all_ids: list[int] = []
    all_weights: list[float] = []
    while m.is_active():
        all_ids.append(m.id())
        all_weights.append(m.weight())
        m.next()
    yield all_ids, all_weights
