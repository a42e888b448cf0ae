#!/usr/bin/python3
"""kubeapi.py -- a test Kubernetes API server for passthrough-gateway watch.

It stands in for the real kube-apiserver, which cannot run on the test
machines. It speaks the parts of the real protocol the controller uses, with
the real paths and shapes:

- HTTPS (a certificate the test makes) on 127.0.0.1, HTTP/1.1 with
  keep-alive; every API request needs "Authorization: Bearer TOKEN" (401
  with a v1 Status otherwise).
- Lists: GET /apis/GROUP/VERSION/PLURAL and /api/v1/PLURAL (and the
  .../namespaces/NS/PLURAL forms) answer {"kind": "KINDList", "apiVersion",
  "metadata": {"resourceVersion"}, "items"} whose items carry no apiVersion
  or kind, as the real server's; limit/continue paging over a snapshot
  (a continue token older than the compaction point: 410 Expired);
  --max-page N answers at most N items a page whatever limit asks, as the
  real server may.
- Watches (?watch=1&resourceVersion=RV&allowWatchBookmarks=true&timeoutSeconds=N):
  a chunked stream, one JSON event per line, objects with apiVersion and
  kind; the events after RV (RV empty or "0": the current objects as
  ADDED first), BOOKMARKs every --bookmark-seconds, the end after
  timeoutSeconds. An RV older than the compaction point gets HTTP 200 and one
  ERROR event with a Status 410 Expired, as the real server's watch cache
  answers (--expired-http: a plain HTTP 410 instead).
- PATCH .../PLURAL/NAME/status with Content-Type application/merge-patch+json
  (415 otherwise): an RFC 7386 merge into the object's status only, a
  metadata.resourceVersion precondition (409 when it differs), a new
  resourceVersion, generation kept, a MODIFIED event; the patch is recorded.
- One resourceVersion counter for every kind, as etcd's revision; objects get
  metadata.resourceVersion, uid, creationTimestamp and generation (kept from
  the fixture when it sets one, bumped when anything but metadata and status
  changes).
- A kind/version can be made "not served" (404), e.g. TLSRoute v1 to make a
  client fall back to v1alpha2.

What it does not do: discovery (/api, /apis), label and field selectors,
server-side apply, strategic merge patch, JSON patch, writes other than
status patches, admission or validation, namespaces' lifecycle, RBAC.

Control endpoints for the tests (no authentication, under /_test/):
  POST /_test/apply          body: YAML or JSON objects (several documents,
                             kind: List): add or replace each (ADDED/MODIFIED)
  POST /_test/delete?kind=K&namespace=NS&name=N   (DELETED)
  POST /_test/expire         compaction at the current resourceVersion: older
                             RVs get 410, open watches get the ERROR 410 event
  POST /_test/drop           every open watch stream closed abruptly (no
                             last chunk); answers {"dropped": N}
  POST /_test/serve?plural=P&version=V&served=0|1
  GET  /_test/patches[?since=SEQ]    the recorded status patches
  GET  /_test/requests[?since=SEQ]   the API requests seen (method, path,
                                     query, params, status), in order; a
                                     watch also has lastRV (the last
                                     resourceVersion it sent: an event's or
                                     a bookmark's) and, once over, end
                                     (timeout, expired, dropped, client-closed)
  GET  /_test/object?kind=K&namespace=NS&name=N   the object as stored
  GET  /_test/state          {"resourceVersion", "compacted", "watches"}

Usage: kubeapi.py --cert F --key F --token T|--token-file F --port-file F
           [--fixtures DIR]... [--not-served PLURAL/VERSION]...
           [--bookmark-seconds S] [--split-events] [--expired-http] [--max-page N]
       kubeapi.py --self-check     (starts one on a temp certificate made
                                    with openssl and exercises it with
                                    http.client; exit 0 when all is well)
Python 3 standard library and PyYAML only: run it with /usr/bin/python3.
"""

import argparse
import base64
import copy
import datetime
import http.client
import http.server
import json
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid

import yaml

