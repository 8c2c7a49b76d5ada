"""`jepalab serve` against hostile or broken clients (loopback only): every answer is a 4xx/5xx
with a message or a clean close, never a hang, a reset, a traceback or a non-JSON body."""

import base64
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import zlib

import numpy as np
import pytest
import torch

from jepalab.cli.main import main
from jepalab.serving.client import encode_image
from jepalab.serving.serve import PlanningServer, PlanningService, ServeOptions

TOKEN = "s3cret"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("hostile") / "run"
    assert main(["train", "--world", "two-room", "--preset", "debug", "--out", str(out), "--quiet"]) == 0
    return out


def start(run, **kw):
    service = PlanningService(run, ServeOptions(port=0, token=TOKEN, **kw))
    server = PlanningServer(service)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server


def stop(server):
    server.stop()
    server.server_close()
    server.service.close()


@pytest.fixture(scope="module")
def server(run):
    s = start(run, max_body=1 << 20, max_frames=5, read_timeout_s=1.0)
    yield s
    stop(s)


def strict_json(raw: bytes):
    def refuse(name):
        raise AssertionError(f"{name} in a JSON answer")

    return json.loads(raw, parse_constant=refuse)


def exchange(server, data: bytes, timeout: float = 10.0) -> list[tuple[int, dict]]:
    """Send raw bytes on one connection; every response read until the server closes it."""
    sock = socket.create_connection(server.server_address[:2], timeout=timeout)
    sock.sendall(data)
    buf = b""
    while True:
        try:
            chunk = sock.recv(1 << 16)
        except TimeoutError:
            break
        if not chunk:
            break
        buf += chunk
    sock.close()
    answers = []
    while buf:
        head, _, rest = buf.partition(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = next(
            int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
        )
        answers.append((status, strict_json(rest[:length])))
        buf = rest[length:]
    return answers


def post(path: str, body: bytes, extra: str = "") -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nContent-Length: {len(body)}\r\n"
        f"{extra}\r\n"
    ).encode() + body


@pytest.mark.parametrize(
    "headers",
    [
        "Content-Length: -1\r\n",
        "Content-Length: +5\r\n",
        "Content-Length: 5, 5\r\n",
        "Content-Length: 1_0\r\n",
        "Content-Length: 5\r\nContent-Length: 6\r\n",
        "Transfer-Encoding: chunked\r\n",
        "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
    ],
)
def test_a_body_length_that_is_not_one_plain_number_is_refused_and_the_connection_closed(server, headers):
    tic = time.perf_counter()
    answers = exchange(
        server,
        (
            f"POST /plan HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n{headers}\r\n"
            "hello GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
        ).encode(),
    )
    assert [a[0] for a in answers] in ([400], [411]), answers  # one answer: the leftovers were not parsed
    assert time.perf_counter() - tic < 3  # no waiting for a body to end


@pytest.mark.parametrize("request_line, status", [("POST /nope", 404), ("POST /plan", 401), ("PUT /plan", 405)])
def test_an_unread_body_never_becomes_the_next_request(server, request_line, status):
    smuggled = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
    auth = "" if status == 401 else f"Authorization: Bearer {TOKEN}\r\n"
    answers = exchange(
        server,
        f"{request_line} HTTP/1.1\r\nHost: x\r\n{auth}Content-Length: {len(smuggled)}\r\n\r\n".encode() + smuggled,
    )
    assert [a[0] for a in answers] == [status], answers


