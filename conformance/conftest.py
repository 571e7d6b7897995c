"""Starts `cascade sim` on a free loopback port with seeded synthetic data, and points pybit at it."""
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.request

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from pybit_local import point_pybit_at  # noqa: E402
from synthetic import write_frames  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

INSTRUMENTS = {"retCode": 0, "retMsg": "OK", "result": {"category": "linear", "list": [{
    "symbol": "BTCUSDT", "contractType": "LinearPerpetual", "status": "Trading", "baseCoin": "BTC", "quoteCoin": "USDT",
    "priceScale": "2", "priceFilter": {"minPrice": "0.10", "maxPrice": "1999999.80", "tickSize": "0.10"},
    "lotSizeFilter": {"maxOrderQty": "1190.000", "minOrderQty": "0.001", "qtyStep": "0.001",
                      "maxMktOrderQty": "500.000", "minNotionalValue": "5"},
    "fundingInterval": 480, "settleCoin": "USDT"}], "nextPageCursor": ""}, "retExtInfo": {}, "time": 0}


def cascade_binary() -> str:
    """The `cascade` executable built by `swift build`/`swift test` (CASCADE_BIN overrides)."""
    if os.environ.get("CASCADE_BIN"):
        return os.environ["CASCADE_BIN"]
    out = subprocess.run(["swift", "build", "--show-bin-path"], cwd=ROOT, capture_output=True, text=True, check=True)
    path = os.path.join(out.stdout.strip(), "cascade")
    if not os.path.exists(path):
        subprocess.run(["swift", "build", "--product", "cascade"], cwd=ROOT, check=True)
    return path


def start_sim(directory, *extra):
    """Starts `cascade sim` on port 0 over a seeded synthetic file; returns (process, port)."""
    data = str(directory / "synthetic.frames.gz")
    write_frames(data)
    instruments = directory / "instruments.json"
    instruments.write_text(json.dumps(INSTRUMENTS))
    proc = subprocess.Popen([cascade_binary(), "sim", "--data", data, "--port", "0",
                             "--instruments", str(instruments), *extra], stderr=subprocess.PIPE, text=True)
    port = None
    deadline = time.time() + 60
    while time.time() < deadline and port is None:
        line = proc.stderr.readline()
        m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
        if m:
            port = int(m.group(1))
    if port is None:
        proc.kill()
        pytest.fail("cascade sim did not report its port")
    # Keep draining stderr: a full pipe would block the simulator's writes and stall the replay.
    threading.Thread(target=lambda: [None for _ in proc.stderr], daemon=True).start()
    return proc, port


def stop_sim(proc):
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def sim(tmp_path_factory):
    """A running `cascade sim` (real time, replay started at once): yields its port."""
    proc, port = start_sim(tmp_path_factory.mktemp("sim"), "--speed", "1", "--start-now")
    point_pybit_at("127.0.0.1", port)
    yield port
    stop_sim(proc)


class Lockstep:
    """A `cascade sim --speed lockstep`: the replay moves only when a test calls `advance`."""

    def __init__(self, port):
        self.port = port

    def control(self, name, body=None):
        data = json.dumps(body or {}).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/_cascade/{name}", data=data, method="POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def advance(self, frames=None, ms=None):
        body = {}
        if frames is not None:
            body["frames"] = frames
        if ms is not None:
            body["ms"] = ms
        return self.control("advance", body)


@pytest.fixture(scope="session")
def lockstep_server(tmp_path_factory):
    proc, port = start_sim(tmp_path_factory.mktemp("lockstep"), "--speed", "lockstep")
    server = Lockstep(port)
    server.advance(frames=20)   # a book and a ticker exist before the first test trades
    yield server
    stop_sim(proc)


@pytest.fixture
def lockstep(lockstep_server):
    """The lockstep simulator with fresh accounts (state reset between tests); pybit points at it."""
    lockstep_server.control("reset")
    point_pybit_at("127.0.0.1", lockstep_server.port)
    return lockstep_server


@pytest.fixture(scope="session")
def ccxt_markets(lockstep_server):
    """(markets, currencies) as stock ccxt's load_markets reads them from the simulator, loaded once: the instruments
    never change, and load_markets costs 13 rate-limited requests. None if that failed: each ccxt client then loads
    the markets itself on its first call, so every test fails on the answer that broke load_markets (checked on its
    own by test_ccxt.py::test_load_markets_reads_the_linear_perpetual)."""
    import ccxt
    from ccxt_local import rest_client
    exchange = rest_client(lockstep_server.port)
    try:
        exchange.load_markets()
    except ccxt.BaseError:
        return None
    finally:
        exchange.close()   # an idle keep-alive connection would hold up the simulator's shutdown
    return exchange.markets, exchange.currencies
