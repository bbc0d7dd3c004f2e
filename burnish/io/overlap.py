"""Overlapping I/O and computation on a second core, without changing a single output bit.

Decoding (libsndfile, PyAV), encoding and most numeric kernels release the GIL, so a reader
that decodes the next block while the caller processes this one, or a worker that meters and
writes block *n* while the caller computes block *n + 1*, uses two cores from one process.
Each worker runs its jobs strictly in order, so everything it touches sees the same sequence
of calls as in a plain loop: results are identical, only the wall time changes. Memory stays
bounded: at most ``depth`` blocks wait in a queue.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

_DONE = object()


def parallel_ok() -> bool:
    """True when a second core is there to use (set BURNISH_THREADS=1 to keep one)."""
    if os.environ.get("BURNISH_THREADS", "") == "1":
        return False
    return (os.cpu_count() or 1) > 1


def prefetch(items: Iterable[T], *, depth: int = 2) -> Iterator[T]:
    """Iterate ``items`` with the next ``depth`` of them produced ahead on a helper thread.

    Exceptions raised while producing an item are re-raised where that item would have been
    yielded; closing the iterator early stops the producer.
    """
    if not parallel_ok():
        yield from items
        return
    q: queue.Queue[Any] = queue.Queue(maxsize=max(1, depth))
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        q.put(("item", item), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(("done", _DONE))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            q.put(("error", exc))

    thread = threading.Thread(target=produce, name="burnish-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = q.get()
            if kind == "item":
                yield value
            elif kind == "error":
                raise value
            else:
                return
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full queue
            try:
                q.get_nowait()
            except queue.Empty:
                pass
            thread.join(timeout=0.05)


class OrderedWorker:
    """Runs submitted jobs one after another on a helper thread (or inline with one core).

    ``submit`` first waits for the previous job, so one job runs beside the caller and memory
    stays bounded; ``finish`` waits for the last and re-raises any error.
    """

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="burnish-worker") \
            if parallel_ok() else None
        self._pending: Future[Any] | None = None

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        if self._pool is None:
            fn(*args)
            return
        if self._pending is not None:
            self._pending.result()
        self._pending = self._pool.submit(fn, *args)

    def finish(self) -> None:
        try:
            if self._pending is not None:
                self._pending.result()
        finally:
            self._pending = None
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None

    def __enter__(self) -> OrderedWorker:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.finish()
            return
        try:
            self.finish()
        except BaseException:  # noqa: BLE001 - the first error is the one being raised
            pass


def run_beside(fn: Callable[[], T]) -> Callable[[], T]:
    """Start ``fn`` on a helper thread now; the returned callable waits for its result."""
    if not parallel_ok():
        result = fn()
        return lambda: result
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="burnish-beside")
    future = pool.submit(fn)

    def wait() -> T:
        try:
            return future.result()
        finally:
            # the thread is gone once the result is in: a later fork (delivery's workers)
            # sees a single-threaded process
            pool.shutdown(wait=True)

    return wait
