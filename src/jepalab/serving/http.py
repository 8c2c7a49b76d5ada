"""The HTTP layer of `jepalab serve`: the standard library's threading server, hardened.

What a hostile or broken client can no longer do (benchmarks/serve_hostile.py tries each):
- stream an unbounded body: Content-Length must be one plain decimal number (a negative,
  signed, duplicated or conflicting one is 400), chunked bodies are refused, and a body is
  never read past `max_body`;
- smuggle a second request inside an unread body: an error answered before the body was read
  closes the connection instead of parsing the leftovers as the next request;
- hold a thread forever by trickling bytes: a request's headers and body must arrive within
  `read_timeout_s` in total (a socket timeout alone restarts with every byte);
- exhaust threads: at most `max_connections` connections get a handler thread; the rest are
  answered 503 by the accepting thread and closed gently (their request bytes drained, so the
  kernel does not turn the close into a reset);
- crash the parser: nesting too deep, NaN/Infinity literals, non-UTF-8 are 400s;
- stall shutdown: SIGTERM drains the requests in flight for at most `drain_timeout_s`.
"""

from __future__ import annotations

import hmac
import io
import json
import re
import select
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ..data import jsonout

_DECIMAL = re.compile(r"[0-9]{1,15}")


class RequestError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


class _DeadlineReader(io.RawIOBase):
    """The socket read with a deadline for the whole request: a per-recv timeout alone restarts with
    every byte, so a client sending one byte every few seconds would never time out."""

    def __init__(self, sock: socket.socket, idle_s: float):
        self.sock, self.idle_s, self.deadline = sock, idle_s, None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        timeout = self.idle_s
        if self.deadline is not None:
            timeout = min(timeout, self.deadline - time.monotonic())
            if timeout <= 0:
                raise TimeoutError("request not received within the read deadline")
        self.sock.settimeout(timeout)
        return self.sock.recv_into(buffer)


def _reject_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def parse_json_object(raw: bytes) -> dict:
    try:
        body = json.loads(raw, parse_constant=_reject_constant)
    except RecursionError:
        raise RequestError(400, "body is nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as e:  # JSONDecodeError is a ValueError
        raise RequestError(400, f"body is not JSON ({e})") from None
    if not isinstance(body, dict):
        raise RequestError(400, "body must be a JSON object")
    return body


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: PlanningServer

    def setup(self) -> None:
        options = self.server.service.options
        self.timeout = options.idle_timeout_s
        super().setup()
        self.rfile.close()  # the plain socket file; reads go through the deadline instead
        self._reader = _DeadlineReader(self.connection, options.idle_timeout_s)
        self.rfile = io.BufferedReader(self._reader)

    def handle_one_request(self) -> None:
        # the deadline covers waiting for the request line, the headers and the body
        self._reader.deadline = time.monotonic() + self.server.service.options.read_timeout_s
        self._body_pending = False
        super().handle_one_request()

    def log_message(self, fmt, *args) -> None:  # quiet by default: a robot calls many times a second
        if self.server.verbose:
            super().log_message(fmt, *args)

    def _send(self, status: int, doc: dict) -> None:
        body = jsonout.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if self.server.draining or self._body_pending:  # leftovers of a body must not become a request
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.connection.settimeout(self.server.service.options.idle_timeout_s)
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            self.close_connection = True

    def _authorised(self) -> bool:
        token = self.server.service.options.token
        if not token:
            return True
        got = self.headers.get("Authorization", "")
        return hmac.compare_digest(got.encode(), f"Bearer {token}".encode())

    def _route(self, method: str) -> None:
        service = self.server.service
        try:
            self._body_pending = self._declares_body()
            path = self.path.split("?", 1)[0]
            routes = {("GET", "/health"), ("GET", "/info"), ("POST", "/plan"), ("POST", "/surprise")}
            if (method, path) not in routes:
                known = {p for _, p in routes}
                raise RequestError(
                    405 if path in known else 404,
                    f"{method} {path}: "
                    + ("wrong method" if path in known else "no such route")
                    + "; routes: GET /health, GET /info, POST /plan, POST /surprise",
                )
            if path != "/health" and not self._authorised():
                raise RequestError(401, "missing or wrong bearer token (Authorization: Bearer TOKEN)")
            if method == "GET":
                doc = {"status": "ok", "queued": service.queue.qsize()} if path == "/health" else service.info
                return self._send(200, doc)
            body = parse_json_object(self._read_body())
            doc = service.plan_request(body) if path == "/plan" else service.surprise_request(body)
            self._send(200, doc)
        except RequestError as e:
            self._send(e.status, {"error": e.message})
        except TimeoutError:
            self._send(408, {"error": f"request not received within {service.options.read_timeout_s} s"})
        except Exception as e:  # never let one request take the server down
            self._send(500, {"error": f"{type(e).__name__}: {e}"})

    def _declares_body(self) -> bool:
        length = self.headers.get_all("Content-Length") or []
        return bool(self.headers.get("Transfer-Encoding")) or any(v.strip() != "0" for v in length)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding"):
            raise RequestError(411, "chunked or encoded bodies are not accepted; send Content-Length")
        values = self.headers.get_all("Content-Length") or []
        if not values:
            raise RequestError(411, "Content-Length required")
        if len(values) > 1:
            raise RequestError(400, f"Content-Length given {len(values)} times")
        if not _DECIMAL.fullmatch(values[0].strip()):
            raise RequestError(400, f"bad Content-Length {values[0][:40]!r}: a decimal number of bytes")
        n, limit = int(values[0]), self.server.service.options.max_body
        if n > limit:
            raise RequestError(413, f"body of {n} bytes exceeds the limit of {limit}")
        raw = self.rfile.read(n)
        if len(raw) < n:
            raise RequestError(400, f"body ended after {len(raw)} of {n} bytes")
        self._body_pending = False
        return raw

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    # any other method: answer with JSON and close (its body, if any, is never read)
    def _not_allowed(self) -> None:
        self._body_pending = True
        self._send(
            405, {"error": f"{self.command} not supported; routes: GET /health, GET /info, POST /plan, POST /surprise"}
        )

    do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _not_allowed


_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\n"
    b"Content-Length: %d\r\n\r\n%s"
)


