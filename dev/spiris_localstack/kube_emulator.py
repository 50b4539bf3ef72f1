"""A Kubernetes API emulator: kmock's `KubernetesEmulator` plus the semantics real clients depend on.

kmock 0.8 serves discovery and a naive object store; Kopf, kubectl and the kubernetes client need more. This
subclass keeps kmock's root, `/version` and group discovery and takes over every resource request with its own
store: a global resourceVersion counter (409 on stale writes), uid, creationTimestamp, generation (bumped on
spec changes only), PUT, merge and JSON patches (422 on a failed `test`), status-subresource isolation, label
and field selectors on list and watch, typed list responses, JSON watch streams with resume from a
resourceVersion, namespaces (with cascading deletion), generateName, Secret `stringData`, finalizers with
`deletionTimestamp`, and ownerReference garbage collection. CRDs are served from YAML files and from CRD
objects created through the API. There is no admission, RBAC, OpenAPI or schema validation, and no
controllers.

Everything runs on one event loop: mutations are synchronous between awaits, so no locks are needed.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import copy
import datetime
import json
import logging
import secrets
import string
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp.web
import attrs
import yaml
from kmock import KubernetesEmulator, ResourceInfo, resource

from spiris_localstack.kube_patches import PatchError, PatchTestFailedError, json_patch, merge_patch
from spiris_localstack.kube_resources import (
    BUILTIN_RESOURCES,
    VERBS,
    ResourceSpec,
    load_crd_documents,
    spec_from_crd,
)
from spiris_localstack.kube_routes import ApiError, Route, parse_route
from spiris_localstack.kube_selectors import SelectorError, parse_field_selector, parse_label_selector
from spiris_localstack.kube_tables import render_table, wants_table

logger = logging.getLogger(__name__)

JsonObj = dict[str, Any]
ObjectKey = tuple[str, str]  # (namespace or "", name)
HISTORY_SIZE = 20000
CRD_KEY = ("apiextensions.k8s.io", "customresourcedefinitions")
NAMESPACE_KEY = ("", "namespaces")
SECRET_KEY = ("", "secrets")


@dataclass(frozen=True)
class Change:
    """One committed write, kept for watches (and resuming them from a resourceVersion)."""

    rv: int
    key: tuple[str, str]
    type: str
    old: JsonObj | None
    new: JsonObj


def now_rfc3339() -> str:
    return datetime.datetime.now(tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _content(obj: Mapping[str, Any]) -> JsonObj:
    """What `generation` tracks: everything but metadata, status and the type fields."""
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


def _without_rv(obj: Mapping[str, Any]) -> JsonObj:
    result = copy.deepcopy(dict(obj))
    result.get("metadata", {}).pop("resourceVersion", None)
    return result


@attrs.define(kw_only=True)
class SpirisKubeEmulator(KubernetesEmulator):  # type: ignore[misc]
    """kmock's emulator with real API-server semantics for the resources it serves (see module doc)."""

    crd_dirs: tuple[str | Path, ...] = ()
    crd_documents: tuple[JsonObj, ...] = ()

    _specs: dict[tuple[str, str], ResourceSpec] = attrs.field(factory=dict, init=False)
    _store: dict[tuple[str, str], dict[ObjectKey, JsonObj]] = attrs.field(factory=dict, init=False)
    _rv: int = attrs.field(default=1, init=False)
    _history: collections.deque[Change] = attrs.field(
        factory=lambda: collections.deque(maxlen=HISTORY_SIZE), init=False
    )
    _watchers: set[asyncio.Queue[Change | None]] = attrs.field(factory=set, init=False)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        for spec in BUILTIN_RESOURCES:
            self.register(spec)
        for name in ("default", "kube-system", "kube-public"):
            self._create(self._specs[NAMESPACE_KEY], None, {"metadata": {"name": name}}, dry_run=False)
        for document in [*load_crd_documents(self.crd_dirs), *self.crd_documents]:
            self._create(self._specs[CRD_KEY], None, copy.deepcopy(document), dry_run=False)

    # --- resources

    def register(self, spec: ResourceSpec) -> None:
        """Serve `spec` (discovery and storage); re-registering a kind keeps its objects."""
        self._specs[spec.key] = spec
        self._store.setdefault(spec.key, {})
        for version in spec.versions:
            self.resources[resource(group=spec.group, version=version, plural=spec.plural)] = ResourceInfo(
                kind=spec.kind, singular=spec.singular, namespaced=spec.namespaced, verbs=set(VERBS),
                shortnames=set(spec.short_names), categories=set(spec.categories),
                subresources=set(spec.subresources),
            )

    def unregister(self, key: tuple[str, str]) -> None:
        spec = self._specs.pop(key, None)
        self._store.pop(key, None)
        if spec is not None:
            for version in spec.versions:
                res = resource(group=spec.group, version=version, plural=spec.plural)
                if res in self.resources:
                    del self.resources[res]

    def _get_resources(self) -> list[resource]:
        return [resource(group=spec.group, version=version, plural=spec.plural)
                for spec in self._specs.values() for version in spec.versions]

    async def _serve_version(self, request: Any) -> JsonObj:
        group, version = request.resource.group, request.resource.version
        specs = [s for s in self._specs.values() if s.group == group and version in s.versions]
        if not specs:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        resources: list[JsonObj] = []
        for spec in specs:
            resources.append({"name": spec.plural, "singularName": spec.singular,
                              "namespaced": spec.namespaced, "kind": spec.kind, "verbs": list(VERBS),
                              "shortNames": list(spec.short_names), "categories": list(spec.categories)})
            for sub in spec.subresources:
                resources.append({"name": f"{spec.plural}/{sub}", "singularName": "", "kind": spec.kind,
                                  "namespaced": spec.namespaced, "verbs": ["get", "patch", "update"]})
        return {"kind": "APIResourceList", "apiVersion": "v1",
                "groupVersion": f"{group}/{version}" if group else version, "resources": resources}

    # --- HTTP

    async def __call__(self, raw: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
        route = parse_route(raw.path)
        if route is None:
            return await self._serve_discovery(raw)
        try:
            return await self._serve(raw, route)
        except ApiError as exc:
            return aiohttp.web.json_response(exc.status(), status=exc.code)
        except Exception as exc:  # a bug here must reach the client as a 500 Status, not a dropped socket
            logger.exception("emulator failure on %s %s", raw.method, raw.path)
            error = ApiError(500, "InternalError", f"{type(exc).__name__}: {exc}")
            return aiohttp.web.json_response(error.status(), status=500)

    async def _serve_discovery(self, raw: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
        parts = [part for part in raw.path.split("/") if part]
        is_core_version = len(parts) == 2 and parts[0] == "api"
        is_group_version = len(parts) == 3 and parts[0] == "apis"
        if raw.method == "GET" and (is_core_version or is_group_version):
            group = "" if is_core_version else parts[1]
            request = type("Req", (), {"resource": resource(group=group, version=parts[-1])})
            try:
                return aiohttp.web.json_response(await self._serve_version(request))
            except ApiError as exc:
                return aiohttp.web.json_response(exc.status(), status=exc.code)
        if raw.path.startswith("/openapi") or raw.path.startswith("/swagger"):
            error = ApiError(404, "NotFound", "this emulator serves no OpenAPI (use --validate=false)")
            return aiohttp.web.json_response(error.status(), status=404)
        response: aiohttp.web.StreamResponse = await super().__call__(raw)
        return response

    async def _serve(self, raw: aiohttp.web.BaseRequest, route: Route) -> aiohttp.web.StreamResponse:
        spec = self._specs.get((route.group, route.plural))
        if spec is None or route.version not in spec.versions:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if spec.namespaced is False and route.namespace is not None:
            raise ApiError(404, "NotFound", f"{spec.plural} is not namespaced")
        if route.subresource is not None and route.subresource not in spec.subresources:
            raise ApiError(404, "NotFound", f"subresource {route.subresource!r} of {spec.plural} is unknown")
        params = raw.query
        dry_run = "dryRun" in params
        method = raw.method.upper()
        if method == "GET":
            if params.get("watch") in ("true", "1"):
                return await self._watch(raw, spec, route)
            table = wants_table(raw.headers.get("Accept", ""))
            if route.name is None:
                listing = self._list(spec, route, params)
                return self._json(self._table(spec, listing["items"], params) if table else listing)
            obj = self._output(spec, route.version, self._require(spec, route))
            return self._json(self._table(spec, [obj], params) if table else obj)
        if method == "POST" and route.name is None:
            body = await self._body(raw)
            created = self._create(spec, route.namespace, body, dry_run=dry_run)
            return self._json(self._output(spec, route.version, created), status=201)
        if method == "PUT" and route.name is not None:
            body = await self._body(raw)
            return self._json(self._output(spec, route.version, self._replace(spec, route, body, dry_run)))
        if method == "PATCH" and route.name is not None:
            result, status = await self._patch(raw, spec, route, dry_run)
            return self._json(self._output(spec, route.version, result), status=status)
        if method == "DELETE":
            options = await self._body(raw, required=False)
            if route.name is None:
                return self._json(self._delete_collection(spec, route, params, options, dry_run))
            return self._json(self._output(spec, route.version, self._delete(spec, route, params, options,
                                                                              dry_run)))
        raise ApiError(405, "MethodNotAllowed", f"{method} is not supported on {raw.path}")

    @staticmethod
    def _json(payload: JsonObj, *, status: int = 200) -> aiohttp.web.Response:
        return aiohttp.web.json_response(payload, status=status)

    @staticmethod
    async def _body(raw: aiohttp.web.BaseRequest, *, required: bool = True) -> JsonObj:
        content_type = raw.headers.get("Content-Type", "")
        if "protobuf" in content_type:
            raise ApiError(415, "UnsupportedMediaType",
                           "protobuf is not supported by the emulator; send JSON (kubectl: render with "
                           "--dry-run=client -o yaml and pipe to kubectl apply --validate=false -f -)")
        raw_body = await raw.read()
        if not raw_body.strip():
            if required:
                raise ApiError(400, "BadRequest", "the request body is empty")
            return {}
        try:
            parsed = yaml.safe_load(raw_body) if "yaml" in content_type else json.loads(raw_body)
        except (ValueError, yaml.YAMLError) as exc:
            raise ApiError(400, "BadRequest", f"the request body is not valid: {exc}") from exc
        if not isinstance(parsed, dict | list):
            raise ApiError(400, "BadRequest", "the request body must be an object")
        return parsed  # type: ignore[return-value]  # a JSON-patch list is checked by its caller

    # --- reading

    def _output(self, spec: ResourceSpec, version: str | None, obj: JsonObj) -> JsonObj:
        result = copy.deepcopy(obj)
        result["apiVersion"] = spec.api_version(version)
        result["kind"] = spec.kind
        return result

    def _require(self, spec: ResourceSpec, route: Route) -> JsonObj:
        assert route.name is not None
        obj = self._store[spec.key].get((route.namespace or "", route.name))
        if obj is None:
            raise self._not_found(spec, route.name)
        return obj

    @staticmethod
    def _not_found(spec: ResourceSpec, name: str) -> ApiError:
        qualified = f"{spec.plural}.{spec.group}" if spec.group else spec.plural
        return ApiError(404, "NotFound", f'{qualified} "{name}" not found',
                        details={"name": name, "group": spec.group, "kind": spec.plural})

    def _matcher(self, params: Mapping[str, str]) -> Any:
        try:
            labels = parse_label_selector(params.get("labelSelector"))
            fields = parse_field_selector(params.get("fieldSelector"))
        except SelectorError as exc:
            raise ApiError(400, "BadRequest", str(exc)) from exc

        def matches(obj: Mapping[str, Any]) -> bool:
            return bool(labels(obj.get("metadata", {}).get("labels") or {}) and fields(obj))

        return matches

    def _list(self, spec: ResourceSpec, route: Route, params: Mapping[str, str]) -> JsonObj:
        matches = self._matcher(params)
        items = [
            self._output(spec, route.version, obj)
            for (namespace, name), obj in sorted(self._store[spec.key].items())
            if (route.namespace is None or namespace == route.namespace) and matches(obj)
        ]
        return {"kind": f"{spec.kind}List", "apiVersion": spec.api_version(route.version),
                "metadata": {"resourceVersion": str(self._rv)}, "items": items}

    def _table(self, spec: ResourceSpec, objects: list[JsonObj], params: Mapping[str, str]) -> JsonObj:
        return render_table(kind=spec.kind, printer_columns=spec.printer_columns, objects=objects,
                            resource_version=str(self._rv), include_object=params.get("includeObject"))

    # --- watch

    async def _watch(self, raw: aiohttp.web.BaseRequest, spec: ResourceSpec,
                     route: Route) -> aiohttp.web.StreamResponse:
        params = raw.query
        matches = self._matcher(params)
        queue: asyncio.Queue[Change | None] = asyncio.Queue()
        self._watchers.add(queue)  # subscribe before the snapshot: no event can fall in between
        try:
            initial = self._initial_events(spec, params.get("resourceVersion"))
            response = aiohttp.web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
            response.enable_chunked_encoding()
            await response.prepare(raw)
            timeout = float(params["timeoutSeconds"]) if params.get("timeoutSeconds") else None
            deadline = asyncio.get_running_loop().time() + timeout if timeout else None
            try:
                table_params = params if wants_table(raw.headers.get("Accept", "")) else None
                await self._pump(response, spec, route, matches, initial, queue, deadline, table_params)
                await response.write_eof()
            except ConnectionResetError:
                pass  # the client went away: a normal end for a watch
            return response
        finally:
            self._watchers.discard(queue)

    def _initial_events(self, spec: ResourceSpec, since: str | None) -> list[Change] | ApiError:
        if since in (None, "", "0"):
            return [Change(self._rv, spec.key, "ADDED", None, obj)
                    for _, obj in sorted(self._store[spec.key].items())]
        try:
            since_rv = int(since)  # type: ignore[arg-type]
        except ValueError:
            return ApiError(400, "BadRequest", f"invalid resourceVersion {since!r}")
        oldest = self._history[0].rv if self._history else self._rv
        if since_rv < oldest - 1:
            return ApiError(410, "Expired", f"too old resource version: {since_rv} ({oldest})")
        return [change for change in self._history if change.rv > since_rv and change.key == spec.key]

    async def _pump(self, response: aiohttp.web.StreamResponse, spec: ResourceSpec, route: Route,
                    matches: Any, initial: list[Change] | ApiError, queue: asyncio.Queue[Change | None],
                    deadline: float | None, table_params: Mapping[str, str] | None) -> None:
        if isinstance(initial, ApiError):
            await response.write(json.dumps({"type": "ERROR", "object": initial.status()}).encode() + b"\n")
            return
        loop = asyncio.get_running_loop()
        pending: list[Change | None] = list(initial)
        while True:
            while pending:
                change = pending.pop(0)
                if change is None:
                    return
                event = self._event_for(spec, route, matches, change)
                if event is not None and table_params is not None:  # kubectl get -w: one-row Tables
                    event["object"] = self._table(spec, [event["object"]], table_params)
                if event is not None:
                    await response.write(json.dumps(event).encode() + b"\n")
            try:
                remaining = None if deadline is None else max(0.0, deadline - loop.time())
                pending.append(await asyncio.wait_for(queue.get(), timeout=remaining))
            except TimeoutError:
                return

    def _event_for(self, spec: ResourceSpec, route: Route, matches: Any, change: Change) -> JsonObj | None:
        if change.key != spec.key:
            return None
        meta = change.new.get("metadata", {})
        if route.namespace is not None and meta.get("namespace") != route.namespace:
            return None
        if route.name is not None and meta.get("name") != route.name:
            return None
        new_ok = matches(change.new)
        old_ok = change.old is not None and matches(change.old)
        kind = change.type
        if change.type == "MODIFIED":
            if new_ok and not old_ok:
                kind = "ADDED"
            elif old_ok and not new_ok:
                kind = "DELETED"
            elif not new_ok:
                return None
        elif not new_ok:
            return None
        return {"type": kind, "object": self._output(spec, route.version, change.new)}

    def close_watches(self) -> None:
        """End every open watch stream (used on shutdown)."""
        for queue in list(self._watchers):
            queue.put_nowait(None)

    # --- writes

    def _next_rv(self) -> str:
        self._rv += 1
        return str(self._rv)

    def _emit(self, spec: ResourceSpec, kind: str, old: JsonObj | None, new: JsonObj) -> None:
        change = Change(self._rv, spec.key, kind, copy.deepcopy(old), copy.deepcopy(new))
        self._history.append(change)
        for queue in self._watchers:
            queue.put_nowait(change)

    def _namespace_check(self, namespace: str) -> None:
        ns = self._store[NAMESPACE_KEY].get(("", namespace))
        if ns is None:
            raise ApiError(404, "NotFound", f'namespaces "{namespace}" not found',
                           details={"name": namespace, "kind": "namespaces"})
        if ns["metadata"].get("deletionTimestamp"):
            raise ApiError(403, "Forbidden", f"unable to create new content in namespace {namespace} because "
                           "it is being terminated")

    def _create(self, spec: ResourceSpec, namespace: str | None, body: JsonObj, *, dry_run: bool) -> JsonObj:
        if not isinstance(body, dict):
            raise ApiError(400, "BadRequest", "the body must be an object")
        obj = copy.deepcopy(body)
        meta = obj.setdefault("metadata", {})
        if spec.namespaced:
            if namespace is None:
                raise ApiError(404, "NotFound", f"{spec.plural} must be created in a namespace")
            if meta.get("namespace") not in (None, "", namespace):
                raise ApiError(400, "BadRequest", "the namespace of the provided object does not match the "
                               "namespace sent on the request")
            meta["namespace"] = namespace
            self._namespace_check(namespace)
        else:
            meta.pop("namespace", None)
        store = self._store[spec.key]
        name = meta.get("name")
        if not name and meta.get("generateName"):
            alphabet = string.ascii_lowercase + string.digits
            while not name or (namespace or "", name) in store:
                name = meta["generateName"] + "".join(secrets.choice(alphabet) for _ in range(5))
            meta["name"] = name
        if not isinstance(name, str) or not name:
            raise ApiError(422, "Invalid", f"{spec.kind}: metadata.name: Required value: name or "
                           "generateName is required")
        if (namespace or "" if spec.namespaced else "", name) in store:
            qualified = f"{spec.plural}.{spec.group}" if spec.group else spec.plural
            raise ApiError(409, "AlreadyExists", f'{qualified} "{name}" already exists',
                           details={"name": name, "group": spec.group, "kind": spec.plural})
        for transient in ("deletionTimestamp", "deletionGracePeriodSeconds", "resourceVersion", "selfLink",
                          "managedFields"):
            meta.pop(transient, None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = now_rfc3339()
        meta["generation"] = 1
        if spec.status_subresource:
            obj.pop("status", None)
        if spec.key == NAMESPACE_KEY:
            obj["status"] = {"phase": "Active"}
        if spec.key == SECRET_KEY:
            self._fold_string_data(obj)
            obj.setdefault("type", "Opaque")
        obj.pop("apiVersion", None)
        obj.pop("kind", None)
        if dry_run:
            return obj
        meta["resourceVersion"] = self._next_rv()
        store[(namespace or "" if spec.namespaced else "", name)] = obj
        self._emit(spec, "ADDED", None, obj)
        if spec.key == CRD_KEY:
            self.register(spec_from_crd(obj))
        return obj

    @staticmethod
    def _fold_string_data(obj: JsonObj) -> None:
        string_data = obj.pop("stringData", None) or {}
        if string_data:
            data = obj.setdefault("data", {}) or {}
            for key, value in string_data.items():
                data[key] = base64.b64encode(str(value).encode()).decode()
            obj["data"] = data

    def _check_rv(self, spec: ResourceSpec, current: JsonObj, candidate: JsonObj) -> None:
        wanted = (candidate.get("metadata") or {}).get("resourceVersion")
        if wanted and str(wanted) != current["metadata"]["resourceVersion"]:
            qualified = f"{spec.plural}.{spec.group}" if spec.group else spec.plural
            name = current["metadata"]["name"]
            raise ApiError(409, "Conflict", f'Operation cannot be fulfilled on {qualified} "{name}": the '
                           "object has been modified; please apply your changes to the latest version "
                           "and try again",
                           details={"name": name, "group": spec.group, "kind": spec.plural})

    def _next_state(self, spec: ResourceSpec, current: JsonObj, candidate: JsonObj,
                    subresource: str | None) -> JsonObj:
        if subresource == "status":
            new = copy.deepcopy(current)
            if candidate.get("status") is None:
                new.pop("status", None)
            else:
                new["status"] = copy.deepcopy(candidate["status"])
            return new
        new = copy.deepcopy(candidate)
        new.pop("apiVersion", None)
        new.pop("kind", None)
        if spec.status_subresource:
            if current.get("status") is None:
                new.pop("status", None)
            else:
                new["status"] = copy.deepcopy(current["status"])
        meta = new.get("metadata")
        if not isinstance(meta, dict):
            meta = new["metadata"] = {}
        for immutable in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
                          "namespace", "name", "generation", "resourceVersion"):
            if immutable in current["metadata"]:
                meta[immutable] = current["metadata"][immutable]
            else:
                meta.pop(immutable, None)
        if spec.key == SECRET_KEY:
            self._fold_string_data(new)
        if _content(new) != _content(current):
            meta["generation"] = int(current["metadata"].get("generation", 1)) + 1
        return new

    def _commit(self, spec: ResourceSpec, current: JsonObj, new: JsonObj, *, dry_run: bool) -> JsonObj:
        if _without_rv(new) == _without_rv(current) or dry_run:
            return new if dry_run else current  # a no-op write keeps the resourceVersion, like the real API
        meta = new["metadata"]
        key = (meta.get("namespace", ""), meta["name"])
        if meta.get("deletionTimestamp") and not meta.get("finalizers"):
            self._store[spec.key][key] = new
            return self._remove(spec, key, propagation="Background")
        meta["resourceVersion"] = self._next_rv()
        self._store[spec.key][key] = new
        self._emit(spec, "MODIFIED", current, new)
        if spec.key == CRD_KEY:
            self.register(spec_from_crd(new))
        return new

    def _replace(self, spec: ResourceSpec, route: Route, body: JsonObj, dry_run: bool) -> JsonObj:
        current = self._require(spec, route)
        if not isinstance(body, dict):
            raise ApiError(400, "BadRequest", "the body must be an object")
        body_name = (body.get("metadata") or {}).get("name")
        if body_name not in (None, route.name):
            raise ApiError(400, "BadRequest", "the name of the object does not match the name on the URL")
        self._check_rv(spec, current, body)
        return self._commit(spec, current, self._next_state(spec, current, body, route.subresource),
                            dry_run=dry_run)

    async def _patch(self, raw: aiohttp.web.BaseRequest, spec: ResourceSpec, route: Route,
                     dry_run: bool) -> tuple[JsonObj, int]:
        content_type = raw.headers.get("Content-Type", "").split(";")[0].strip()
        patch: Any = await self._body(raw)
        assert route.name is not None
        key = (route.namespace or "", route.name)
        if content_type == "application/apply-patch+yaml" and key not in self._store[spec.key]:
            if not isinstance(patch, dict):
                raise ApiError(400, "BadRequest", "an apply patch must be an object")
            return self._create(spec, route.namespace, patch, dry_run=dry_run), 201
        current = self._require(spec, route)
        base = self._output(spec, route.version, current)
        try:
            if content_type == "application/json-patch+json":
                patched = json_patch(base, patch)
            elif content_type in ("application/merge-patch+json", "application/strategic-merge-patch+json",
                                  "application/apply-patch+yaml"):
                if not isinstance(patch, dict):
                    raise PatchError("a merge patch must be an object")
                patched = merge_patch(base, patch)
            else:
                raise ApiError(415, "UnsupportedMediaType", f"unsupported patch type {content_type!r}")
        except PatchTestFailedError as exc:
            raise ApiError(422, "Invalid", f"the test operation of the JSON patch failed: {exc}") from exc
        except PatchError as exc:
            raise ApiError(422, "Invalid", f"the patch cannot be applied: {exc}") from exc
        self._check_rv(spec, current, patched)
        return self._commit(spec, current, self._next_state(spec, current, patched, route.subresource),
                            dry_run=dry_run), 200

    # --- deletes

    def _delete(self, spec: ResourceSpec, route: Route, params: Mapping[str, str], options: JsonObj,
                dry_run: bool) -> JsonObj:
        current = self._require(spec, route)
        preconditions = options.get("preconditions") or {}
        meta = current["metadata"]
        if preconditions.get("uid") not in (None, meta["uid"]):
            raise ApiError(409, "Conflict", "Precondition failed: UID in precondition: "
                           f"{preconditions['uid']}, UID in object meta: {meta['uid']}")
        if preconditions.get("resourceVersion") not in (None, meta["resourceVersion"]):
            raise ApiError(409, "Conflict", "Precondition failed: resourceVersion in precondition: "
                           f"{preconditions['resourceVersion']}, in object meta: {meta['resourceVersion']}")
        if dry_run:
            return current
        propagation = str(options.get("propagationPolicy") or params.get("propagationPolicy") or "Background")
        return self._delete_object(spec, (meta.get("namespace", ""), meta["name"]), propagation=propagation)

    def _delete_object(self, spec: ResourceSpec, key: ObjectKey, *, propagation: str) -> JsonObj:
        current = self._store[spec.key][key]
        meta = current["metadata"]
        if spec.key == NAMESPACE_KEY:
            return self._delete_namespace(key[1])
        if meta.get("finalizers"):
            if meta.get("deletionTimestamp"):
                return current
            new = copy.deepcopy(current)
            new["metadata"]["deletionTimestamp"] = now_rfc3339()
            new["metadata"]["deletionGracePeriodSeconds"] = 0
            new["metadata"]["resourceVersion"] = self._next_rv()
            self._store[spec.key][key] = new
            self._emit(spec, "MODIFIED", current, new)
            return new
        return self._remove(spec, key, propagation=propagation)

    def _remove(self, spec: ResourceSpec, key: ObjectKey, *, propagation: str) -> JsonObj:
        old = self._store[spec.key].pop(key)
        final = copy.deepcopy(old)
        final["metadata"]["resourceVersion"] = self._next_rv()
        self._emit(spec, "DELETED", old, final)
        if spec.key == CRD_KEY:
            served = spec_from_crd(old)
            for obj_key in list(self._store.get(served.key, {})):
                self._remove(served, obj_key, propagation="Background")
            self.unregister(served.key)
        self._collect_dependents(final["metadata"]["uid"], orphan=propagation == "Orphan")
        if spec.namespaced:
            self._finish_namespace(key[0])
        return final

    def _collect_dependents(self, owner_uid: str, *, orphan: bool) -> None:
        """Garbage collection: dependents whose last owner is gone are deleted; others lose the reference."""
        for spec_key, store in list(self._store.items()):
            spec = self._specs.get(spec_key)
            if spec is None:
                continue
            for key, obj in list(store.items()):
                refs = obj["metadata"].get("ownerReferences") or []
                if not any(ref.get("uid") == owner_uid for ref in refs):
                    continue
                remaining = [ref for ref in refs if ref.get("uid") != owner_uid]
                if remaining or orphan:
                    new = copy.deepcopy(obj)
                    if remaining:
                        new["metadata"]["ownerReferences"] = remaining
                    else:
                        new["metadata"].pop("ownerReferences", None)
                    self._commit(spec, obj, new, dry_run=False)
                elif key in store:
                    self._delete_object(spec, key, propagation="Background")

    def _delete_namespace(self, name: str) -> JsonObj:
        spec = self._specs[NAMESPACE_KEY]
        current = self._store[NAMESPACE_KEY][("", name)]
        if not current["metadata"].get("deletionTimestamp"):
            new = copy.deepcopy(current)
            new["metadata"]["deletionTimestamp"] = now_rfc3339()
            new["status"] = {"phase": "Terminating"}
            new["metadata"]["resourceVersion"] = self._next_rv()
            self._store[NAMESPACE_KEY][("", name)] = new
            self._emit(spec, "MODIFIED", current, new)
            for content_spec in list(self._specs.values()):
                if not content_spec.namespaced:
                    continue
                for key in [k for k in self._store.get(content_spec.key, {}) if k[0] == name]:
                    if key in self._store[content_spec.key]:
                        self._delete_object(content_spec, key, propagation="Background")
        self._finish_namespace(name)
        return self._store[NAMESPACE_KEY].get(("", name), current)

    def _finish_namespace(self, name: str) -> None:
        namespace = self._store[NAMESPACE_KEY].get(("", name))
        if namespace is None or not namespace["metadata"].get("deletionTimestamp"):
            return
        if namespace["metadata"].get("finalizers"):
            return
        namespaced = [store for spec_key, store in self._store.items()
                      if spec_key in self._specs and self._specs[spec_key].namespaced]
        if any(key[0] == name for store in namespaced for key in store):
            return
        self._remove(self._specs[NAMESPACE_KEY], ("", name), propagation="Background")

    def _delete_collection(self, spec: ResourceSpec, route: Route, params: Mapping[str, str],
                           options: JsonObj, dry_run: bool) -> JsonObj:
        listing = self._list(spec, route, params)
        if not dry_run:
            propagation = str(options.get("propagationPolicy") or params.get("propagationPolicy")
                              or "Background")
            for item in listing["items"]:
                key = (item["metadata"].get("namespace", ""), item["metadata"]["name"])
                if key in self._store[spec.key]:
                    self._delete_object(spec, key, propagation=propagation)
        return listing
