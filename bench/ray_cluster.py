"""A throwaway Ray cluster on this machine for tests and benchmarks: `ray start --block` nodes on
127.0.0.1, one CPU each, every node in its own session so that one node (its raylet and workers) can
be killed as a whole without touching any other Ray on this machine."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    def __init__(self, root: Path | None = None) -> None:
        self.root = root or Path(tempfile.mkdtemp(prefix="rayt", dir="/tmp"))  # short: socket path limit
        self.port = _free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.nodes: list[subprocess.Popen] = []
        self.env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}

    def start_node(self, head: bool) -> subprocess.Popen:
        cmd = [shutil.which("ray") or "ray", "start", "--block", "--num-cpus", "1"]
        cmd += ["--node-ip-address", "127.0.0.1", "--object-store-memory", str(100 * 1024 * 1024)]
        cmd += ["--disable-usage-stats"]
        if head:
            cmd += ["--head", "--port", str(self.port), "--include-dashboard=false"]
            cmd += ["--temp-dir", str(self.root / "t")]
        else:
            cmd += ["--address", self.address]
        log = open(self.root / f"node{len(self.nodes)}.log", "w")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.nodes.append(proc)
        return proc

    def wait_for(self, n: int, timeout: float = 180) -> None:
        import ray

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if not ray.is_initialized():
                    ray.init(address=self.address, log_to_driver=False)
                if sum(1 for node in ray.nodes() if node["Alive"]) >= n:
                    return
            except Exception:  # noqa: BLE001 - the head is still starting
                pass
            time.sleep(1)
        raise TimeoutError(f"Ray cluster: {n} nodes not up; see {self.root}")

    def kill(self, proc: subprocess.Popen) -> None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=60)

    def stop(self) -> None:
        import ray

        ray.shutdown()
        for proc in reversed(self.nodes):
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
        for proc in reversed(self.nodes):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                pass
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # anything of that node still running
            except ProcessLookupError:
                pass
            proc.wait(timeout=20)
        shutil.rmtree(self.root, ignore_errors=True)
