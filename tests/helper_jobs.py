"""Jobs for the generic helper process in tests: top-level functions (sent by name) in a module
that imports only the standard library, so what a helper has imported is the helper's own doing."""

from __future__ import annotations

import os
import sys
import threading


def squares(n: int):
    for i in range(n):
        yield i * i


def fails_after(n: int):
    yield from range(n)
    raise ValueError(f"stopped after {n}")


class Unpicklable(Exception):
    def __init__(self, lock):
        super().__init__("holds a lock")
        self.lock = lock


def fails_unpicklably():
    yield 1
    raise Unpicklable(threading.Lock())


def modules_loaded(names: tuple[str, ...]):
    yield {name: name in sys.modules for name in names}


def pid():
    yield os.getpid()


def exits(code: int):
    yield from ()
    os._exit(code)
