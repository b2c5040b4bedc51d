"""Shared machinery of the runnerfleet API simulators.

The simulators stand in for Azure Resource Manager, Entra ID and GitLab in the demo and in the
integration tests, so the controller's HTTP client (libcurl with keep-alive, TLS verification,
Expect: 100-continue, retries on dropped connections) must see an ordinary, well-behaved HTTPS
server.  This module supplies that server and everything every simulator shares:

* ``SimServer``: a threaded HTTP/1.1 server on 127.0.0.1 (port 0 = any free port), optionally
  wrapped in TLS; every response carries Content-Length (204/304 excepted, as RFC 9110 wants)
  so keep-alive works, and access logging stays quiet.
* ``RequestLog`` and ``FaultTable``: what tests read and inject through ``/_sim/``.
* the common ``/_sim/`` control API (health, requests, state, faults, reset).
* ``Request``/``Response`` and JSON helpers for the service code.

A service is an object with ``handle(req) -> Response``; see ``Service`` for the full contract.
"""

import collections
import json
import os
import re
import signal
import socket
import ssl
import sys
import threading
import time
import traceback
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY = 8 * 1024 * 1024          # request bodies above this get 413
WRITE_METHODS = ("PUT", "PATCH", "POST", "DELETE")


def dumps(obj):
    """Compact JSON, as the real services send it."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


class Request:
    """One parsed HTTP request, as the service code sees it."""

    def __init__(self, method, raw_path, headers, body, client_ip, base_url):
        self.method = method.upper()
        self.raw_path = raw_path            # path plus query string, as received
        parts = urllib.parse.urlsplit(raw_path)
        self.path = parts.path
        self.query_string = parts.query
        self.query = urllib.parse.parse_qs(parts.query, keep_blank_values=True)
        self.headers = headers              # case-insensitive email.message.Message
        self.body = body
        self.client_ip = client_ip
        self.base_url = base_url            # "https://127.0.0.1:PORT", for absolute URLs we send
        self.operation_fails = None         # set by an ARM "operation_fails" fault
        self._json = None

    def q(self, name, default=None):
        """First value of query parameter ``name``."""
        vals = self.query.get(name)
        return vals[0] if vals else default

    def header(self, name, default=None):
        return self.headers.get(name, default)

    def json(self):
        """The body parsed as JSON (None when empty); raises ValueError when malformed."""
        if self._json is None and self.body:
            self._json = json.loads(self.body.decode("utf-8"))
        return self._json

    def form(self):
        """The body parsed as application/x-www-form-urlencoded (dict of lists)."""
        return urllib.parse.parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)

    def is_json(self):
        return "json" in (self.header("Content-Type") or "").lower()


class Response:
    """A response; ``body`` may be bytes, str (sent as given) or any JSON value."""

    def __init__(self, status, body=None, headers=None, content_type=None):
        self.status = status
        self.headers = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
        if body is None:
            self.payload = b""
        elif isinstance(body, bytes):
            self.payload = body
        elif isinstance(body, str):
            self.payload = body.encode("utf-8")
            content_type = content_type or "text/plain; charset=utf-8"
        else:
            self.payload = dumps(body).encode("utf-8")
            content_type = content_type or "application/json"
        self.content_type = content_type

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def set_header(self, name, value):
        self.headers = [(k, v) for k, v in self.headers if k.lower() != name.lower()]
        self.headers.append((name, str(value)))


def json_response(status, obj, headers=None):
    return Response(status, obj, headers)


class Service:
    """What a simulator implements.  The defaults make a service that knows nothing."""

    name = "service"

    def handle(self, req):                       # -> Response, for every non-/_sim/ request
        return Response(404, {"error": "not found"})

    def control(self, req, sub):                 # extra /_sim/<sub> endpoints; None = unknown
        return None

    def state(self):                             # JSON of everything the service holds
        return {}

    def reset(self):                             # back to the seeded state
        pass

    def fault_response(self, req, fault):        # a realistic error for an injected status
        return Response(fault.status, fault.body if fault.body is not None else {"error": "injected"})

    def finalize(self, req, resp):               # add headers every response of the service has
        pass


class RequestLog:
    """Method, path (with query) and status of every non-/_sim/ request, in order.

    Bounded (SIM_REQUEST_LOG_MAX, default 200000 entries) so a long scale run cannot eat memory;
    the oldest entries fall off first.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._entries = collections.deque(maxlen=int(os.environ.get("SIM_REQUEST_LOG_MAX", "200000")))

    def add(self, method, path, status):
        with self._lock:
            self._entries.append((method, path, status))

    def clear(self):
        with self._lock:
            self._entries.clear()

    def as_json(self):
        with self._lock:
            return [{"method": m, "path": p, "status": s} for m, p, s in self._entries]


