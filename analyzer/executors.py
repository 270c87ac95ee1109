"""Where the recordings of a batch are analysed: this machine (one process, or a local process
pool) or a Ray cluster. One interface, so analyzer.batch.run_batch stays one flow: discovery,
fingerprints and resume state stay in the driver; an executor only runs `analyse(job)` for each
job and yields (job, recording dict) as they finish.

With Ray, inputs and outputs are paths on storage that every node sees (a shared file system):
a task receives paths and options, reads the originals and writes its outputs itself, and returns
the small recording dict. No audio goes through Ray's object store. A task whose node or worker
process dies is retried (`max_retries`); one that still fails is one failed recording, like any
bad input. Results are published under their content hash (analyzer.batch), so a task that runs
twice writes the same result once.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

Job = Any  # analyzer.batch.Job (the batch imports this module, not the other way round)

EXECUTORS = ("local", "ray")
RAY_MISSING = "未安装 Ray / Ray is not installed: pip install -e .[ray]"
RAY_MAX_RETRIES = 2  # a task whose worker or node died is run again at most this often

Finished = tuple[Job, dict[str, Any]]
AnalyseFn = Callable[..., tuple[str, dict[str, Any]]]  # (*args_of(job)) -> (stem, recording dict)
ArgsOf = Callable[[Job], tuple]
FailFn = Callable[[Job, str], dict[str, Any]]  # (job, one-line cause) -> error recording dict


class ExecutorError(ValueError):
    """The executor cannot run this batch (no cluster, storage not shared): one line, Chinese + English."""


class Executor(Protocol):
    def check_storage(self, paths: Sequence[str], out: str) -> None: ...

    def run(
        self, jobs: Sequence[Job], fn: AnalyseFn, args_of: ArgsOf, fail: FailFn
    ) -> Iterator[Finished]: ...

    def close(self) -> None: ...


def import_ray():
    try:
        import ray
    except ImportError as err:
        raise ExecutorError(RAY_MISSING) from err
    return ray


# --------------------------------------------------------------------------- this machine


def _init_worker() -> None:
    # Workers ignore Ctrl-C; the parent stops the pool and keeps what finished.
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


@dataclass
class LocalExecutor:
    """This machine: in this process, or in `workers` spawned processes."""

    workers: int = 1

    def check_storage(self, paths: Sequence[str], out: str) -> None:
        """The driver reads and writes itself: bad files are reported per recording."""

    def run(self, jobs: Sequence[Job], fn: AnalyseFn, args_of: ArgsOf, fail: FailFn) -> Iterator[Finished]:
        if self.workers <= 1:
            for job in jobs:
                yield job, fn(*args_of(job))[1]
            return
        ctx = multiprocessing.get_context("spawn")
        with cf.ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=_init_worker) as pool:
            futures = {pool.submit(fn, *args_of(j)): j for j in jobs}
            for fut in cf.as_completed(futures):
                job = futures[fut]
                try:
                    rec = fut.result()[1]
                except Exception as err:  # noqa: BLE001 - a crashed worker is one failed recording
                    rec = fail(job, f"分析进程失败 / worker failed: {err}")
                yield job, rec

    def close(self) -> None:
        pass


# --------------------------------------------------------------------------- Ray


def _storage_probe(paths: list[str], out: str) -> tuple[str, list[str]]:
    """Runs on one node: which inputs it cannot read, and whether it can write the output folder."""
    import socket
    import tempfile

    problems = [f"{p}: 无法读取输入 / cannot read input" for p in paths if not os.access(p, os.R_OK)]
    try:
        with tempfile.NamedTemporaryFile(dir=out, prefix=".scriptcheck-probe-"):
            pass
    except OSError as err:
        problems.append(f"{out}: 无法写入输出文件夹 / cannot write the output folder ({err.strerror})")
    return socket.gethostname(), problems


@dataclass
class RayExecutor:
    """One Ray task per recording or case. `address` None starts a local Ray instance; otherwise
    the driver joins that cluster. `threads` is each task's CPU request (its Whisper threads);
    `memory` the scheduler's memory hint per task."""

    address: str | None = None
    threads: int = 1
    memory: int = 0
    max_retries: int = RAY_MAX_RETRIES
    num_cpus: int | None = None  # a local instance's CPUs (None: all of this machine's)

    def __post_init__(self) -> None:
        ray = import_ray()
        self._ray = ray
        self._started = False
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"log_to_driver": False, "include_dashboard": False}
            if self.address:
                kwargs["address"] = self.address
            else:
                kwargs["num_cpus"] = self.num_cpus
            try:
                ray.init(**kwargs)
            except Exception as err:  # noqa: BLE001 - wrong address, no cluster: one line
                where = self.address or "local"
                raise ExecutorError(
                    f"无法连接 Ray 集群 / cannot reach the Ray cluster ({where}): {err}"
                ) from err
            self._started = True

    def _options(self) -> dict[str, Any]:
        # The OpenMP thread count changes Whisper's numbers in the last bits, and so a transcript now
        # and then (measured: OMP_NUM_THREADS=1 vs 2 moved a phrase score by 0.7). Ray sets it to a
        # task's CPUs; tasks get the driver's instead, so they compute what this machine would.
        omp = os.environ.get("OMP_NUM_THREADS") or str(os.cpu_count() or 1)
        opts: dict[str, Any] = {
            "num_cpus": max(1, self.threads),
            "max_retries": self.max_retries,
            "runtime_env": {"env_vars": {"OMP_NUM_THREADS": omp}},
        }
        if self.memory:
            opts["memory"] = self.memory
        return opts

    def remote(self, fn: Callable):
        """`fn` as a Ray task with this executor's resources and retries."""
        return self._ray.remote(fn).options(**self._options())

    def get(self, ref: Any) -> Any:
        return self._ray.get(ref)

    def check_storage(self, paths: Sequence[str], out: str) -> None:
        """Every alive node must read every input and write the output folder (shared storage)."""
        ray = self._ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        probe = ray.remote(num_cpus=0, max_retries=0)(_storage_probe)
        refs = [
            probe.options(
                scheduling_strategy=NodeAffinitySchedulingStrategy(node["NodeID"], soft=False)
            ).remote(list(paths), str(Path(out).resolve()))
            for node in ray.nodes()
            if node.get("Alive")
        ]
        for ref in refs:
            try:
                host, problems = ray.get(ref)
            except ray.exceptions.TaskUnschedulableError:  # the node left since it was listed
                continue
            if problems:
                more = f"（另有 {len(problems) - 1} 处）" if len(problems) > 1 else ""
                raise ExecutorError(
                    f"Ray 节点 {host}：{problems[0]}{more}；输入与输出须位于所有节点都能访问的共享存储"
                    " / inputs and outputs must be on storage every node sees"
                )

    def run(self, jobs: Sequence[Job], fn: AnalyseFn, args_of: ArgsOf, fail: FailFn) -> Iterator[Finished]:
        ray = self._ray
        task = self.remote(fn)
        pending = {task.remote(*args_of(j)): j for j in jobs}
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                job = pending.pop(ref)
                try:
                    rec = ray.get(ref)[1]
                except Exception as err:  # noqa: BLE001 - failed after its retries: one failed recording
                    cause = " ".join(str(err).split())[:200] or type(err).__name__
                    rec = fail(job, f"Ray 任务失败（已重试 {self.max_retries} 次）/ task failed: {cause}")
                yield job, rec

    def close(self) -> None:
        if self._started:
            self._ray.shutdown()


def make_executor(
    name: str,
    *,
    workers: int = 1,
    address: str | None = None,
    threads: int = 1,
    memory: int = 0,
) -> Executor:
    if name == "local":
        return LocalExecutor(workers)
    if name == "ray":
        return RayExecutor(address=address, threads=threads, memory=memory)
    raise ExecutorError(f"未知的执行方式 / unknown executor: {name}（可选：{', '.join(EXECUTORS)}）")
