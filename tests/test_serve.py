"""`jepalab serve`: plans over HTTP, batches requests, refuses bad ones with 4xx, stops cleanly."""

import base64
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from jepalab.cli.main import main
from jepalab.serving.client import Client, ServerError
from jepalab.serving.serve import PlanningServer, PlanningService, ServeOptions, encode_image
from jepalab.worlds import make


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("serve") / "run"
    assert main(["train", "--world", "two-room", "--preset", "debug", "--out", str(out), "--quiet"]) == 0
    return out


@pytest.fixture(scope="module")
def episode():
    env = make("two-room")
    obs, info = env.reset(seed=3)
    return obs["pixels"], info["goal"]


def start(run, state_probe=None, **kw):
    service = PlanningService(run, ServeOptions(port=0, **kw), state_probe=state_probe)
    server = PlanningServer(service)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    return server, thread


@pytest.fixture(scope="module")
def server(run):
    server, thread = start(run, batch_wait_ms=50, max_body=1 << 20, token="s3cret")
    yield server
    server.stop()
    server.server_close()
    server.service.close()


def raw(server, method, path, body=b"", headers=None):
    host, port = server.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=30)
    conn.request(method, path, body=body, headers={"Authorization": "Bearer s3cret", **(headers or {})})
    r = conn.getresponse()
    doc = json.loads(r.read() or b"{}")
    conn.close()
    return r.status, doc


def test_plan_surprise_health_info(server, episode):
    obs, goal = episode
    c = Client(server.url, token="s3cret")
    assert c.health()["status"] == "ok"
    info = c.info()
    assert (
        len(info["checkpoint"]["sha256"]) == 64 and info["model"]["image_size"] == 64 and "token" not in info["limits"]
    )
    plan = c.plan(obs, goal=goal)
    actions = np.array(plan["actions"])
    assert actions.shape == (info["plan"]["horizon"], 2) and np.all(np.abs(actions) <= 1) and np.isfinite(plan["cost"])
    frames = [obs] * 6
    s = c.surprise(frames)
    assert len(s["surprise"]) == 6 and s["surprise"][0] is None and s["peak_frame"] >= 1


