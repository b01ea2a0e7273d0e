"""Where replications run: in this process, on a local process pool, or on a Dask cluster.

Executors are interchangeable context managers with one method, ``run(tasks)``, which yields each
task's outcome as it completes. Results do not depend on the executor: a replication's random streams
are fixed by its index. A replication that fails is retried once; if it fails again the outcome says
so, and the caller reports it (nothing is dropped in silence).
"""

from __future__ import annotations

import multiprocessing
import os
import re
import sys
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from sim.experiment.errors import ExperimentError, ScenarioFailed
from sim.experiment.replicate import RepResult, Task, run_replication

ATTEMPTS = 2
#: A Dask scheduler's address: protocol, host and port.
ADDRESS = re.compile(r"(tcp|tls|ws|wss)://(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.\-]+):[0-9]{1,5}")


@dataclass
class Outcome:
    """A task's result, or the error of its last attempt; ``fatal`` when its scenario cannot be run at all
    (no attempt will do better, and the experiment stops)."""

    task: Task
    result: RepResult | None
    error: str | None
    attempts: int
    fatal: bool = False


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


class Executor:
    """Base: a context manager that runs tasks and yields outcomes as they complete."""

    name = "executor"
    workers = 1

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        return None

    def run(self, tasks: Iterable[Task]) -> Iterator[Outcome]:
        raise NotImplementedError


class Sequential(Executor):
    """Every replication in this process, one after another (the reference for speed-ups)."""

    name = "sequential"

    def run(self, tasks: Iterable[Task]) -> Iterator[Outcome]:
        for task in tasks:
            error = None
            for attempt in range(1, ATTEMPTS + 1):
                try:
                    result = run_replication(task)
                except ScenarioFailed as exc:
                    yield Outcome(task, None, str(exc), attempt, fatal=True)
                    break
                except Exception as exc:  # reported, never raised past the harness
                    error = _describe(exc)
                else:
                    yield Outcome(task, result, None, attempt)
                    break
            else:
                yield Outcome(task, None, error, ATTEMPTS)


class LocalPool(Executor):
    """A pool of worker processes on this machine, one per core by default.

    On Linux the workers are forked when the pool opens, before the caller starts any threads (a
    progress bar's), so they start at once with the library already imported; elsewhere they are
    spawned. A process that already runs threads (the console) asks for ``forkserver``.
    """

    name = "local pool"

    def __init__(self, workers: int | None = None, method: str | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1
        if self.workers < 1:
            raise ExperimentError(f"--workers must be at least 1, found {self.workers}")
        self.method = method or ("fork" if sys.platform == "linux" else "spawn")
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> LocalPool:
        self._open()
        return self

    def _open(self) -> ProcessPoolExecutor:
        if self._pool is None:
            context = multiprocessing.get_context(self.method)
            if self.method == "forkserver":
                context.set_forkserver_preload(["sim.experiment.replicate"])
            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=context)
            for future in [self._pool.submit(os.getpid) for _ in range(self.workers)]:
                future.result()
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    def run(self, tasks: Iterable[Task]) -> Iterator[Outcome]:
        pool = self._open()
        pending: dict[Future[RepResult], tuple[Task, int]] = {}
        queue = list(tasks)
        queue.reverse()
        limit = self.workers * 2  # keep the pool busy without holding every task's future at once
        while queue or pending:
            while queue and len(pending) < limit:
                task = queue.pop()
                pending[pool.submit(run_replication, task)] = (task, 1)
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            broken: str | None = None
            for future in done:
                task, attempt = pending.pop(future)
                try:
                    yield Outcome(task, future.result(), None, attempt)
                    continue
                except BrokenProcessPool as exc:
                    broken = _describe(exc)
                    pending[future] = (task, attempt)
                    break
                except ScenarioFailed as exc:
                    yield Outcome(task, None, str(exc), attempt, fatal=True)
                    continue
                except Exception as exc:
                    error = _describe(exc)
                if attempt < ATTEMPTS:
                    pending[pool.submit(run_replication, task)] = (task, attempt + 1)
                else:
                    yield Outcome(task, None, error, attempt)
            if broken is not None:
                # a worker died (killed, out of memory): everything in flight is lost; start again once
                lost = list(pending.values())
                pending.clear()
                self.close()
                pool = self._open()
                for task, attempt in lost:
                    if attempt < ATTEMPTS:
                        pending[pool.submit(run_replication, task)] = (task, attempt + 1)
                    else:
                        yield Outcome(task, None, broken, attempt)


class DaskCluster(Executor):
    """Replications sent to an existing Dask distributed scheduler (the ``cluster`` extra)."""

    name = "dask"

    def __init__(self, address: str) -> None:
        try:
            from distributed import Client
        except ImportError:
            raise ExperimentError("--cluster needs the cluster extra: pip install 'microgov[cluster]'") from None
        if not ADDRESS.fullmatch(address.strip()):
            raise ExperimentError(
                f"--cluster {address!r}: expected a scheduler address such as tcp://host:8786 (tcp, tls, ws or wss)"
            )
        try:
            self.client: Any = Client(address.strip(), timeout="10s")
        except (OSError, TimeoutError, ValueError, TypeError) as exc:
            raise ExperimentError(f"cannot reach the Dask scheduler at {address} ({exc})") from None
        self.workers = max(1, len(self.client.scheduler_info().get("workers", {})))

    def close(self) -> None:
        self.client.close()

    def run(self, tasks: Iterable[Task]) -> Iterator[Outcome]:
        from distributed import as_completed

        attempts: dict[str, tuple[Task, int]] = {}
        futures = []
        for task in tasks:
            future = self.client.submit(run_replication, task, pure=False)
            attempts[future.key] = (task, 1)
            futures.append(future)
        running = as_completed(futures)
        for future in running:
            task, attempt = attempts.pop(future.key)
            if future.status == "finished":
                yield Outcome(task, future.result(), None, attempt)
                continue
            failure = future.exception()
            if isinstance(failure, ScenarioFailed):
                yield Outcome(task, None, str(failure), attempt, fatal=True)
                continue
            error = _describe(failure)
            if attempt < ATTEMPTS:
                retry = self.client.submit(run_replication, task, pure=False)
                attempts[retry.key] = (task, attempt + 1)
                running.add(retry)
            else:
                yield Outcome(task, None, error, attempt)


def executor_for(workers: int | None = None, cluster: str | None = None) -> Executor:
    """The executor the CLI options ask for: a Dask cluster, one process, or a local pool."""
    if cluster:
        return DaskCluster(cluster)
    if workers == 1:
        return Sequential()
    return LocalPool(workers)