class Fault:
    """One injected fault; see FaultTable.add for the accepted fields."""

    FIELDS = ("method", "path", "status", "body", "headers", "delay_ms", "drop", "count", "operation_fails")

    def __init__(self, fid, spec):
        unknown = set(spec) - set(self.FIELDS)
        if unknown:
            raise ValueError("unknown fault field(s): %s" % ", ".join(sorted(unknown)))
        if not isinstance(spec.get("path"), str):
            raise ValueError("fault needs \"path\": a regular expression searched in path+query")
        self.id = fid
        self.pattern = spec["path"]
        self.regex = re.compile(self.pattern)
        self.method = spec.get("method")
        self.method = self.method.upper() if self.method else None
        self.status = spec.get("status")
        self.body = spec.get("body")
        self.headers = spec.get("headers") or {}
        self.delay_ms = int(spec.get("delay_ms") or 0)
        self.drop = bool(spec.get("drop"))
        self.count = int(spec.get("count", 1))
        self.operation_fails = spec.get("operation_fails")
        if self.status is not None and not (isinstance(self.status, int) and 100 <= self.status <= 599):
            raise ValueError("\"status\" must be an HTTP status code")
        if self.operation_fails is not None:
            if not isinstance(self.operation_fails, dict) or "code" not in self.operation_fails:
                raise ValueError("\"operation_fails\" must be {\"code\":..., \"message\":...}")
        if not (self.status or self.drop or self.delay_ms or self.operation_fails):
            raise ValueError("a fault needs at least one of status, drop, delay_ms, operation_fails")
        if self.count == 0 or self.count < -1:
            raise ValueError("\"count\" must be >= 1, or -1 for every matching request")

    def matches(self, req):
        if self.method and self.method != req.method:
            return False
        # A failed-operation fault is about writes; letting a GET or a status poll use it up
        # would make tests depend on the client's polling order.
        if self.operation_fails is not None and req.method not in WRITE_METHODS:
            return False
        return self.regex.search(req.raw_path) is not None

    def as_json(self):
        out = {"id": self.id, "path": self.pattern, "count": self.count}
        for k in ("method", "status", "body", "operation_fails"):
            if getattr(self, k) is not None:
                out[k] = getattr(self, k)
        if self.headers:
            out["headers"] = self.headers
        if self.delay_ms:
            out["delay_ms"] = self.delay_ms
        if self.drop:
            out["drop"] = True
        return out


class FaultTable:
    """Faults waiting for matching requests; the first match wins and uses one of its count."""

    def __init__(self):
        self._lock = threading.Lock()
        self._faults = []
        self._next_id = 1

    def add(self, spec):
        with self._lock:
            fault = Fault(self._next_id, spec)
            self._next_id += 1
            self._faults.append(fault)
            return fault

    def take(self, req):
        if not self._faults:          # the common case, without the lock
            return None
        with self._lock:
            for fault in self._faults:
                if fault.matches(req):
                    if fault.count > 0:
                        fault.count -= 1
                        if fault.count == 0:
                            self._faults.remove(fault)
                    return fault
        return None

    def clear(self):
        with self._lock:
            self._faults = []

    def as_json(self):
        with self._lock:
            return [f.as_json() for f in self._faults]


class BodyError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


