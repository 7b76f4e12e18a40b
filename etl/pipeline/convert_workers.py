"""Convert on every core: a feed's chunks converted by worker processes, merged back in order.

The feed's format plans the chunks (``Feed.chunking``, ``etl/extract/base.py``); workers extract,
map, check and hash the records of one chunk each; this process merges the results in file
order and is the one place that sees the whole feed: it renumbers records, judges what a chunk
cannot judge alone (duplicate keys), and reads again, here, a chunk whose guessed start proved
wrong. So the outcomes are those of one pass, in the same order, byte for byte.

Workers are forked once per feed, after the mapping was compiled, so none parses YAML or
generates code; each returns whole chunks, and at most ``2 × workers`` chunks are in flight, so
memory stays flat in the feed's size. A worker that dies is an error naming its chunk, never a
gap; Ctrl-C cancels what is queued, lets running chunks end (a fraction of a second) and stops.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from etl.errors import SourceUnreadable
from etl.extract.base import Chunk, ChunkEnd, Chunking
from etl.mapping import FeedContext
from etl.model.check import prepare as prepare_schema_check
from etl.issues import Issue, Severity
from etl.outcome import ListingKey, Outcome
from etl.records import FeedFacts, RecordError, SourceLocation

# About 450 listings of a full Poliris row: big enough that a chunk's fixed costs (a task, its
# pickled results) vanish, small enough that the last chunks do not leave a core idle for long.
CHUNK_BYTES = 1 << 20
# Below this many chunks (8 MiB with 1 MiB chunks, ~3,600 listings of a full row), one process:
# forking, the pool and merging cost more than a second core saves. Measured (2-core VM, generated
# feeds, convert_feed timed in a fresh process, --workers 1 and 2 alternated, best of 3): load ~3,
# 2 workers / 1 process = 1.79 at 0.45 MiB, 1.66 at 1.1, 1.67 at 2.2, 1.33 at 4.5 and 0.80 at
# 11.2 MiB, so the crossing is near 8.5 MiB; load 5-9 (another agent's busy loop on one core),
# 1.45 at 2.2 MiB, 1.34 at 4.5, 1.37 at 6.7, 1.24 at 8.9, 1.22 at 13.4 and 1.19 at 17.9 MiB (two
# workers never won there, the second core being taken). The former 4 MiB lost at 4.5 MiB in both.
MIN_CHUNKS = 8


def usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


class WorkerDied(SourceUnreadable):
    """A worker process ended without returning its chunk (killed, out of memory): exit 4."""


# (packed outcome, what the format needs judged, the record's dialect), or for another agency's
# record (None, what to judge, its location)
Item = tuple[tuple[Any, ...] | None, Any, Any]


def pack(o: Outcome) -> tuple[Any, ...]:
    """An outcome as plain tuples, strings and bytes: pickled and unpickled in C, where the
    dataclasses' own pickling (Python-level, per object) cost more than converting the record."""
    loc, key = o.location, o.key
    issues = tuple((i.code, i.message, i.severity is Severity.ERROR, i.source_field, i.aviv_path, i.value, i.portal)
                   for i in o.issues) if o.issues else ()
    return (loc.file, loc.line, loc.record, loc.xpath, key and tuple(key), o.reference, o.accepted, o.body,
            o.body_hash, o.requested_portals, o.portals, issues, o.payload)


def unpack(t: tuple[Any, ...]) -> Outcome:
    file, line, record, xpath, key, reference, accepted, body, body_hash, requested, portals, issues, payload = t
    return Outcome(SourceLocation(file, line, record, xpath), ListingKey(*key) if key else None, reference, accepted,
                   body, body_hash, requested, portals,
                   [Issue(c, m, ERROR if e else WARNING, f, a, v, p) for c, m, e, f, a, v, p in issues] if issues else [],
                   payload)


@dataclass(slots=True)
class Work:
    """What every worker needs, handed over once by fork (never pickled, never rebuilt)."""

    chunking: Chunking
    convert: Callable[..., Outcome]  # Converter.convert
    rejected: Callable[[RecordError], Outcome]
    base: FeedContext
    only_agency: str | None
    keep_bodies: bool  # the loader sends them; a report only shows those of listings with issues
    dialect: str | None


_work: Work | None = None
ERROR, WARNING = Severity.ERROR, Severity.WARNING