def bomb_png(side: int) -> bytes:
    """A valid 1-bit PNG of side x side black pixels: a few KB that decode to side^2 / 8 bytes."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = (b"\0" + b"\0" * ((side + 7) // 8)) * side
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


def test_a_decompression_bomb_is_refused_from_its_header(server):
    png = bomb_png(13000)
    assert len(png) < 64 << 10
    body = json.dumps({"observation": base64.b64encode(png).decode(), "goal_id": "x"}).encode()
    tic = time.perf_counter()
    [(status, doc)] = exchange(server, post("/plan", body, "Connection: close\r\n"))
    assert status == 422 and "13000x13000" in doc["error"] and time.perf_counter() - tic < 2


good = encode_image(np.zeros((64, 64, 3), np.uint8))


@pytest.mark.parametrize(
    "body, status, words",
    [
        ({"observation": {"shape": [-64, -64, 3], "data": "AAAA"}, "goal": good}, 422, "shape"),
        ({"observation": {"shape": [64, 64], "data": "AAAA"}, "goal": good}, 400, "shape"),
        ({"observation": {"shape": "64x64", "data": "AAAA"}, "goal": good}, 400, "shape"),
        ({"observation": good, "goal_id": ["a", "b"]}, 400, "goal_id"),
        ({"observation": good, "goal_id": {"a": 1}}, 400, "goal_id"),
        ({"observation": good, "goal": 7}, 400, "base64 string"),
    ],
)
def test_malformed_fields_are_client_errors(server, body, status, words):
    [(code, doc)] = exchange(server, post("/plan", json.dumps(body).encode(), "Connection: close\r\n"))
    assert code == status and words in doc["error"], doc


@pytest.mark.parametrize(
    "raw, words",
    [
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'{"observation": NaN}', "NaN is not JSON"),
        (b'{"a": Infinity}', "Infinity is not JSON"),
        (b"\xff\xfe{}", "not JSON"),
    ],
)
def test_bodies_that_break_parsers_are_400(server, raw, words):
    [(code, doc)] = exchange(server, post("/plan", raw, "Connection: close\r\n"))
    assert code == 400 and words in doc["error"], doc


def test_surprise_limits_frames_and_horizon(server):
    frames = [good] * 6
    [(code, doc)] = exchange(
        server, post("/surprise", json.dumps({"frames": frames}).encode(), "Connection: close\r\n")
    )
    assert code == 413 and "--max-frames" in doc["error"]
    [(code, doc)] = exchange(
        server, post("/surprise", json.dumps({"frames": frames[:3], "horizon": 3}).encode(), "Connection: close\r\n")
    )
    assert code == 422 and "horizon 3" in doc["error"]
    [(code, doc)] = exchange(
        server, post("/surprise", json.dumps({"frames": frames[:4]}).encode(), "Connection: close\r\n")
    )
    assert code == 200 and doc["surprise"][0] is None  # null, never NaN


def test_a_client_trickling_bytes_is_cut_off_at_the_read_deadline(server):
    sock = socket.create_connection(server.server_address[:2], timeout=10)
    tic = time.perf_counter()
    request = post("/plan", b'{"observation": "' + b"A" * 200 + b'"}')
    answer = b""
    try:
        for byte in request:  # one byte every 0.1 s: each recv is quick, the whole is too slow
            sock.sendall(bytes([byte]))
            time.sleep(0.1)
            if time.perf_counter() - tic > 4:
                break
    except (BrokenPipeError, ConnectionResetError):
        pass
    try:
        answer = sock.recv(4096)
    except (ConnectionResetError, TimeoutError):
        pass
    sock.close()
    assert time.perf_counter() - tic < 4, "the slow client was never cut off"
    assert answer == b"" or b" 408 " in answer.split(b"\r\n")[0], answer[:80]


def test_simultaneous_clients_beyond_the_thread_limit_get_503_never_a_reset(run):
    server = start(run, max_connections=4, read_timeout_s=5.0)
    try:
        statuses, errors = [], []
        barrier = threading.Barrier(48)

        def client():
            barrier.wait()
            try:
                statuses.extend(
                    a[0] for a in exchange(server, b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                )
            except OSError as e:
                errors.append(repr(e))

        threads = [threading.Thread(target=client) for _ in range(48)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors and len(statuses) == 48 and set(statuses) <= {200, 503}, (errors, statuses)
        # slow clients hold every slot: the next one is told 503 at once instead of waiting
        holders = [socket.create_connection(server.server_address[:2]) for _ in range(4)]
        time.sleep(0.2)
        tic = time.perf_counter()
        [(code, doc)] = exchange(server, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        assert code == 503 and "connections open" in doc["error"] and time.perf_counter() - tic < 1
        for h in holders:
            h.close()
    finally:
        stop(server)


def test_a_model_producing_non_finite_costs_answers_500_in_strict_json(run):
    server = start(run)
    try:
        with torch.no_grad():
            next(server.service.model.parameters()).fill_(float("nan"))
        body = json.dumps({"observation": good, "goal": good}).encode()
        [(code, doc)] = exchange(server, post("/plan", body, "Connection: close\r\n"))
        assert code == 500 and "non-finite" in doc["error"]
    finally:
        stop(server)


@pytest.mark.slow
def test_sigterm_exits_0_within_the_drain_deadline_despite_a_stuck_client(run):
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jepalab",
            "serve",
            "--checkpoint",
            str(run),
            "--port",
            "0",
            "--drain-timeout",
            "1",
            "--read-timeout",
            "60",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "JEPALAB_TOKEN": ""},
    )
    try:
        line = proc.stdout.readline()
        url = line.split(" on ")[1].split(";")[0]
        host, port = url.removeprefix("http://").split(":")
        stuck = socket.create_connection((host, int(port)))
        stuck.sendall(b"POST /plan HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")  # and never the rest
        time.sleep(0.3)
        tic = time.perf_counter()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=15)
        assert proc.returncode == 0 and time.perf_counter() - tic < 5, err
        assert "Traceback" not in err and "still open" in out, (out, err)
        stuck.close()
    finally:
        proc.kill()


def test_a_busy_port_or_an_impossible_one_is_a_clear_error(run, capsys):
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    port = holder.getsockname()[1]
    try:
        assert main(["serve", "--checkpoint", str(run), "--port", str(port)]) != 0
        assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err
    finally:
        holder.close()
    assert main(["serve", "--checkpoint", str(run), "--port", "99999"]) != 0
    assert "0..65535" in capsys.readouterr().err
