"""Run in a subprocess by test_documents: stream a large generated document into S3 and report memory.

Prints one JSON line: the sha256/size the generator produced, what the store returned, and VmHWM (peak RSS)
before and after the upload, read from /proc/self/status so the measurement is this process only.
"""

from __future__ import annotations

import hashlib
import json
import sys
import uuid
from collections.abc import Iterator

from spiris_store.documents import DocumentStore, S3Settings


def _vm_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(field)


def _reset_peak() -> None:
    # Writing 5 to clear_refs resets VmHWM to the current RSS (Linux ≥ 4.0).
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")


def main() -> None:
    endpoint, access_key, secret_key, bucket, region, size_text = sys.argv[1:7]
    size = int(size_text)
    store = DocumentStore(
        S3Settings(
            endpoint=endpoint, access_key=access_key, secret_key=secret_key, bucket=bucket, region=region
        )
    )
    expected = hashlib.sha256()
    block = hashlib.sha512(b"seed").digest() * 2048  # 128 KiB, varied so nothing compresses it away

    def chunks() -> Iterator[bytes]:
        sent = 0
        counter = 0
        while sent < size:
            piece = (counter.to_bytes(8, "big") + block)[: min(len(block) + 8, size - sent)]
            counter += 1
            expected.update(piece)
            sent += len(piece)
            yield piece

    # warm up (imports, connection pool, TLS-free HTTP machinery) before taking the baseline
    store.put_stream(
        "warmup",
        [b"warm"],
        content_type="text/plain",
        original_file_name="w",
        source="attachment",
        spiris_id=uuid.uuid4(),
    )
    _reset_peak()
    before = _vm_kib("VmHWM")
    stored = store.put_stream(
        "bigco",
        chunks(),
        content_type="application/pdf",
        original_file_name="stor årsredovisning.pdf",
        source="attachment",
        spiris_id=uuid.uuid4(),
    )
    after = _vm_kib("VmHWM")
    print(
        json.dumps(
            {
                "expected_sha256": expected.hexdigest(),
                "sha256": stored.sha256,
                "size": stored.size_bytes,
                "object_key": stored.object_key,
                "hwm_before_kib": before,
                "hwm_after_kib": after,
            }
        )
    )


if __name__ == "__main__":
    main()