# plural -> (group, kind, namespaced, versions served by default)
KINDS = {
    "gatewayclasses": ("gateway.networking.k8s.io", "GatewayClass", False, ["v1", "v1beta1"]),
    "gateways": ("gateway.networking.k8s.io", "Gateway", True, ["v1", "v1beta1"]),
    "tlsroutes": ("gateway.networking.k8s.io", "TLSRoute", True, ["v1", "v1alpha3", "v1alpha2"]),
    "referencegrants": ("gateway.networking.k8s.io", "ReferenceGrant", True, ["v1beta1", "v1alpha2"]),
    "services": ("", "Service", True, ["v1"]),
    "endpointslices": ("discovery.k8s.io", "EndpointSlice", True, ["v1"]),
    "ingresses": ("networking.k8s.io", "Ingress", True, ["v1"]),
    "namespaces": ("", "Namespace", False, ["v1"]),
}
PLURAL_OF = {v[1]: k for k, v in KINDS.items()}

# How long a watch without timeoutSeconds lasts (the real server picks 30-60 min).
WATCH_DEFAULT_SECONDS = 1800
# How often a waiting watch thread wakes to check its deadline and bookmarks.
WATCH_TICK_SECONDS = 0.2


def now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def status_obj(code, reason, message):
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


def merge_patch(target, patch):
    """RFC 7386: patch merged into target (a copy); null removes a member."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


def without_meta_status(obj):
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


class Store:
    """The objects, the event log, the recorded patches and requests; one lock."""

    def __init__(self, not_served):
        self.cond = threading.Condition()
        self.rv = 1
        self.compacted = 0          # watches and continues from an RV below this get 410
        self.expire_epoch = 0       # bumped by expire: open watches end with 410
        self.drop_epoch = 0         # bumped by drop: open watches close abruptly
        self.objects = {}           # (plural, ns, name) -> object (apiVersion group/first version)
        self.events = []            # (rv, type, plural, object)
        self.patches = []
        self.requests = []
        self.watches = 0
        self.snapshots = {}         # continue id -> (rv, [items])
        self.not_served = set(not_served)

    # ---- objects -------------------------------------------------------------

    def _emit(self, etype, plural, obj):
        self.events.append((self.rv, etype, plural, copy.deepcopy(obj)))
        self.cond.notify_all()

    def apply(self, obj):
        kind = obj.get("kind")
        if kind not in PLURAL_OF:
            raise ValueError("unknown kind %r" % kind)
        plural = PLURAL_OF[kind]
        group, _, namespaced, versions = KINDS[plural]
        meta = obj.setdefault("metadata", {})
        name = meta.get("name")
        if not name:
            raise ValueError("%s without metadata.name" % kind)
        ns = meta.get("namespace", "default") if namespaced else None
        if namespaced:
            meta["namespace"] = ns
        else:
            meta.pop("namespace", None)
        with self.cond:
            key = (plural, ns, name)
            old = self.objects.get(key)
            self.rv += 1
            meta["resourceVersion"] = str(self.rv)
            if old is None:
                meta["uid"] = str(uuid.uuid4())
                meta["creationTimestamp"] = now_rfc3339()
                meta["generation"] = int(meta.get("generation", 1))
                etype = "ADDED"
            else:
                om = old["metadata"]
                meta["uid"] = om["uid"]
                meta["creationTimestamp"] = om["creationTimestamp"]
                changed = without_meta_status(old) != without_meta_status(obj)
                meta["generation"] = om["generation"] + (1 if changed else 0)
                if "status" not in obj and "status" in old:
                    obj["status"] = old["status"]
                etype = "MODIFIED"
            obj["apiVersion"] = (group + "/" if group else "") + versions[0]
            self.objects[key] = obj
            self._emit(etype, plural, obj)
            return copy.deepcopy(obj)

    def delete(self, kind, ns, name):
        plural = PLURAL_OF.get(kind)
        if plural is None:
            return None
        if not KINDS[plural][2]:
            ns = None
        with self.cond:
            obj = self.objects.pop((plural, ns, name), None)
            if obj is None:
                return None
            self.rv += 1
            obj["metadata"]["resourceVersion"] = str(self.rv)
            self._emit("DELETED", plural, obj)
            return copy.deepcopy(obj)

    def patch_status(self, plural, ns, name, patch, record):
        """(code, body): the merge patch applied to the object's status."""
        with self.cond:
            obj = self.objects.get((plural, ns, name))
            if obj is None:
                return 404, status_obj(404, "NotFound", '%s "%s" not found' % (plural, name))
            want_rv = (patch.get("metadata") or {}).get("resourceVersion")
            if want_rv is not None and want_rv != obj["metadata"]["resourceVersion"]:
                return 409, status_obj(409, "Conflict", "the object has been modified")
            merged = merge_patch({"status": obj.get("status")}, {"status": patch.get("status")})
            if merged.get("status") is None:
                obj.pop("status", None)
            else:
                obj["status"] = merged["status"]
            self.rv += 1
            obj["metadata"]["resourceVersion"] = str(self.rv)
            record["resourceVersion"] = str(self.rv)
            record["seq"] = len(self.patches)
            self.patches.append(record)
            self._emit("MODIFIED", plural, obj)
            return 200, copy.deepcopy(obj)

    def expire(self):
        with self.cond:
            self.compacted = self.rv
            self.expire_epoch += 1
            self.snapshots.clear()
            self.cond.notify_all()
            return self.rv

    def drop(self):
        with self.cond:
            n = self.watches
            self.drop_epoch += 1
            self.cond.notify_all()
            return n

    def record_request(self, entry):
        with self.cond:
            entry["seq"] = len(self.requests)
            self.requests.append(entry)