def test_requests_arriving_together_share_one_planner_call(server, episode):
    obs, goal = episode
    c = Client(server.url, token="s3cret")
    out = []
    threads = [threading.Thread(target=lambda: out.append(c.plan(obs, goal=goal))) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(out) == 6 and max(p["batch"] for p in out) > 1


@pytest.mark.parametrize(
    "body, status, words",
    [
        (b"{not json", 400, "not JSON"),
        (b"[1, 2]", 400, "JSON object"),
        (json.dumps({"goal": "x"}).encode(), 400, "missing field 'observation'"),
        (json.dumps({"observation": "%%%notbase64", "goal": "x"}).encode(), 400, "not valid base64"),
        (json.dumps({"observation": base64.b64encode(b"hello").decode(), "goal": "x"}).encode(), 400, "not a PNG"),
        (
            json.dumps({"observation": encode_image(np.zeros((32, 32, 3), np.uint8)), "goal": "x"}).encode(),
            422,
            "32x32",
        ),
        (json.dumps({"observation": {"shape": [64, 64, 3], "data": "AAAA"}, "goal": "x"}).encode(), 400, "bytes"),
        (
            json.dumps({"observation": encode_image(np.zeros((64, 64, 3), np.uint8)), "goal_id": "nope"}).encode(),
            404,
            "unknown",
        ),
    ],
)
def test_malformed_plan_requests_get_4xx_with_a_message(server, body, status, words):
    code, doc = raw(server, "POST", "/plan", body, {"Content-Type": "application/json"})
    assert code == status and words in doc["error"], doc


def test_limits_auth_and_routes(server):
    # the server answers 413 from the headers alone and closes without reading the body, so announce
    # an oversized body and send none (sending it races the close: the client may see a broken pipe)
    conn = http.client.HTTPConnection(*server.server_address[:2], timeout=30)
    conn.putrequest("POST", "/plan")
    conn.putheader("Content-Length", str((1 << 20) + 1))
    conn.putheader("Authorization", "Bearer s3cret")
    conn.endheaders()
    r = conn.getresponse()
    assert r.status == 413 and "exceeds" in json.loads(r.read())["error"]
    conn.close()
    assert raw(server, "GET", "/info", headers={"Authorization": "Bearer wrong"})[0] == 401
    assert raw(server, "GET", "/health", headers={"Authorization": ""})[0] == 200  # health needs no token
    assert raw(server, "GET", "/nope")[0] == 404
    assert raw(server, "GET", "/plan")[0] == 405
    with pytest.raises(ServerError, match="401"):
        Client(server.url).info()
    assert Client(server.url, token="s3cret").health()["status"] == "ok"  # still standing after all that


def test_a_full_queue_answers_503(run, episode):
    obs, goal = episode
    server, _ = start(run, queue_size=1, max_batch=1, batch_wait_ms=0)
    plan = server.service._plan
    server.service._plan = lambda payloads: (time.sleep(0.3), plan(payloads))[1]  # a slow model: the queue fills
    try:
        c = Client(server.url)
        codes = []

        def call():
            try:
                c.plan(obs, goal=goal)
                codes.append(200)
            except ServerError as e:
                codes.append(e.status)

        threads = [threading.Thread(target=call) for _ in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert 503 in codes and 200 in codes and set(codes) <= {200, 503}
    finally:
        server.stop()
        server.server_close()
        server.service.close()


@pytest.mark.slow
def test_sigterm_finishes_the_request_in_flight(run, episode):
    obs, goal = episode
    proc = subprocess.Popen(
        [sys.executable, "-m", "jepalab", "serve", "--checkpoint", str(run), "--port", "0", "--batch-wait-ms", "1500"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "JEPALAB_TOKEN": ""},
    )
    try:
        line = proc.stdout.readline()
        assert "serving" in line and "127.0.0.1" in line, line + proc.stderr.read()
        url = line.split(" on ")[1].split(";")[0].split(" ")[0]
        result = {}
        t = threading.Thread(target=lambda: result.update(Client(url).plan(obs, goal=goal)))
        t.start()
        time.sleep(0.5)  # the request now waits in the batcher for 1.5 s
        proc.send_signal(signal.SIGTERM)
        t.join(timeout=60)
        assert result.get("actions"), "the request in flight was dropped"
        assert proc.wait(timeout=30) == 0
        assert "stopped" in proc.stdout.read()
    finally:
        proc.kill()


def test_goals_given_as_states_go_through_the_state_probe(run, server, episode):
    from jepalab.evals.probe import StateProbe, state_probe_for
    from jepalab.training.checkpoint import load_model

    obs, goal = episode
    code, doc = raw(
        server, "POST", "/plan", json.dumps({"observation": encode_image(obs), "goal_state": [0.5, 0.5]}).encode()
    )
    assert code == 400 and "no state probe" in doc["error"]  # this server was started without one
    model, cfg, meta = load_model(run)
    probe, path = state_probe_for(run, model, cfg, meta["step"])
    probed, _ = start(run, state_probe=str(path), batch_wait_ms=50)
    try:
        c = Client(probed.url)
        assert c.info()["goal_state"]["columns"] == [0, 1]
        out = []
        jobs = [lambda: out.append(c.plan(obs, goal_state=[0.8, 0.2])), lambda: out.append(c.plan(obs, goal=goal))] * 3
        threads = [threading.Thread(target=j) for j in jobs]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(out) == 6 and all(np.isfinite(p["cost"]) and len(p["actions"]) == cfg.plan.horizon for p in out)
        with pytest.raises(ServerError, match="a list of 2 finite numbers"):
            c.plan(obs, goal_state=[0.5, 3.0, 1.0])
        with pytest.raises(ValueError, match="not JSON compliant"):  # the client sends strict JSON only
            c.plan(obs, goal_state=[0.5, float("nan")])
    finally:
        probed.stop()
        probed.server_close()
        probed.service.close()
    StateProbe(probe.probe, probe.columns, probe.mean, probe.std, probe.r2, probe.r2_untrained, step=1).save(path)
    with pytest.raises(ValueError, match="reads the latent of step 1"):
        PlanningService(run, ServeOptions(port=0), state_probe=str(path))
