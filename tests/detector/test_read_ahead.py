"""Frames decoded on a thread arrive in order; errors arrive where they happened; an early stop ends the reader."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from detector.read_ahead import read_ahead


def test_items_arrive_in_order_and_the_reader_stays_a_bounded_distance_ahead() -> None:
    produced: list[int] = []

    def numbers() -> Iterator[int]:
        for i in range(50):
            produced.append(i)
            yield i

    seen = []
    for item in read_ahead(numbers(), depth=3):
        seen.append(item)
        assert len(produced) - len(seen) <= 3 + 1  # the queue plus the item being handed over
    assert seen == list(range(50))


def test_an_error_of_the_reader_is_raised_after_the_items_before_it() -> None:
    def failing() -> Iterator[int]:
        yield 1
        yield 2
        raise ValueError("truncated")

    seen = []
    with pytest.raises(ValueError, match="truncated"):
        for item in read_ahead(failing()):
            seen.append(item)
    assert seen == [1, 2]


def test_stopping_early_closes_the_source_and_ends_the_thread() -> None:
    closed = threading.Event()

    def endless() -> Iterator[int]:
        try:
            i = 0
            while True:
                yield i
                i += 1
        finally:
            closed.set()

    before = threading.active_count()
    reader = read_ahead(endless(), depth=2)
    assert [next(reader) for _ in range(5)] == [0, 1, 2, 3, 4]
    reader.close()
    assert closed.is_set()
    assert threading.active_count() == before
