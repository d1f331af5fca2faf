"""A second process that reads and prepares large files while the merging process writes.

A large import then uses both cores of a laptop: one process parses, validates and converts
batches, the other writes them. The helper is started before the merge needs it (``surveyor
merge`` starts it first thing, when a source is large), so its start-up, mostly importing pandas
and pyarrow, overlaps the merging process's own.

This module imports only the standard library: importing it costs nothing.
"""

from __future__ import annotations

import os
import queue as queue_module
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

# Files at least this large are prepared in the helper; smaller ones are not worth the hand-over.
PARALLEL_MIN_BYTES = 32 * 1024 * 1024


def wanted(path: Path) -> bool:
    """Whether a file is large enough to be prepared in the helper."""
    if os.environ.get("SURVEYOR_NO_WORKER"):
        return False
    try:
        return path.stat().st_size >= PARALLEL_MIN_BYTES
    except OSError:
        return False


def any_large(sources: Iterable[str]) -> bool:
    """Whether any source (file, or file in a folder) is large enough for the helper."""
    for src in sources:
        p = Path(src)
        if p.is_dir():
            if any(wanted(f) for f in p.rglob("*") if f.is_file()):
                return True
        elif src != "-" and wanted(p):
            return True
    return False


_ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


class Helper:
    """The helper process, started on first use (or early with :meth:`start`), reused for every
    large file of a merge, and stopped with :meth:`stop`."""

    def __init__(self) -> None:
        self._process = None
        self._jobs = None
        self._results = None
        self._leaving: list = []  # released helpers, exiting on their own
        self.jobs_run = 0

    @classmethod
    def prestarted(cls, sources: Iterable[str]) -> "Helper":
        helper = cls()
        if any_large(sources):
            helper.start()
        return helper

    def start(self) -> None:
        if self._process is not None and self._process.is_alive():
            return
        import multiprocessing as mp

        context = mp.get_context("spawn")  # no fork: this process may hold threads and open databases
        self._jobs = context.Queue()
        self._results = context.Queue(maxsize=2)
        self._process = context.Process(target=_serve, args=(self._jobs, self._results, os.getpid()), daemon=True)
        # One thread for the helper's numerical libraries: the merging process needs the other core.
        saved = {k: os.environ.get(k) for k in _ONE_THREAD}
        os.environ.update(_ONE_THREAD)
        try:
            self._process.start()
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

    def release(self) -> None:
        """Tell the helper no more jobs are coming: it exits while this process finishes the merge
        (a later job would start a new one). :meth:`stop` still waits for it."""
        process, self._process = self._process, None
        if process is not None:
            if process.is_alive():
                self._jobs.put(None)
            self._leaving.append(process)

    def stop(self, wait: bool = True) -> None:
        """End the helper: asked to finish (``wait``), or at once, when it is mid-job for a merge
        that was interrupted (Ctrl-C) or failed."""
        if self._process is not None and wait:
            self.release()
        process, self._process = self._process, None
        leaving = self._leaving + ([process] if process is not None else [])
        self._leaving = []
        for p in leaving:
            if wait and p.is_alive():
                p.join(timeout=5)
            if p.is_alive():
                p.terminate()
            p.join()

    def run(self, job: tuple, describe: Callable[[int | None], Exception]) -> Iterator[Any]:
        """The items the helper makes of one job; ``describe(exit_code)`` is the error to raise if
        the helper dies on the way. Leaving early (an error while storing) stops the helper, which
        would otherwise go on making items for nobody; the next job starts a new one."""
        self.start()
        self._jobs.put(job)
        self.jobs_run += 1
        finished = False
        try:
            while True:
                try:
                    kind, item = self._results.get(timeout=1.0)
                except queue_module.Empty:
                    if self._process.is_alive():
                        continue
                    finished = True
                    code = self._process.exitcode
                    self.stop()
                    raise describe(code) from None
                if kind == "done":
                    finished = True
                    return
                if kind == "error":
                    finished = True
                    raise item
                yield item
        finally:
            if not finished:
                self.stop(wait=False)


def _serve(jobs, results, parent_pid: int) -> None:
    """The helper's loop: prepare each job's batches and hand them over, until told to stop."""
    import pyarrow

    from surveyor.ingest import merge  # the heavy imports, done while the merging process starts up

    # Arrow's CSV parser would take both cores; the merging process is writing on one of them.
    pyarrow.set_cpu_count(1)

    def send(item) -> None:
        # Waits while the merging process is busy writing, but gives up if it died (kill -9, power
        # cut of a laptop that came back): a helper never outlives its merge.
        while True:
            try:
                results.put(item, timeout=1.0)
                return
            except queue_module.Full:
                if os.getppid() != parent_pid:
                    os._exit(1)

    while True:
        try:
            job = jobs.get(timeout=1.0)
        except queue_module.Empty:
            if os.getppid() != parent_pid:
                os._exit(1)
            continue
        if job is None:
            return
        merge.produce(*job, send)
