"""Decode video frames on a thread beside inference.

OpenCV's decoder and the detector's runtime both release the GIL, so a reader thread that
stays a few frames ahead overlaps decoding with detection. The queue is bounded (memory stays
a few frames), an error in the reader (a truncated video) is raised in the consumer where the
frame would have come, and closing the consumer early stops the reader.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")
DEPTH = 4
_DONE = object()


def read_ahead(items: Iterator[T], depth: int = DEPTH) -> Iterator[T]:
    """Yield what ``items`` yields, in order, computed up to ``depth`` items ahead on a thread."""
    ready: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def reader() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(_DONE)
        except BaseException as exc:  # handed to the consumer, raised there
            put(exc)
        finally:
            close = getattr(items, "close", None)
            if close is not None and stop.is_set():
                close()  # releases the capture of a generator left half-read

    thread = threading.Thread(target=reader, name="read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            item = ready.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()
