"""The kubelet's log endpoint, so ``kubectl logs`` works against pods the node agent runs.

The API server answers ``GET .../pods/NAME/log`` by calling the node's kubelet at
``https://<InternalIP>:<kubeletEndpoint.Port>/containerLogs/NS/POD/CONTAINER`` with its kubelet client
certificate. This server answers that one path over TLS (the node's serving certificate, client certificates
required and checked against the plane's CA), with ``follow``, ``tailLines``, ``limitBytes`` and ``previous``
(the log of the container's earlier run is kept beside the current one).
"""

from __future__ import annotations

import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

# (namespace, pod, container, previous) → the log file, and whether the container is still running.
LogLookup = Callable[[str, str, str, bool], tuple[Path, bool] | None]


def _tail(data: bytes, lines: int) -> bytes:
    if lines <= 0:
        return b""
    parts = data.splitlines(keepends=True)
    return b"".join(parts[-lines:])


class KubeletLogServer:
    """HTTPS on 127.0.0.1:``port`` serving ``/containerLogs/...`` from ``lookup``."""

    def __init__(self, *, lookup: LogLookup, cert: Path, key: Path, ca: Path) -> None:
        self.lookup = lookup
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(cert), str(key))
        context.load_verify_locations(str(ca))
        context.verify_mode = ssl.CERT_REQUIRED
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server._serve(self)

            def log_message(self, format: str, *args: object) -> None:
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = int(self.httpd.server_address[1])
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="kubelet-logs", daemon=True)
        self.stopping = threading.Event()

    def start(self) -> KubeletLogServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def _serve(self, request: BaseHTTPRequestHandler) -> None:
        url = urllib.parse.urlsplit(request.path)
        parts = url.path.strip("/").split("/")
        query = urllib.parse.parse_qs(url.query)
        if len(parts) != 4 or parts[0] != "containerLogs":
            request.send_error(404, "only /containerLogs/NS/POD/CONTAINER is served")
            return
        previous = query.get("previous", ["false"])[0] == "true"
        found = self.lookup(parts[1], parts[2], parts[3], previous)
        if found is None:
            request.send_error(404, f"no log for container {parts[3]!r} of pod {parts[1]}/{parts[2]}")
            return
        path, running = found
        data = path.read_bytes() if path.exists() else b""
        if "tailLines" in query:
            data = _tail(data, int(query["tailLines"][0]))
        if "limitBytes" in query:
            data = data[: int(query["limitBytes"][0])]
        follow = query.get("follow", ["false"])[0] == "true" and running
        request.send_response(200)
        request.send_header("Content-Type", "text/plain")
        if not follow:
            request.send_header("Content-Length", str(len(data)))
            request.end_headers()
            request.wfile.write(data)
            return
        request.send_header("Transfer-Encoding", "identity")
        request.end_headers()
        request.wfile.write(data)
        request.wfile.flush()
        offset = path.stat().st_size if path.exists() else 0
        while not self.stopping.is_set():
            current = self.lookup(parts[1], parts[2], parts[3], previous)
            with path.open("rb") as handle:
                handle.seek(offset)
                chunk = handle.read()
            if chunk:
                request.wfile.write(chunk)
                request.wfile.flush()
                offset += len(chunk)
            elif current is None or not current[1]:
                return
            time.sleep(0.2)
