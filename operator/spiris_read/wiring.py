"""Builds the read API from its settings: the Kubernetes access, the database pool, the two S3 views (the
internal one that checks objects exist, the public one presigned URLs are signed for) and the app."""

from __future__ import annotations

from datetime import timedelta

from spiris_store.documents import DocumentStore
from spiris_store.read_pool import ReadOnlyPool
from starlette.applications import Starlette

from spiris_read.app import create_app
from spiris_read.content_links import ContentLinks
from spiris_read.kube_access import KubeAccess, api_client_for
from spiris_read.resources import ReadService
from spiris_read.settings import ApiSettings


def build_service(settings: ApiSettings) -> ReadService:
    return ReadService(
        kube=KubeAccess(api_client_for(settings.kubeconfig), cache_seconds=settings.auth_cache_seconds),
        pool=ReadOnlyPool(settings.database_url),
        store=DocumentStore(settings.s3),
        links=ContentLinks(
            DocumentStore(settings.s3_public), ttl=timedelta(seconds=settings.content_ttl_seconds)
        ),
        link_key=settings.link_key,
        viewer_link_seconds=settings.viewer_link_seconds,
    )


def build_app(settings: ApiSettings) -> Starlette:
    return create_app(build_service(settings), public_url=settings.public_url)