def _start_worker(work: Work) -> None:
    global _work
    _work = work
    # Ctrl-C reaches the whole process group: the conductor alone decides how to stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # blocked by the conductor while forking


def convert_chunk(chunk: Chunk) -> tuple[list[Item], int, ChunkEnd]:
    """One chunk's outcomes, in order, with the claims to judge and how many were another agency's."""
    work = _work
    assert work is not None
    reading = work.chunking.read(chunk)
    claim, only, keep, base = reading.claim, work.only_agency, work.keep_bodies, work.base
    convert, rejected = work.convert, work.rejected
    items: list[Item] = []
    other = 0
    for item in reading:
        if only is not None and item.agency_id is not None and item.agency_id != only:
            other += 1
            mine = claim(item)
            if mine is not None:  # judged all the same: a whole pass sees every agency's keys
                items.append((None, mine, item.location))
            continue
        if isinstance(item, RecordError):
            items.append((pack(rejected(item)), claim(item), None))
            continue
        outcome = convert(item, base)
        if not keep and not outcome.issues:
            outcome.body = None  # the payload is what is written; pickling the dict too costs
        items.append((pack(outcome), claim(item), item.format_version or work.dialect))
    assert reading.end is not None
    return items, other, reading.end


def convert_chunks(work: Work, stats: FeedFacts, *, workers: int,
                   progress: Callable[[int, int, int], None] | None = None) -> Iterator[Outcome]:
    """Stream the outcomes of ``work.chunking`` in file order; ``stats`` as ``convert_feed`` fills them."""
    chunking = work.chunking
    global _work
    context = multiprocessing.get_context("fork")  # the compiled mapping is inherited, not rebuilt
    _work = work  # this process reads a chunk again itself when a guess was wrong
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker, initargs=(work,))
    plan = chunking.chunks()
    window: deque[tuple[Chunk, Future[tuple[list[Item], int, ChunkEnd]]]] = deque()

    def fill() -> None:
        while len(window) < 2 * workers:
            chunk = next(plan, None)
            if chunk is None:
                return
            try:
                window.append((chunk, pool.submit(convert_chunk, chunk)))
            except BrokenProcessPool:
                raise _died(stats, window[0][0] if window else chunk) from None

    before: ChunkEnd | None = None
    records = 0  # records of the chunks merged, for their numbers
    try:
        # The schema validator is built here, once, rather than by every worker after the fork
        # (~0.1-0.2 s of CPU each): forked, its memory is shared like the compiled mapping's.
        prepare_schema_check()
        # Objects alive now (the compiled mapping, modules) are never collected in the workers:
        # frozen, the collector leaves their pages alone and they stay shared with this process.
        # Ctrl-C is held while forking: raised inside fork's own handlers it would be lost.
        gc.freeze()
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            fill()  # forks every worker at the first task
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
            gc.unfreeze()
        while window:
            chunk, future = window.popleft()
            if before is not None and before.at_end:
                future.cancel()  # a record joined lines up to the end of the file: nothing is left
                continue
            try:
                result = future.result()
            except BrokenProcessPool:
                raise _died(stats, chunk) from None
            fill()
            if before is not None and (again := chunking.follows(before, chunk)) is not None:
                result = convert_chunk(again)  # the guess was wrong: read it again from the true start
            items, other, end = result
            stats.other_agencies += other
            judge = chunking.judge
            for packed, claim, dialect in items:
                if packed is None:
                    judge(claim, dialect)
                    continue
                outcome = unpack(packed)
                outcome.location.record += records
                if claim is not None and (error := judge(claim, outcome.location)) is not None:
                    outcome, dialect = work.rejected(error), None
                stats.records += 1
                if dialect is not None and stats.dialect is None:
                    stats.dialect = dialect
                yield outcome
            records += end.facts.records
            chunking.merge(end)
            before = end
            if progress is not None:
                progress(stats.records, end.stop, chunking.size)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        chunking.close()
        _work = None  # a long-lived process (a queue worker) must not keep the last feed's mapping


def _died(stats: FeedFacts, chunk: Chunk) -> WorkerDied:
    return WorkerDied(
        f"{stats.source} : le processus qui convertissait le morceau {chunk.index + 1} du flux "
        f"(à partir de la ligne {chunk.line + 1}) s'est arrêté sans rendre son travail (tué, ou "
        "mémoire épuisée ?) ; la conversion est interrompue et rien n'a été écrit. Relancez-la "
        "(--workers 1 pour un seul processus).")

