#!/usr/bin/env python3
"""Tiny HTTP(S) server for tests/unit/test_http.c (Python standard library only).

Usage: http_test_server.py PORT_FILE [CERT_PEM KEY_PEM]

Binds 127.0.0.1 on an ephemeral port, writes the port number to PORT_FILE
(atomically) and serves until killed or until its parent goes away. With a
certificate and key it speaks HTTPS.

Endpoints (the `id` query parameter names a counter, so tests do not share state):
  /status/CODE[?body=TEXT]        answer CODE with TEXT
  /fail/N/CODE?id=I[&body=TEXT]   answer CODE the first N times, then 200 "ok"
  /retry-after/N/CODE?id=I[&ra=S] like /fail, with "Retry-After: S" (default 0)
  /drop[/N]?id=I                  close the connection without answering (N times, then 200)
  /slow/MS                        wait MS milliseconds, then 200
  /echo                           JSON: method, path, headers, body, client_port
  /echo?raw=1                     the request body as is; the method in X-Method
  /big/BYTES, /bigchunked/BYTES   a body that large (Content-Length / chunked)
  /continue                       an unsolicited "100 Continue" before the real answer
  /headers                        a few headers for lookup tests
  /hits?id=I                      how many requests counter I has seen
"""
import json
import os
import socket
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

COUNTS = {}
LOCK = threading.Lock()


def bump(key):
    with LOCK:
        COUNTS[key] = COUNTS.get(key, 0) + 1
        return COUNTS[key]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30

    def log_message(self, *args):
        pass

    def setup(self):
        # Handshake in the handler thread, so a client that rejects our
        # certificate cannot stall the accept loop.
        if self.server.tls is not None:
            self.request.settimeout(10)
            self.request = self.server.tls.wrap_socket(self.request, server_side=True)
        super().setup()

    def reply(self, code, body=b"", headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def dispatch(self):
        u = urlsplit(self.path)
        parts = u.path.strip("/").split("/")
        q = parse_qs(u.query)
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n > 0 else b""
        key = q.get("id", [u.path])[0]
        name = parts[0]
        if name == "status":
            code = int(parts[1])
            self.reply(code, q.get("body", ["status %d" % code])[0].encode())
        elif name in ("fail", "retry-after"):
            times, code = int(parts[1]), int(parts[2])
            if bump(key) <= times:
                hdrs = [("Retry-After", q.get("ra", ["0"])[0])] if name == "retry-after" else []
                self.reply(code, q.get("body", ["fail"])[0].encode(), hdrs)
            else:
                self.reply(200, b"ok")
        elif name == "drop":
            times = int(parts[1]) if len(parts) > 1 else 1 << 30
            if bump(key) <= times:
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.reply(200, b"ok")
        elif name == "slow":
            time.sleep(int(parts[1]) / 1000.0)
            self.reply(200, b"slow")
        elif name == "echo":
            if "raw" in q:
                self.reply(200, body, [("X-Method", self.command)])
                return
            obj = {
                "method": self.command,
                "path": self.path,
                "headers": {k: v for k, v in self.headers.items()},
                "body": body.decode("utf-8", "replace"),
                "client_port": self.client_address[1],
            }
            self.reply(200, json.dumps(obj).encode(), [("Content-Type", "application/json")])
        elif name == "big":
            self.reply(200, b"x" * int(parts[1]))
        elif name == "bigchunked":
            left = int(parts[1])
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = b"y" * 65536
            while left > 0:
                c = chunk[: min(left, len(chunk))]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(c), c))
                left -= len(c)
            self.wfile.write(b"0\r\n\r\n")
        elif name == "continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\nX-Interim: yes\r\n\r\n")
            self.reply(200, b"final", [("X-Final", "yes")])
        elif name == "headers":
            self.reply(200, b"h", [("X-Mixed-Case", "  some value  "), ("Retry-After", "7"),
                                   ("Location", "https://example.invalid/op/1")])
        elif name == "hits":
            with LOCK:
                self.reply(200, str(COUNTS.get(key, 0)).encode())
        else:
            self.reply(404, b"no such endpoint")

    do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = do_HEAD = dispatch


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # the concurrency test connects 100 clients at once
    tls = None

    def handle_error(self, request, client_address):
        pass  # dropped connections and rejected handshakes are expected


def main():
    if len(sys.argv) not in (2, 4):
        sys.exit(__doc__)
    srv = Server(("127.0.0.1", 0), Handler)
    if len(sys.argv) == 4:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(sys.argv[2], sys.argv[3])
        srv.tls = ctx
    tmp = sys.argv[1] + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, sys.argv[1])

    parent = os.getppid()

    def watchdog():
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watchdog, daemon=True).start()
    srv.serve_forever()


if __name__ == "__main__":
    main()
