"""Kubernetes' own authentication and authorization for the read side, and its reads of the custom
resources.

A caller's bearer token is checked with a TokenReview (any token the API server accepts: ServiceAccount
tokens, OIDC, ...); a read is allowed only if a SubjectAccessReview says that user may `get` the
SpirisConnection by name in its namespace, so whoever can `kubectl get spc NAME` can read its copy and
nobody else. The API's own ServiceAccount then reads the connection (its uid is the company key) and the
fiscal-year syncs. Answers are cached for `cache_seconds` (default 10). Nothing here logs or returns a
token; the cache is keyed by the token's sha256.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from typing import Any, cast

import urllib3
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException

from spiris_read.problems import BackendUnavailable, NotAllowed, NotAuthenticated, NotFoundProblem
from spiris_read.ttl_cache import TtlCache

GROUP = "spiris.senseworks.io"
VERSION = "v1alpha1"
CONNECTIONS = "spirisconnections"
FISCAL_YEAR_SYNCS = "fiscalyearsyncs"
TIMEOUT_SECONDS = 10
log = logging.getLogger("spiris_read.kube_access")


@dataclass(frozen=True)
class Caller:
    """Who the TokenReview says the token belongs to."""

    username: str
    uid: str = ""
    groups: tuple[str, ...] = ()
    extra: dict[str, list[str]] = field(default_factory=dict, hash=False, compare=False)


def api_client_for(kubeconfig: str | None) -> k8s.ApiClient:
    """An ApiClient for an explicit kubeconfig file, or the pod's ServiceAccount when None."""
    if kubeconfig:
        configuration = k8s.Configuration()
        k8s_config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=kubeconfig, client_configuration=configuration)
    else:
        configuration = k8s.Configuration()
        k8s_config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    # Every request of every worker thread asks the API server (reviews, reads): one pooled connection per
    # thread instead of the client's default of one per host.
    configuration.connection_pool_maxsize = 16
    return k8s.ApiClient(configuration)


def bearer_token(authorization: str | None) -> str:
    """The token of an `Authorization: Bearer …` header; `NotAuthenticated` without one."""
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise NotAuthenticated("Send a Kubernetes bearer token: 'Authorization: Bearer <token>'.")
    return token


class KubeAccess:
    """TokenReview, SubjectAccessReview and the custom-resource reads, through one ApiClient."""

    def __init__(self, api_client: k8s.ApiClient, *, cache_seconds: float = 10.0) -> None:
        self._authn = k8s.AuthenticationV1Api(api_client)
        self._authz = k8s.AuthorizationV1Api(api_client)
        self._custom = k8s.CustomObjectsApi(api_client)
        self._callers: TtlCache[Caller | None] = TtlCache(ttl_seconds=cache_seconds)
        self._decisions: TtlCache[bool] = TtlCache(ttl_seconds=cache_seconds)
        self._connections: TtlCache[dict[str, Any]] = TtlCache(ttl_seconds=min(cache_seconds, 5.0))

    def authenticate(self, token: str) -> Caller:
        """The caller behind `token`; `NotAuthenticated` when the API server does not accept it."""
        key = hashlib.sha256(token.encode()).hexdigest()
        caller = self._callers.get(key)
        if caller is None:
            body: Any = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
                         "spec": {"token": token}}
            review = self._call("TokenReview", lambda: self._authn.create_token_review(body))
            status = review.status
            if status is None or not status.authenticated or status.user is None:
                raise NotAuthenticated("The bearer token is not accepted by the Kubernetes API server.")
            user = status.user
            caller = Caller(
                username=user.username or "",
                uid=user.uid or "",
                groups=tuple(user.groups or ()),
                extra={k: list(v) for k, v in (user.extra or {}).items()},
            )
            self._callers.put(key, caller)
        return caller

    def authorize_connection(self, caller: Caller, *, namespace: str, name: str) -> None:
        """`NotAllowed` unless `caller` may `get` the SpirisConnection `namespace/name`."""
        key = (caller.username, caller.uid, caller.groups, namespace, name)
        allowed = self._decisions.get(key)
        if allowed is None:
            body: Any = {
                "apiVersion": "authorization.k8s.io/v1",
                "kind": "SubjectAccessReview",
                "spec": {
                    "user": caller.username,
                    "groups": list(caller.groups),
                    "resourceAttributes": {
                        "namespace": namespace,
                        "verb": "get",
                        "group": GROUP,
                        "resource": CONNECTIONS,
                        "name": name,
                    },
                },
            }
            # uid and extra take part in authorization (webhooks, impersonation rules): pass them when known.
            if caller.uid:
                body["spec"]["uid"] = caller.uid
            if caller.extra:
                body["spec"]["extra"] = caller.extra
            review = self._call("SubjectAccessReview", lambda: self._authz.create_subject_access_review(body))
            allowed = bool(review.status and review.status.allowed)
            self._decisions.put(key, allowed)
        if not allowed:
            raise NotAllowed(
                f"{caller.username or 'This caller'} may not get spirisconnections "
                f"{name!r} in namespace {namespace!r}."
            )

    def connection(self, *, namespace: str, name: str) -> dict[str, Any]:
        """The SpirisConnection; `NotFoundProblem` when absent or outside what this installation serves."""
        key = (namespace, name)
        cached = self._connections.get(key)
        if cached is not None:
            return cached
        try:
            obj = self._call(
                "get SpirisConnection",
                lambda: self._custom.get_namespaced_custom_object(
                    GROUP, VERSION, namespace, CONNECTIONS, name, _request_timeout=TIMEOUT_SECONDS
                ),
                allow=(403, 404),
            )
        except ApiException:
            raise NotFoundProblem(f"No SpirisConnection {name!r} in namespace {namespace!r}.") from None
        result = cast(dict[str, Any], obj)
        self._connections.put(key, result)
        return result

    def fiscal_year_syncs(self, *, namespace: str, connection: str) -> list[dict[str, Any]]:
        """The FiscalYearSyncs of one connection (by `spec.connectionRef.name`)."""
        try:
            listing = self._call(
                "list FiscalYearSyncs",
                lambda: self._custom.list_namespaced_custom_object(
                    GROUP, VERSION, namespace, FISCAL_YEAR_SYNCS, _request_timeout=TIMEOUT_SECONDS
                ),
                allow=(403,),
            )
        except ApiException:
            return []
        items = cast(dict[str, Any], listing).get("items") or []
        return [
            i for i in items if ((i.get("spec") or {}).get("connectionRef") or {}).get("name") == connection
        ]

    @staticmethod
    def _call(action: str, call: Any, *, allow: tuple[int, ...] = ()) -> Any:
        try:
            return call()
        except ApiException as exc:
            if exc.status in allow:
                raise
            log.warning("%s failed with HTTP %s", action, exc.status)
            raise BackendUnavailable(f"Kubernetes refused {action} (HTTP {exc.status}).") from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            log.warning("%s: Kubernetes API unreachable (%s)", action, type(exc).__name__)
            raise BackendUnavailable(f"{action}: the Kubernetes API is unreachable.") from None
