"""The SeaweedFS S3 endpoint: object round trip, listing, presigned GETs, and enforced signatures."""

from __future__ import annotations

import io
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
