"""The SeaweedFS S3 endpoint: object round trip, listing, presigned GETs, and enforced signatures."""

from __future__ import annotations

import io
import socket
from datetime import timedelta

import httpx
import pytest
from minio import Minio
from minio.error import S3Error
from spiris_localstack.s3 import S3Server


def test_put_stat_get_list(s3_server: S3Server, fresh_bucket: str) -> None:
    client = s3_server.client()
    body = b"%PDF-1.4 faktura 4711"
    client.put_object(fresh_bucket, "docs/2024/4711.pdf", io.BytesIO(body), len(body),
                      content_type="application/pdf")
    client.put_object(fresh_bucket, "docs/2024/4712.pdf", io.BytesIO(b"x"), 1)

    stat = client.stat_object(fresh_bucket, "docs/2024/4711.pdf")
    assert stat.size == len(body)
    assert stat.content_type == "application/pdf"

    response = client.get_object(fresh_bucket, "docs/2024/4711.pdf")
    try:
        assert response.read() == body
    finally:
        response.close()
        response.release_conn()

    listed = client.list_objects(fresh_bucket, prefix="docs/", recursive=True)
    names = sorted(o.object_name or "" for o in listed)
    assert names == ["docs/2024/4711.pdf", "docs/2024/4712.pdf"]


def test_presigned_get_works_and_tampering_fails(s3_server: S3Server, fresh_bucket: str) -> None:
    client = s3_server.client()
    client.put_object(fresh_bucket, "a.txt", io.BytesIO(b"hej"), 3)
    url = client.presigned_get_object(fresh_bucket, "a.txt", expires=timedelta(minutes=5))
    assert httpx.get(url).content == b"hej"

    tampered = url.replace("X-Amz-Signature=", "X-Amz-Signature=0")
    assert httpx.get(tampered).status_code == 403
    assert httpx.get(f"{s3_server.url}/{fresh_bucket}/a.txt").status_code == 403


def test_wrong_secret_is_rejected(s3_server: S3Server, fresh_bucket: str) -> None:
    impostor = Minio(s3_server.endpoint, access_key=s3_server.access_key, secret_key="wrong-secret",
                     region=s3_server.region, secure=False)
    with pytest.raises(S3Error) as info:
        impostor.put_object(fresh_bucket, "evil.txt", io.BytesIO(b"x"), 1)
    assert info.value.code == "SignatureDoesNotMatch"

    unknown = Minio(s3_server.endpoint, access_key="nobody", secret_key=s3_server.secret_key,
                    region=s3_server.region, secure=False)
    with pytest.raises(S3Error):
        unknown.bucket_exists(fresh_bucket)


def test_fresh_buckets_start_empty(s3_server: S3Server, fresh_bucket: str) -> None:
    client = s3_server.client()
    assert client.bucket_exists(fresh_bucket)
    assert list(client.list_objects(fresh_bucket, recursive=True)) == []


def test_restart_in_place_keeps_objects_port_and_credentials() -> None:
    with S3Server() as server:
        server.create_bucket("kept")
        server.client().put_object("kept", "a/b.txt", io.BytesIO(b"hej"), 3)
        endpoint, old_pid = server.endpoint, server.pid
        server.kill()
        server.restart()
        assert server.pid != old_pid and server.endpoint == endpoint
        response = server.client().get_object("kept", "a/b.txt")
        try:
            assert response.read() == b"hej"
        finally:
            response.close()
            response.release_conn()


def test_more_buckets_than_the_disk_derived_volume_count_take_objects_and_deleted_ones_go() -> None:
    # Each bucket is a collection with volumes of its own; with SeaweedFS' default volume count (free disk /
    # volume size) the PUTs began failing with HTTP 500 after about 55 buckets on a 56 GB-free disk.
    with S3Server() as server:
        client = server.client()
        names = [server.create_bucket(f"many-{i:03d}") for i in range(80)]
        for name in names:
            client.put_object(name, "faktura.pdf", io.BytesIO(b"%PDF-1.4"), 8)
        assert all(client.stat_object(name, "faktura.pdf").size == 8 for name in names)
        server.delete_bucket(names[0])
        server.delete_bucket("never-created")
        assert not client.bucket_exists(names[0]) and client.bucket_exists(names[1])


def test_a_port_taken_before_weed_binds_it_is_replaced(monkeypatch: pytest.MonkeyPatch) -> None:
    from spiris_localstack import s3 as s3_module

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken_port = taken.getsockname()[1]
    chosen: list[int] = []

    def first_one_taken(*, offset: int) -> int:
        port = taken_port if not chosen else real_free_port_pair(offset=offset)
        chosen.append(port)
        return port

    real_free_port_pair = s3_module.free_port_pair
    monkeypatch.setattr(s3_module, "free_port_pair", first_one_taken)
    try:
        with S3Server() as server:
            assert server.port != taken_port and len(chosen) == 10
            assert server.client().list_buckets() == []
    finally:
        taken.close()
