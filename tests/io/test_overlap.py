"""The overlap helpers change where work runs, never what it computes or which error surfaces."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from burnish.io.overlap import OrderedWorker, prefetch, run_beside


def started_since(before: set[threading.Thread], prefix: str) -> list[threading.Thread]:
    """Threads named ``prefix``... started since ``before`` and still alive (threads of other
    tests, ending or leaked, don't count)."""
    return [t for t in threading.enumerate()
            if t not in before and t.name.startswith(prefix) and t.is_alive()]


def test_prefetch_keeps_order_and_items() -> None:
    assert list(prefetch(iter(range(1000)), depth=3)) == list(range(1000))


def test_prefetch_reraises_the_producers_error_in_place() -> None:
    def items() -> Iterator[int]:
        yield 1
        yield 2
        raise ValueError("damaged near frame 3")

    got = []
    with pytest.raises(ValueError, match="damaged near frame 3"):
        for x in prefetch(items()):
            got.append(x)
    assert got == [1, 2]


def test_prefetch_closed_early_stops_the_producer() -> None:
    produced = []

    def items() -> Iterator[int]:
        for i in range(10_000):
            produced.append(i)
            yield i

    before = set(threading.enumerate())
    it = prefetch(items(), depth=2)
    assert next(it) == 0
    it.close()  # type: ignore[attr-defined]
    n = len(produced)
    assert n < 10  # at most the queue's depth ran ahead
    assert not started_since(before, "burnish-prefetch")


def test_ordered_worker_runs_jobs_in_order() -> None:
    seen: list[int] = []
    with OrderedWorker() as worker:
        for i in range(500):
            worker.submit(seen.append, i)
    assert seen == list(range(500))


def test_ordered_worker_surfaces_a_jobs_error() -> None:
    def boom(_: int) -> None:
        raise OSError("disk full")

    before = set(threading.enumerate())
    with pytest.raises(OSError, match="disk full"), OrderedWorker() as worker:
        worker.submit(boom, 1)
        worker.submit(boom, 2)  # waits for the first job, which failed
    assert not started_since(before, "burnish-worker")


def test_run_beside_returns_the_result_or_the_error() -> None:
    before = set(threading.enumerate())
    assert run_beside(lambda: 41 + 1)() == 42
    assert not started_since(before, "burnish-beside")  # the helper is gone with its result

    def fail() -> int:
        raise RuntimeError("meter failed")

    with pytest.raises(RuntimeError, match="meter failed"):
        run_beside(fail)()


def test_one_core_mode_runs_inline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BURNISH_THREADS", "1")
    main = threading.current_thread()
    where: list[threading.Thread] = []
    with OrderedWorker() as worker:
        worker.submit(lambda: where.append(threading.current_thread()))
    assert where == [main]
    assert list(prefetch(iter([1, 2, 3]))) == [1, 2, 3]
