"""pybit, Bybit's own SDK, against the public half of `cascade sim`: market REST and the public WebSocket."""
import threading
import time

import pytest
from pybit.exceptions import InvalidRequestError
from pybit.unified_trading import HTTP, WebSocket

from helpers import wait_for  # noqa: E402


def test_server_time_and_instruments(sim):
    http = HTTP(testnet=False, max_retries=1)
    t = http.get_server_time()
    assert t["retCode"] == 0 and int(t["result"]["timeNano"]) > 0
    info = http.get_instruments_info(category="linear", symbol="BTCUSDT")
    item = info["result"]["list"][0]
    assert item["symbol"] == "BTCUSDT" and item["priceFilter"]["tickSize"] == "0.10"


def test_unknown_category_is_a_typed_bybit_error(sim):
    http = HTTP(testnet=False, max_retries=1)
    with pytest.raises(InvalidRequestError) as e:
        http.get_instruments_info(category="futures")
    assert e.value.status_code == 10001


def test_other_categories_are_answered_with_empty_lists(sim):
    """Only USDT perpetuals are simulated; spot, inverse and option exist on Bybit and list nothing here."""
    http = HTTP(testnet=False, max_retries=1)
    for category in ("spot", "inverse", "option"):
        answer = http.get_instruments_info(category=category)
        assert answer["retCode"] == 0 and answer["result"]["category"] == category and answer["result"]["list"] == []


def test_public_stream_snapshot_then_deltas_and_market_rest(sim):
    books, trades = [], []
    lock = threading.Lock()

    def collect(into):
        def callback(message):
            with lock:
                into.append(message)
        return callback

    ws = WebSocket(testnet=False, channel_type="linear")
    try:
        ws.orderbook_stream(depth=50, symbol="BTCUSDT", callback=collect(books))
        ws.trade_stream(symbol="BTCUSDT", callback=collect(trades))
        assert wait_for(lambda: len(books) >= 20 and len(trades) >= 2)
        with lock:
            first = books[0]
            assert first["topic"] == "orderbook.50.BTCUSDT"
            assert len(first["data"]["b"]) == 50 and len(first["data"]["a"]) == 50
            assert float(first["data"]["b"][0][0]) < float(first["data"]["a"][0][0])
            assert all(t["data"][0]["S"] in ("Buy", "Sell") for t in trades)
            ids = [m["data"]["u"] for m in books]
            assert ids == sorted(ids)
        # The REST book answers from the same replay state.
        http = HTTP(testnet=False, max_retries=1)
        ob = http.get_orderbook(category="linear", symbol="BTCUSDT", limit=5)
        assert ob["retCode"] == 0 and len(ob["result"]["b"]) == 5 and ob["result"]["u"] >= 18_000_001
        tickers = http.get_tickers(category="linear", symbol="BTCUSDT")
        assert tickers["result"]["list"][0]["symbol"] == "BTCUSDT"
        recent = http.get_public_trade_history(category="linear", symbol="BTCUSDT", limit=10)
        assert recent["retCode"] == 0 and len(recent["result"]["list"]) >= 1
    finally:
        ws.exit()