class _Reaper(threading.Thread):
    """Closes refused connections gently: reads what the client already sent (for at most a couple
    of seconds), then closes. Closing a socket with unread input makes the kernel send a reset,
    which the client sees as an error before it can read the 503."""

    def __init__(self):
        super().__init__(name="jepalab-reaper", daemon=True)
        self.pending: dict[socket.socket, float] = {}
        self.lock = threading.Lock()
        self.work = threading.Event()  # set while sockets are pending: an idle server does not poll

    def add(self, sock: socket.socket) -> None:
        with self.lock:
            self.pending[sock] = time.monotonic() + 2.0
            self.work.set()

    def run(self) -> None:
        while True:
            self.work.wait()
            with self.lock:
                socks = list(self.pending)
                if not socks:
                    self.work.clear()
                    continue
            readable, _, _ = select.select(socks, [], [], 0.05)
            now = time.monotonic()
            for s in socks:
                done = now > self.pending[s]
                if s in readable:
                    try:
                        done = done or not s.recv(1 << 16)
                    except OSError:
                        done = True
                if done:
                    with self.lock:
                        del self.pending[s]
                    s.close()


class PlanningServer(ThreadingHTTPServer):
    daemon_threads = True  # the drain deadline, not the threads, decides when the process may exit
    request_queue_size = 256  # listen backlog: simultaneous connects queue instead of being reset

    def __init__(self, service, verbose: bool = False):
        self.service, self.verbose, self.draining = service, verbose, False
        self._slots = threading.BoundedSemaphore(service.options.max_connections)
        self._active: set[threading.Thread] = set()
        self._active_lock = threading.Lock()
        self._reaper = _Reaper()
        self._reaper.start()
        super().__init__((service.options.host, service.options.port), _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def process_request(self, request, client_address) -> None:
        if self._slots.acquire(blocking=False):
            return super().process_request(request, client_address)
        doc = jsonout.dumps(
            {"error": f"busy: {self.service.options.max_connections} connections open; retry later"}
        ).encode()
        try:
            request.settimeout(1.0)
            request.sendall(_BUSY % (len(doc), doc))
            request.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        self._reaper.add(request)

    def process_request_thread(self, request, client_address) -> None:
        with self._active_lock:
            self._active.add(threading.current_thread())
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._active_lock:
                self._active.discard(threading.current_thread())
            self._slots.release()

    def handle_error(self, request, client_address) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)):  # a client that went away is not news
            return
        print(f"jepalab serve: {client_address[0]}: {type(error).__name__}: {error}", file=sys.stderr, flush=True)

    def open_connections(self) -> int:
        with self._active_lock:
            return len(self._active)

    def stop(self) -> None:
        """Stop accepting; the requests in flight finish (see server_close for the deadline)."""
        self.draining = True
        self.shutdown()

    def server_close(self) -> int:
        """Close the listening socket and wait for the connections still open, at most
        `drain_timeout_s`. Returns how many were left behind (their threads die with the process)."""
        self.draining = True
        self.socket.close()
        deadline = time.monotonic() + self.service.options.drain_timeout_s
        with self._active_lock:
            threads = list(self._active)
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()))
        return self.open_connections()
