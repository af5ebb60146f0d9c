"""Fewer garbage collections while a batch runs (Python's cyclic collector, ``gc``).

A batch keeps hundreds of prompts in flight, each holding ~160 container objects
(coroutines, messages, requests, aiohttp's request and response) for the whole round
trip, and keeps every result it returns (~35 objects a prompt). Python collects the
young generation each time the objects alive have grown by the first threshold (700
by default), and each collection scans every young object: all the prompts in flight,
again and again, and the results made since the last one. In a batch that finds
nothing to free (measured: no collection during ``benchmarks/batch_throughput.py``
frees a single object; a prompt answered leaves no reference cycle behind while its
result is kept), so:

- the threshold is raised for as long as a batch runs, to `batch_threshold`: at least
  50,000 (at the default it cost 1.3 to 2.9 s of that benchmark's 5,000 prompts, more
  than the HTTP requests themselves), plus 400 per prompt the batch keeps in flight and 64
  per prompt it will keep answered (its messages and key, then its result: ~45 objects),
  so that a batch of up to a few thousand prompts grows by less than the threshold and is
  never collected while it runs. A collection does not only cost its own time: it stops
  the event loop, and every reply that arrives meanwhile waits. With 200,000 (in flight
  alone) that benchmark's batch was collected twice, 55 to 100 ms each, and took 2.02 s;
  with its 5,000 prompts counted too, none, 1.82 s. Capped at a million: the garbage a
  collection may wait for is bounded (a larger batch is collected every million objects
  it keeps; the young objects left when it ends are scanned once after it, as with any
  threshold);
- `LLMClient.process_prompts_sync` raises it from the start, as making each prompt's
  messages and results-file key allocates as much again;
- when it ends, what the batch left young (its results, which the caller now holds) is
  moved to the oldest generation without a scan (`promote_young`: ``gc.freeze()`` then
  ``gc.unfreeze()``, two list splices) rather than scanned by the young collection that the
  restored threshold starts at the next allocation: that scan finds the results alive and
  frees nothing, and took 115 to 150 ms at the end of the benchmark's batch (about 7% of
  its wall time), before the caller had them. The next full collection scans them; so that
  garbage moved unscanned (results the caller drops later: a response and its conversation
  refer to each other) cannot pile up over many batches, a full collection runs at the end
  of the batch that brings what was moved so past a million objects.

The threshold is restored when the last running batch ends. A threshold of 0 (collection
disabled) or one already higher is left alone, and so is a threshold that someone else
changed meanwhile; nothing is moved while someone else holds objects frozen (``gc.freeze``:
a pre-forking server's), which ``gc.unfreeze`` would release.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

#: The least growth between two young collections during a batch (Python's default: 700).
BATCH_THRESHOLD = 50_000
#: Growth allowed per prompt in flight: a few times what one holds (see the docstring).
PER_PROMPT_IN_FLIGHT = 400
#: Growth allowed per prompt of the batch: what an answered one keeps, with room to spare.
PER_PROMPT_KEPT = 64
#: The most: the garbage of a batch waits for at most this many objects' growth.
MAX_BATCH_THRESHOLD = 1_000_000

#: Objects moved to the oldest generation unscanned since the last full collection run here.
MAX_UNSCANNED = 1_000_000

# Reentrant: a full collection (`promote_young`) runs finalizers, and one may start a batch.
_lock = threading.RLock()
_running = 0
_unscanned = 0
_full_collections = 0
_saved: tuple[int, int, int] | None = None
_raised_to = 0


def batch_threshold(concurrency: int, prompts: int = 0) -> int:
    """The first threshold while a batch of ``prompts`` prompts, ``concurrency`` at once,
    runs."""
    grows = PER_PROMPT_IN_FLIGHT * concurrency + PER_PROMPT_KEPT * prompts
    return min(max(BATCH_THRESHOLD, grows), MAX_BATCH_THRESHOLD)


@contextmanager
def fewer_collections(concurrency: int = 0, prompts: int = 0) -> Iterator[None]:
    """Raise the collector's first threshold for the duration (nests and overlaps safely;
    the first batch to start sets it)."""
    global _running, _saved, _raised_to
    with _lock:
        if _running == 0:
            first, second, third = gc.get_threshold()
            threshold = batch_threshold(concurrency, prompts)
            _saved = None
            if 0 < first < threshold:
                _saved, _raised_to = (first, second, third), threshold
                gc.set_threshold(threshold, second, third)
        _running += 1
    try:
        yield
    finally:
        with _lock:
            _running -= 1
            if _running == 0 and _saved is not None:
                saved, raised_to, _saved = _saved, _raised_to, None
                if gc.get_threshold()[0] == raised_to:
                    promote_young()
                    gc.set_threshold(*saved)


def promote_young() -> None:
    """Move every young object to the oldest generation without scanning it (see the module
    docstring), or run a full collection once a million have been moved so."""
    global _unscanned, _full_collections
    if not gc.isenabled() or gc.get_freeze_count():
        return
    full_collections = gc.get_stats()[-1]["collections"]
    if full_collections != _full_collections:  # Python ran one itself: all were scanned
        _unscanned, _full_collections = 0, full_collections
    young = gc.get_count()[0]
    if _unscanned + young > MAX_UNSCANNED:
        _unscanned = 0
        gc.collect()
        return
    _unscanned += young
    gc.freeze()
    gc.unfreeze()
