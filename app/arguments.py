"""Command-line values checked where they are parsed, and argparse's errors on one line."""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from typing import NoReturn

from reid_core.errors import EXIT_BAD_INPUT


class OneLineParser(argparse.ArgumentParser):
    """argparse with the app's error format: ``error: <value>: <problem>`` on one line, exit 2."""

    def error(self, message: str) -> NoReturn:
        print(f"error: {message}", file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)


def _bounded_int(low: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r}: not a whole number") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"{value}: must be at least {low}")
        return value

    return parse


positive_int = _bounded_int(1)
count_int = _bounded_int(0)


def finite_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text}: must be a finite number")
    return value


def similarity(text: str) -> float:
    """A cosine similarity threshold: a number in [-1, 1]."""
    value = finite_float(text)
    if not -1.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{value}: a cosine similarity must be between -1 and 1")
    return value


def seconds_value(text: str) -> float:
    """A duration in seconds: a finite number, zero or more."""
    value = finite_float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value}: must be zero or more seconds")
    return value
