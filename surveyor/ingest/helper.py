"""A second process that runs work for this one, handing back what it makes item by item.

A job is a picklable top-level function and its arguments; the function returns an iterable (a
generator, typically) and each item it yields is sent back as soon as it is made, so this process
consumes items while the helper makes the next ones. The merge uses it to read and prepare large
files while it writes (:mod:`surveyor.ingest.large_files`), so a large import uses both cores of a
laptop.

The helper is started before it is needed, with the modules its jobs will import named by the
caller (``warm``), so its start-up, mostly importing pandas and pyarrow, overlaps the calling
process's own. It never outlives its caller: it exits when the caller dies, even by kill -9.

This module imports only the standard library: importing it costs nothing.
"""

from __future__ import annotations

import os
import pickle
import queue as queue_module
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from multiprocessing.process import BaseProcess
    from multiprocessing.queues import Queue

# Numerical libraries in the helper get one thread each: the calling process needs the other core.
# Arrow's thread pool follows OMP_NUM_THREADS too (its CSV reader would otherwise take both cores).
_ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


class HelperFailed(RuntimeError):
    """A job raised an exception that cannot be handed over between processes; the message says
    which and why."""


class Helper:
    """The helper process, started on first use (or early with :meth:`start`), reused for every job,
    and stopped with :meth:`stop`.

    Parameters
    ----------
    warm
        Modules the helper imports as soon as it starts, before any job arrives (those its jobs'
        functions live in).
    """

    def __init__(self, warm: Iterable[str] = ()) -> None:
        self.warm = tuple(warm)
        self._process: BaseProcess | None = None
        self._jobs: Queue | None = None
        self._results: Queue | None = None
        self._leaving: list = []  # released helpers, exiting on their own
        self.jobs_run = 0

    def start(self) -> None:
        if self._process is not None and self._process.is_alive():
            return
        import multiprocessing as mp

        context = mp.get_context("spawn")  # no fork: this process may hold threads and open databases
        self._jobs = context.Queue()
        self._results = context.Queue(maxsize=2)
        self._process = context.Process(target=_serve, args=(self._jobs, self._results, os.getpid(), self.warm),
                                        daemon=True)
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
        """Tell the helper no more jobs are coming: it exits while this process goes on (a later
        job would start a new one). :meth:`stop` still waits for it."""
        process, self._process = self._process, None
        if process is not None:
            if process.is_alive() and self._jobs is not None:  # (the queues come with the process)
                self._jobs.put(None)
            self._leaving.append(process)

    def stop(self, wait: bool = True) -> None:
        """End the helper: asked to finish (``wait``), or at once, when it is mid-job for work that
        was interrupted (Ctrl-C) or failed."""
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

    def run(self, function: Callable[..., Iterable[Any]], args: tuple,
            died: Callable[[int | None], Exception]) -> Iterator[Any]:
        """The items ``function(*args)`` yields in the helper, as they come.

        ``function`` must be a top-level function (it is sent by name) and ``args`` picklable. An
        exception it raises is raised here (:class:`HelperFailed` when it cannot be sent);
        ``died(exit_code)`` is the error raised if the helper dies on the way. Leaving early (an
        error while consuming) stops the helper, which would otherwise go on making items for
        nobody; the next job starts a new one.
        """
        self.start()
        process, jobs, results = self._process, self._jobs, self._results
        if process is None or jobs is None or results is None:  # pragma: no cover - start() sets them
            raise HelperFailed("the helper process did not start")
        jobs.put((function, args))
        self.jobs_run += 1
        finished = False
        try:
            while True:
                try:
                    kind, item = results.get(timeout=1.0)
                except queue_module.Empty:
                    if process.is_alive():
                        continue
                    finished = True
                    code = process.exitcode
                    self.stop()
                    raise died(code) from None
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


def _sendable(exc: BaseException) -> BaseException:
    """The exception itself when it survives pickling, else a :class:`HelperFailed` describing it."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:  # any failure to pickle or rebuild it
        return HelperFailed(f"{type(exc).__name__}: {exc}")
    return exc


def _serve(jobs, results, parent_pid: int, warm: tuple[str, ...]) -> None:
    """The helper's loop: run each job, handing over what it yields, until told to stop."""
    import importlib

    for name in warm:  # done while the calling process starts up
        importlib.import_module(name)

    def send(item) -> None:
        # Waits while the calling process is busy, but gives up if it died (kill -9, power cut of a
        # laptop that came back): a helper never outlives its caller.
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
        function, args = job
        try:
            for item in function(*args):
                send(("item", item))
            send(("done", None))
        except BaseException as exc:  # handed to the calling process, which reports it
            send(("error", _sendable(exc)))