class SimHandler(BaseHTTPRequestHandler):
    """Reads one request, runs the fault table and the service, writes the response."""

    protocol_version = "HTTP/1.1"
    server_version = "runnerfleet-sim"
    sys_version = ""
    timeout = 300                  # idle keep-alive connections are closed after this
    disable_nagle_algorithm = True # with one write per response: no 40 ms delayed-ACK stalls

    def setup(self):
        super().setup()
        # The TLS handshake runs here, in the connection's own thread, so a slow or
        # misbehaving client cannot stall the accept loop.
        if isinstance(self.connection, ssl.SSLSocket):
            self.connection.do_handshake()

    def version_string(self):
        return self.server_version

    def log_message(self, fmt, *args):
        if os.environ.get("SIM_VERBOSE"):
            sys.stderr.write("%s %s\n" % (self.server.service.name, fmt % args))

    def _read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks, total = [], 0
            while True:
                line = self.rfile.readline(1024)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                total += size
                if total > MAX_BODY:
                    raise BodyError(413, "request body too large")
                chunks.append(self.rfile.read(size))
                self.rfile.readline(1024)
        length = self.headers.get("Content-Length")
        if not length:
            return b""
        try:
            n = int(length)
        except ValueError:
            raise BodyError(400, "bad Content-Length") from None
        if n < 0 or n > MAX_BODY:
            raise BodyError(413, "request body too large")
        return self.rfile.read(n)

    def _dispatch(self):
        srv = self.server
        try:
            body = self._read_body()
        except (BodyError, ValueError) as e:
            self.close_connection = True
            status = e.status if isinstance(e, BodyError) else 400
            self._send("POST", Response(status, {"error": str(e)}))
            return
        host = self.headers.get("Host") or "127.0.0.1:%d" % srv.server_port
        req = Request(self.command, self.path, self.headers, body, self.client_address[0],
                      "%s://%s" % (srv.scheme, host))
        if req.path == "/_sim" or req.path.startswith("/_sim/"):
            resp = control(srv, req)
            self._send(req.method, resp)
            return
        fault = srv.faults.take(req)
        if fault is not None:
            if fault.delay_ms:
                time.sleep(fault.delay_ms / 1000.0)
            if fault.drop:
                srv.log.add(req.method, req.raw_path, 0)
                self._drop()
                return
            if fault.operation_fails is not None:
                req.operation_fails = fault.operation_fails
        if fault is not None and fault.status:
            resp = srv.service.fault_response(req, fault)
            for k, v in fault.headers.items():
                resp.set_header(k, v)
        else:
            resp = self._run_service(req)
        try:
            srv.service.finalize(req, resp)
        except Exception:                          # noqa: BLE001 - a bug must not kill the connection
            traceback.print_exc()
        srv.log.add(req.method, req.raw_path, resp.status)   # before sending: no race with readers
        self._send(req.method, resp)

    def _run_service(self, req):
        try:
            return self.server.service.handle(req)
        except Exception:                          # noqa: BLE001 - report as the service would
            traceback.print_exc()
            return self.server.service.fault_response(req, Fault(0, {"path": "", "status": 500}))

    def _drop(self):
        """Close the connection without a byte of response (curl: 'Empty reply from server')."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _send(self, method, resp):
        self.send_response(resp.status)
        for k, v in resp.headers:
            self.send_header(k, v)
        no_body = resp.status in (204, 304) or resp.status < 200
        if not no_body:
            if resp.payload and resp.content_type:
                self.send_header("Content-Type", resp.content_type)
            self.send_header("Content-Length", str(len(resp.payload)))
        # Status line, headers and body leave in a single write (see disable_nagle_algorithm).
        self._headers_buffer.append(b"\r\n")
        if not no_body and method != "HEAD":
            self._headers_buffer.append(resp.payload)
        self.flush_headers()

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _dispatch


def control(srv, req):
    """The /_sim/ control API common to every simulator port."""
    sub = req.path[len("/_sim/"):].strip("/") if req.path.startswith("/_sim/") else ""
    m = req.method
    try:
        if sub == "health" and m in ("GET", "HEAD"):
            return json_response(200, {"ok": True, "service": srv.service.name})
        if sub == "requests":
            if m == "GET":
                return json_response(200, srv.log.as_json())
            if m == "DELETE":
                srv.log.clear()
                return json_response(200, {"ok": True})
        if sub == "state" and m == "GET":
            return json_response(200, srv.service.state())
        if sub == "faults":
            if m == "GET":
                return json_response(200, srv.faults.as_json())
            if m == "DELETE":
                srv.faults.clear()
                return json_response(200, {"ok": True})
            if m == "POST":
                spec = req.json()
                if not isinstance(spec, dict):
                    raise ValueError("body must be a JSON object")
                return json_response(201, srv.faults.add(spec).as_json())
        if sub == "reset" and m == "POST":
            srv.service.reset()
            srv.faults.clear()
            srv.log.clear()
            return json_response(200, {"ok": True})
        resp = srv.service.control(req, sub)
        if resp is not None:
            return resp
    except (ValueError, KeyError, TypeError, re.error) as e:
        return json_response(400, {"error": "bad control request: %s" % e})
    return json_response(404, {"error": "unknown control endpoint %s %s" % (m, req.path)})


class SimServer(ThreadingHTTPServer):
    """One listening port of a simulator: its service, request log and fault table."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024      # many fleets connect at once in the scale runs

    def __init__(self, service, tls_context=None):
        super().__init__(("127.0.0.1", 0), SimHandler)
        self.service = service
        self.log = RequestLog()
        self.faults = FaultTable()
        self.scheme = "https" if tls_context else "http"
        if tls_context:
            self.socket = tls_context.wrap_socket(self.socket, server_side=True,
                                                  do_handshake_on_connect=False)

    @property
    def base_url(self):
        return "%s://127.0.0.1:%d" % (self.scheme, self.server_port)

    def handle_error(self, request, client_address):
        # Clients hanging up, failing the handshake (a test checks that an untrusted client
        # does) or timing out are routine here; only real bugs get a traceback.
        exc = sys.exc_info()[1]
        if isinstance(exc, (OSError, ssl.SSLError, EOFError)):
            return
        traceback.print_exc()