def as_version(obj, group, version):
    o = copy.deepcopy(obj)
    o["apiVersion"] = (group + "/" if group else "") + version
    return o


def load_documents(text):
    """The objects of a YAML (or JSON) text: several documents, kind: List expanded."""
    out = []
    for doc in yaml.safe_load_all(text):
        if doc is None:
            continue
        if not isinstance(doc, dict):
            raise ValueError("a document is not an object")
        if doc.get("kind") == "List" or (doc.get("kind", "").endswith("List") and "items" in doc):
            out.extend(i for i in doc.get("items") or [] if i)
        else:
            out.append(doc)
    return out


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kubeapi-test"

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("kubeapi: " + (fmt % args) + "\n")

    # ---- plumbing --------------------------------------------------------------

    def send_json(self, code, body, headers=None):
        data = (json.dumps(body) + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)
        self.status_sent = code

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def parse(self):
        u = urllib.parse.urlsplit(self.path)
        self.upath = u.path
        self.query = u.query
        self.params = {k: v[-1] for k, v in urllib.parse.parse_qs(u.query, keep_blank_values=True).items()}

    def handle_one_request(self):
        self.status_sent = None
        super().handle_one_request()

    def dispatch(self, method):
        self.parse()
        if self.upath.startswith("/_test/"):
            try:
                self.control(method)
            except (ValueError, yaml.YAMLError, json.JSONDecodeError) as ex:
                self.send_json(400, {"error": str(ex)})
            return
        store = self.server.store
        entry = {"method": method, "path": self.upath, "query": self.query, "params": self.params,
                 "time": time.time()}
        store.record_request(entry)
        self.entry = entry
        if not self.authorized():
            self.read_body()
            self.send_json(401, status_obj(401, "Unauthorized", "Unauthorized"))
        else:
            self.api(method)
        self.mark("status", self.status_sent)

    def mark(self, key, value, keep=False):
        """Sets a field of this request's log entry (under the lock: /_test/requests copies them)."""
        with self.server.store.cond:
            if not (keep and key in self.entry):
                self.entry[key] = value

    def authorized(self):
        want = self.server.token()
        got = self.headers.get("Authorization", "")
        return want is not None and got == "Bearer " + want

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_PATCH(self):
        self.dispatch("PATCH")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_DELETE(self):
        self.dispatch("DELETE")

    # ---- the API ----------------------------------------------------------------

    def route(self):
        """(group, version, ns, plural, name, subresource) of an API path, or None."""
        parts = [p for p in self.upath.split("/") if p]
        if len(parts) >= 2 and parts[0] == "api":
            group, version, rest = "", parts[1], parts[2:]
        elif len(parts) >= 3 and parts[0] == "apis":
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            return None
        ns = None
        if len(rest) >= 3 and rest[0] == "namespaces":
            ns, rest = urllib.parse.unquote(rest[1]), rest[2:]
        if not rest or len(rest) > 3:
            return None
        plural = rest[0]
        name = urllib.parse.unquote(rest[1]) if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        return group, version, ns, plural, name, sub

    def api(self, method):
        r = self.route()
        body = self.read_body()
        if r is None:
            return self.send_json(404, status_obj(404, "NotFound", "the server could not find the requested resource"))
        group, version, ns, plural, name, sub = r
        k = KINDS.get(plural)
        store = self.server.store
        if (k is None or k[0] != group or version not in k[3] or (plural, version) in store.not_served
                or (ns is not None and not k[2])):
            return self.send_json(404, status_obj(404, "NotFound", "the server could not find the requested resource"))
        if method == "GET" and name is None:
            if self.params.get("watch") in ("1", "true"):
                return self.watch(group, version, ns, plural)
            return self.list(group, version, ns, plural)
        if method == "GET" and sub is None:
            with store.cond:
                obj = store.objects.get((plural, ns if k[2] else None, name))
                obj = copy.deepcopy(obj) if obj else None
            if obj is None:
                return self.send_json(404, status_obj(404, "NotFound", '%s "%s" not found' % (plural, name)))
            return self.send_json(200, as_version(obj, group, version))
        if method == "PATCH" and sub == "status" and name is not None and (ns is not None) == k[2]:
            ctype = self.headers.get("Content-Type", "").split(";")[0].strip()
            if ctype != "application/merge-patch+json":
                return self.send_json(415, status_obj(415, "UnsupportedMediaType",
                                                      "the body of the request was in an unknown format"))
            try:
                patch = json.loads(body)
            except ValueError as ex:
                return self.send_json(400, status_obj(400, "BadRequest", "bad JSON: %s" % ex))
            if not isinstance(patch, dict):
                return self.send_json(400, status_obj(400, "BadRequest", "a merge patch must be an object"))
            record = {"kind": k[1], "plural": plural, "apiVersion": (group + "/" if group else "") + version,
                      "namespace": ns, "name": name, "path": self.upath, "contentType": ctype,
                      "patch": patch, "time": time.time()}
            code, out = store.patch_status(plural, ns, name, patch, record)
            if code == 200:
                out = as_version(out, group, version)
            return self.send_json(code, out)
        return self.send_json(405, status_obj(405, "MethodNotAllowed", "not supported by this test server"))

    def matching(self, plural, ns):
        store = self.server.store
        items = [o for (p, ons, _), o in store.objects.items() if p == plural and (ns is None or ons == ns)]
        items.sort(key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
        return items

    def list(self, group, version, ns, plural):
        store = self.server.store
        limit = int(self.params.get("limit") or 0)
        if self.server.max_page > 0 and (limit <= 0 or limit > self.server.max_page):
            # As the real server may: fewer items than asked for, and a continue token.
            limit = self.server.max_page
        cont = self.params.get("continue") or ""
        with store.cond:
            if cont:
                snap = store.snapshots.get(cont)
                if snap is None:
                    return self.send_json(410, status_obj(
                        410, "Expired", "The provided continue parameter is too old to display a consistent "
                        "list result. You can start a new list without the continue parameter."))
                rv, items = snap
            else:
                rv, items = store.rv, [copy.deepcopy(o) for o in self.matching(plural, ns)]
            page, rest = (items[:limit], items[limit:]) if limit > 0 else (items, [])
            meta = {"resourceVersion": str(rv)}
            if rest:
                token = base64.urlsafe_b64encode(os.urandom(12)).decode()
                store.snapshots[token] = (rv, rest)
                meta["continue"] = token
                meta["remainingItemCount"] = len(rest)
            if cont:
                store.snapshots.pop(cont, None)
        out_items = []
        for o in page:
            o = copy.deepcopy(o)
            o.pop("apiVersion", None)
            o.pop("kind", None)
            out_items.append(o)
        self.send_json(200, {"kind": KINDS[plural][1] + "List", "apiVersion": (group + "/" if group else "") + version,
                             "metadata": meta, "items": out_items})

    # ---- watch ----------------------------------------------------------------------

    def chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def send_event(self, etype, obj):
        data = (json.dumps({"type": etype, "object": obj}) + "\n").encode()
        if self.server.split_events and len(data) > 2:
            # Split across chunks (and TCP writes) to exercise the client's line splitter.
            half = len(data) // 2
            self.chunk(data[:half])
            time.sleep(0.005)
            self.chunk(data[half:])
        else:
            self.chunk(data)

    def watch(self, group, version, ns, plural):
        store = self.server.store
        kind = KINDS[plural][1]
        api_version = (group + "/" if group else "") + version
        rv_param = self.params.get("resourceVersion", "")
        bookmarks = self.params.get("allowWatchBookmarks") in ("1", "true")
        try:
            timeout = int(self.params.get("timeoutSeconds") or WATCH_DEFAULT_SECONDS)
            since = int(rv_param) if rv_param not in ("", "0") else None
        except ValueError:
            return self.send_json(400, status_obj(400, "BadRequest", "bad resourceVersion or timeoutSeconds"))
        with store.cond:
            expired = since is not None and since < store.compacted
            compacted = store.compacted
            if expired and self.server.expired_http:
                return self.send_json(410, status_obj(
                    410, "Expired", "too old resource version: %d (%d)" % (since, compacted)))
            initial = []
            if since is None:
                initial = [copy.deepcopy(o) for o in self.matching(plural, ns)]
                since = store.rv
            drop_epoch, expire_epoch = store.drop_epoch, store.expire_epoch
            store.watches += 1
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.flush()
            self.status_sent = 200
            self.mark("status", 200)
            if expired:
                self.send_event("ERROR", status_obj(
                    410, "Expired", "too old resource version: %d (%d)" % (since, compacted)))
                self.chunk(b"")
                self.mark("end", "expired")
                return
            for o in initial:
                self.send_event("ADDED", as_version(o, group, version))
            self.mark("lastRV", str(since))
            self.stream(store, plural, ns, group, version, kind, api_version, since, timeout, bookmarks,
                        drop_epoch, expire_epoch)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            self.close_connection = True
            self.mark("end", "client-closed", keep=True)
        finally:
            with store.cond:
                store.watches -= 1

    def stream(self, store, plural, ns, group, version, kind, api_version, since, timeout, bookmarks,
               drop_epoch, expire_epoch):
        deadline = time.monotonic() + timeout
        next_bookmark = time.monotonic() + self.server.bookmark_seconds
        last = since
        while True:
            with store.cond:
                pending = [e for e in store.events if e[0] > last and e[2] == plural
                           and (ns is None or e[3]["metadata"].get("namespace") == ns)]
                dropped = store.drop_epoch != drop_epoch
                expired = store.expire_epoch != expire_epoch
                current = store.rv
                compacted = store.compacted
                now = time.monotonic()
                due = now >= deadline or (bookmarks and now >= next_bookmark)
                if not (pending or dropped or expired or due):
                    store.cond.wait(min(min(deadline, next_bookmark) - now, WATCH_TICK_SECONDS))
                    continue
            if dropped:
                # Abruptly: no last chunk, no TLS close_notify.
                self.close_connection = True
                self.mark("end", "dropped")
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            for rv, etype, _, obj in pending:
                self.send_event(etype, as_version(obj, group, version))
                last = rv
                self.mark("lastRV", str(last))
            if expired:
                self.send_event("ERROR", status_obj(
                    410, "Expired", "too old resource version: %d (%d)" % (last, compacted)))
                self.chunk(b"")
                self.mark("end", "expired")
                return
            if bookmarks and now >= next_bookmark:
                self.send_event("BOOKMARK", {"kind": kind, "apiVersion": api_version,
                                             "metadata": {"resourceVersion": str(current)}})
                last = max(last, current)
                self.mark("lastRV", str(last))
                next_bookmark = now + self.server.bookmark_seconds
            if now >= deadline:
                self.chunk(b"")
                self.mark("end", "timeout")
                return

    # ---- control --------------------------------------------------------------------

    def control(self, method):
        store = self.server.store
        what = self.upath[len("/_test/"):]
        body = self.read_body()
        p = self.params
        if method == "POST" and what == "apply":
            objs = load_documents(body.decode())
            return self.send_json(200, {"items": [store.apply(o) for o in objs]})
        if method == "POST" and what == "delete":
            obj = store.delete(p.get("kind"), p.get("namespace", "default"), p.get("name"))
            if obj is None:
                return self.send_json(404, {"error": "no such object"})
            return self.send_json(200, obj)
        if method == "POST" and what == "expire":
            return self.send_json(200, {"compacted": store.expire()})
        if method == "POST" and what == "drop":
            return self.send_json(200, {"dropped": store.drop()})
        if method == "POST" and what == "serve":
            key = (p.get("plural"), p.get("version"))
            with store.cond:
                if p.get("served") == "0":
                    store.not_served.add(key)
                else:
                    store.not_served.discard(key)
            return self.send_json(200, {"notServed": sorted("/".join(x) for x in store.not_served)})
        if method == "GET" and what in ("patches", "requests"):
            since = int(p.get("since") or 0)
            with store.cond:
                items = copy.deepcopy(getattr(store, what)[since:])
            return self.send_json(200, {"items": items})
        if method == "GET" and what == "object":
            plural = PLURAL_OF.get(p.get("kind"))
            if plural is None:
                return self.send_json(404, {"error": "unknown kind"})
            ns = p.get("namespace", "default") if KINDS[plural][2] else None
            with store.cond:
                obj = copy.deepcopy(store.objects.get((plural, ns, p.get("name"))))
            return self.send_json(200 if obj else 404, obj if obj else {"error": "no such object"})
        if method == "GET" and what == "state":
            with store.cond:
                st = {"resourceVersion": str(store.rv), "compacted": str(store.compacted),
                      "watches": store.watches}
            return self.send_json(200, st)
        return self.send_json(404, {"error": "no such control endpoint"})


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # A client opens a connection per kind at once (lists, then watches, on
    # one curl multi handle): socketserver's backlog of 5 would drop SYNs.
    request_queue_size = 128

    def __init__(self, addr, ctx, store, token, token_file, bookmark_seconds, split_events, expired_http,
                 max_page=0, verbose=False):
        super().__init__(addr, Handler)
        self.ctx = ctx
        self.store = store
        self._token = token
        self.token_file = token_file
        self.bookmark_seconds = bookmark_seconds
        self.split_events = split_events
        self.expired_http = expired_http
        self.max_page = max_page
        self.verbose = verbose

    def token(self):
        if self.token_file:
            try:
                with open(self.token_file) as f:
                    return f.read().strip()
            except OSError:
                return None
        return self._token

    def finish_request(self, request, client_address):
        # The TLS handshake in the request's thread, not in the accepting one.
        try:
            tls = self.ctx.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            try:
                tls.close()
            except OSError:
                pass


def serve(args):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    store = Store(tuple(x.split("/", 1)) for x in args.not_served)
    for d in args.fixtures:
        for f in sorted(os.listdir(d)):
            if f.endswith((".yaml", ".yml", ".json")) and f != "expect.json":
                with open(os.path.join(d, f)) as fh:
                    for o in load_documents(fh.read()):
                        store.apply(o)
    srv = Server((args.host, args.port), ctx, store, args.token, args.token_file, args.bookmark_seconds,
                 args.split_events, args.expired_http, args.max_page, args.verbose)
    port = srv.server_address[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, args.port_file)
    return srv


# ---- self-check -----------------------------------------------------------------------

def self_check():
    """Starts a server on a throwaway certificate and checks what the tests rely on."""
    d = tempfile.mkdtemp(prefix="kubeapi-check.")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", d + "/k.pem", "-out", d + "/c.pem", "-days", "1", "-subj",
                    "/CN=kubeapi", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    fx = d + "/fx"
    os.mkdir(fx)
    with open(fx + "/a.yaml", "w") as f:
        f.write("apiVersion: v1\nkind: Service\nmetadata: {name: s1, namespace: ns}\nspec: {clusterIP: 127.0.0.2}\n"
                "---\napiVersion: v1\nkind: Service\nmetadata: {name: s2, namespace: ns}\nspec: {}\n"
                "---\napiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\n"
                "metadata: {name: gw, namespace: ns, generation: 5}\nspec: {gatewayClassName: x}\n"
                "status: {conditions: [{type: Other}]}\n")
    ns = argparse.Namespace(cert=d + "/c.pem", key=d + "/k.pem", token="tok", token_file=None,
                            port_file=None, fixtures=[fx], not_served=["tlsroutes/v1"], bookmark_seconds=0.3,
                            split_events=True, expired_http=False, max_page=0, verbose=False,
                            host="127.0.0.1", port=0)
    srv = serve(ns)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    port = srv.server_address[1]
    cctx = ssl.create_default_context(cafile=d + "/c.pem")
    fails = []

    def check(what, cond):
        print(("ok   " if cond else "FAIL ") + what)
        if not cond:
            fails.append(what)

    def req(method, path, body=None, auth=True, ctype="application/json"):
        c = http.client.HTTPSConnection("127.0.0.1", port, context=cctx, timeout=10)
        h = {"Content-Type": ctype}
        if auth:
            h["Authorization"] = "Bearer tok"
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, (json.loads(data) if data.strip() else None)

    def watch_lines(path, n):
        c = http.client.HTTPSConnection("127.0.0.1", port, context=cctx, timeout=10)
        c.request("GET", path, headers={"Authorization": "Bearer tok"})
        r = c.getresponse()
        out = []
        try:
            while len(out) < n:
                line = r.readline()
                if not line:
                    break
                out.append(json.loads(line))
        except (http.client.IncompleteRead, OSError) as ex:
            out.append({"type": "CLOSED", "error": repr(ex)})
        return c, r, out

    code, _ = req("GET", "/api/v1/services", auth=False)
    check("no token: 401", code == 401)
    code, lst = req("GET", "/api/v1/services")
    check("list: 200 ServiceList", code == 200 and lst["kind"] == "ServiceList" and lst["apiVersion"] == "v1")
    check("list items lack apiVersion/kind", all("kind" not in i and "apiVersion" not in i for i in lst["items"]))
    check("items have rv, uid, creationTimestamp, generation",
          all({"resourceVersion", "uid", "creationTimestamp", "generation"} <= set(i["metadata"])
              for i in lst["items"]))
    rv0 = int(lst["metadata"]["resourceVersion"])
    code, p1 = req("GET", "/api/v1/services?limit=1")
    code2, p2 = req("GET", "/api/v1/services?limit=1&continue=" + urllib.parse.quote(p1["metadata"]["continue"]))
    check("limit/continue pages", len(p1["items"]) == 1 and len(p2["items"]) == 1
          and "continue" not in p2["metadata"] and p2["metadata"]["resourceVersion"] == p1["metadata"]["resourceVersion"])
    code, _ = req("GET", "/apis/gateway.networking.k8s.io/v1/tlsroutes")
    check("tlsroutes v1 not served: 404", code == 404)
    code, _ = req("GET", "/apis/gateway.networking.k8s.io/v1alpha2/tlsroutes")
    check("tlsroutes v1alpha2 served", code == 200)
    code, gw = req("GET", "/apis/gateway.networking.k8s.io/v1/gateways")
    check("fixture generation kept", gw["items"][0]["metadata"]["generation"] == 5)

    # A watch from the list's RV sees an apply, a status patch, a delete, bookmarks.
    result = {}

    def watcher():
        result["w"] = watch_lines("/api/v1/services?watch=1&resourceVersion=%d&allowWatchBookmarks=true"
                                  "&timeoutSeconds=3" % rv0, 5)
    t = threading.Thread(target=watcher)
    t.start()
    time.sleep(0.2)
    srv.store.apply(load_documents("apiVersion: v1\nkind: Service\nmetadata: {name: s3, namespace: ns}\nspec: {}\n")[0])
    code, out = req("PATCH", "/api/v1/namespaces/ns/services/s1/status", json.dumps({"status": {"x": 1}}),
                    ctype="application/merge-patch+json")
    check("status patch: 200", code == 200 and out["status"] == {"x": 1})
    code, _ = req("PATCH", "/api/v1/namespaces/ns/services/s1/status", "{}", ctype="application/json")
    check("a patch not merge-patch+json: 415", code == 415)
    srv.store.delete("Service", "ns", "s2")
    t.join()
    _, _, ev = result["w"]
    types = [e["type"] for e in ev]
    check("watch events ADDED MODIFIED DELETED (got %s)" % types,
          [x for x in types if x != "BOOKMARK"][:3] == ["ADDED", "MODIFIED", "DELETED"])
    check("watch objects carry apiVersion and kind",
          all(e["object"].get("kind") == "Service" and e["object"].get("apiVersion") == "v1" for e in ev))
    check("a bookmark came", "BOOKMARK" in types)
    code, ps = req("GET", "/_test/patches")
    check("the patch is recorded", len(ps["items"]) == 1 and ps["items"][0]["patch"] == {"status": {"x": 1}})
    code, g = req("PATCH", "/apis/gateway.networking.k8s.io/v1/namespaces/ns/gateways/gw/status",
                  json.dumps({"status": {"conditions": None, "listeners": []}}), ctype="application/merge-patch+json")
    check("merge patch null removes, generation kept",
          code == 200 and g["status"] == {"listeners": []} and g["metadata"]["generation"] == 5)
    srv.store.apply(load_documents("apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\n"
                                   "metadata: {name: gw, namespace: ns}\nspec: {gatewayClassName: y}\n")[0])
    code, g = req("GET", "/apis/gateway.networking.k8s.io/v1/namespaces/ns/gateways/gw")
    check("a spec change bumps generation, keeps status",
          g["metadata"]["generation"] == 6 and g["status"] == {"listeners": []})

    # Expire: an old RV gets the 410 ERROR event; an open watch gets it too.
    def watcher2():
        result["w2"] = watch_lines("/api/v1/services?watch=1&resourceVersion=%s&timeoutSeconds=10"
                                   % srv.store.rv, 2)
    t = threading.Thread(target=watcher2)
    t.start()
    time.sleep(0.3)
    req("POST", "/_test/expire")
    t.join()
    ev = result["w2"][2]
    check("an open watch gets ERROR 410 on expire", ev and ev[0]["type"] == "ERROR" and ev[0]["object"]["code"] == 410)
    _, _, ev = watch_lines("/api/v1/services?watch=1&resourceVersion=%d" % rv0, 1)
    check("an expired RV gets ERROR 410 Expired",
          ev and ev[0]["type"] == "ERROR" and ev[0]["object"]["reason"] == "Expired")

    # Drop: the stream ends without its last chunk; a timeout ends with it.
    def raw_watch(path, key):
        s = cctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10),
                             server_hostname="127.0.0.1")
        s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tok\r\n\r\n" % path).encode())
        data = b""
        try:
            while True:
                b = s.recv(65536)
                if not b:
                    break
                data += b
                if data.endswith(b"\r\n0\r\n\r\n"):
                    break
        except (OSError, ssl.SSLError):
            pass
        s.close()
        result[key] = data
    path = "/api/v1/services?watch=1&resourceVersion=%s&timeoutSeconds=%d"
    t = threading.Thread(target=raw_watch, args=(path % (srv.store.rv, 10), "w3"))
    t.start()
    time.sleep(0.3)
    code, d1 = req("POST", "/_test/drop")
    t.join()
    check("drop closes the stream abruptly", d1["dropped"] == 1 and result["w3"].startswith(b"HTTP/1.1 200")
          and not result["w3"].endswith(b"0\r\n\r\n"))
    raw_watch(path % (srv.store.rv, 1), "w4")
    check("timeoutSeconds ends the stream with its last chunk", result["w4"].endswith(b"\r\n0\r\n\r\n"))
    code, rq = req("GET", "/_test/requests")
    check("requests are recorded", any(r["params"].get("watch") == "1" for r in rq["items"]))
    ends = [r.get("end") for r in rq["items"] if r["params"].get("watch") == "1"]
    check("watches record how they ended (%s)" % ends, "dropped" in ends and "timeout" in ends
          and "expired" in ends)
    check("watches record the last RV sent", all("lastRV" in r for r in rq["items"]
                                                  if r["params"].get("watch") == "1" and r.get("end") != "expired"))
    srv.shutdown()
    subprocess.run(["rm", "-rf", d])
    print("self-check: %s" % ("all checks passed" if not fails else "%d failed" % len(fails)))
    return 1 if fails else 0


def main():
    ap = argparse.ArgumentParser(description="a test Kubernetes API server (see the header)")
    ap.add_argument("--self-check", action="store_true")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--token")
    ap.add_argument("--token-file", help="read at every request (rotation)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--fixtures", action="append", default=[], help="a directory of YAML/JSON objects")
    ap.add_argument("--not-served", action="append", default=[], metavar="PLURAL/VERSION")
    ap.add_argument("--bookmark-seconds", type=float, default=2.0)
    ap.add_argument("--split-events", action="store_true", help="write each watch event in two chunks")
    ap.add_argument("--expired-http", action="store_true", help="answer an expired watch RV with HTTP 410")
    ap.add_argument("--max-page", type=int, default=0, help="at most this many items per list answer")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    if args.self_check:
        return self_check()
    if not args.cert or not args.key or not (args.token or args.token_file):
        ap.error("--cert, --key and --token or --token-file are needed")
    srv = serve(args)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    import signal
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    sys.exit(main())