def tls_context(sim_dir):
    """Server-side TLS with the certificate `up` made in the sim dir."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(os.path.join(sim_dir, "server.pem"), os.path.join(sim_dir, "server.key"))
    return ctx


def write_atomic(path, text):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def load_identity(sim_dir):
    """The credentials and fixed ids `up` keeps in the sim dir (launch.py writes them)."""
    with open(os.path.join(sim_dir, "identity.json"), encoding="utf-8") as f:
        return json.load(f)


def env_float(name, default):
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return float(default)


def run(name, sim_dir, servers):
    """Serve ``servers`` ({role: SimServer}) until SIGTERM/SIGINT.

    Writes ``<name>.pid`` first and ``<name>.endpoints`` (JSON {role: base URL}) once every port
    listens, which is what `up` waits for.
    """
    threads = []
    for srv in servers.values():
        t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
        t.start()
        threads.append(t)
    write_atomic(os.path.join(sim_dir, name + ".endpoints"),
                 dumps({role: srv.base_url for role, srv in servers.items()}) + "\n")
    sys.stderr.write("%s simulator: %s\n" % (name, ", ".join(
        "%s=%s" % (role, srv.base_url) for role, srv in servers.items())))
    sys.stderr.flush()
    # Nothing is kept on disk, so stopping is simply exiting, and `down` returns at once.
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    signal.signal(signal.SIGINT, lambda *_: os._exit(0))
    while True:
        signal.pause()


def main_args(argv, name):
    """Parse ``--dir DIR [--plain]`` and write the pid file; returns (sim_dir, tls context|None)."""
    import argparse
    ap = argparse.ArgumentParser(prog=name)
    ap.add_argument("--dir", required=True, help="sim dir holding the certificate and identity.json")
    ap.add_argument("--plain", action="store_true", help="serve plain http instead of https")
    args = ap.parse_args(argv)
    sim_dir = os.path.abspath(args.dir)
    write_atomic(os.path.join(sim_dir, name + ".pid"), "%d\n" % os.getpid())
    return sim_dir, (None if args.plain else tls_context(sim_dir))
