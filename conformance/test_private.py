"""pybit's private WebSocket and signed HTTP client against `cascade sim --speed lockstep`: the replay moves only
when the test advances it, so a fill happens exactly when the test says."""
import threading
import time
import uuid

from pybit.unified_trading import HTTP, WebSocket

KEY, SECRET = "cascade-test-key", "cascade-test-secret"


def client():
    return HTTP(testnet=False, api_key=KEY, api_secret=SECRET, max_retries=1, retry_codes={-1})


def wait_for(predicate, timeout=15.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


class Collector:
    def __init__(self):
        self.lock = threading.Lock()
        self.messages = []

    def __call__(self, message):
        with self.lock:
            self.messages.append(message)

    def items(self, topic):
        with self.lock:
            return [item for m in self.messages if m.get("topic") == topic for item in m["data"]]


def private_stream():
    ws = WebSocket(testnet=False, channel_type="private", api_key=KEY, api_secret=SECRET, private_auth_expire=10)
    collector = Collector()
    ws.order_stream(callback=collector)
    ws.execution_stream(callback=collector)
    ws.position_stream(callback=collector)
    ws.wallet_stream(callback=collector)
    return ws, collector


def test_order_and_execution_events_after_a_fill(lockstep):
    ws, events = private_stream()
    try:
        http = client()
        link = f"conf-{uuid.uuid4().hex[:12]}"
        placed = http.place_order(category="linear", symbol="BTCUSDT", side="Buy", orderType="Market", qty="0.010",
                                  orderLinkId=link)
        assert placed["retCode"] == 0
        time.sleep(0.3)
        assert events.items("execution") == []   # the order has not reached the exchange yet
        step = lockstep.advance(frames=1)
        assert step["frames"] == 1
        assert wait_for(lambda: any(o["orderLinkId"] == link and o["orderStatus"] == "Filled" for o in events.items("order")))
        fills = [e for e in events.items("execution") if e["orderLinkId"] == link]
        assert fills and all(e["execType"] == "Trade" and e["isMaker"] is False for e in fills)
        assert sum(float(e["execQty"]) for e in fills) == 0.010
        listed = http.get_executions(category="linear", symbol="BTCUSDT")["result"]["list"]
        assert {e["execId"] for e in fills} == {e["execId"] for e in listed}
        assert wait_for(lambda: any(p["size"] == "0.010" and p["side"] == "Buy" for p in events.items("position")))
        assert wait_for(lambda: events.items("wallet"))
        fee = sum(float(e["execFee"]) for e in fills)
        wallet = events.items("wallet")[-1]
        assert abs(float(wallet["totalWalletBalance"]) - (100000 - fee)) < 1e-9
    finally:
        ws.exit()


def test_batch_create_answers_each_item(lockstep):
    http = client()
    book = http.get_orderbook(category="linear", symbol="BTCUSDT", limit=1)["result"]
    below = f"{round(float(book['b'][0][0]) - 500, 1):.2f}"
    link = f"conf-{uuid.uuid4().hex[:12]}"
    request = [{"symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit", "qty": "0.010", "price": below,
                "timeInForce": "PostOnly", "orderLinkId": link},
               {"symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit", "qty": "0.010", "price": below,
                "timeInForce": "PostOnly", "orderLinkId": link}]
    answer = http.place_batch_order(category="linear", request=request)
    assert answer["retCode"] == 0
    assert [s["code"] for s in answer["retExtInfo"]["list"]] == [0, 110072]
    assert answer["result"]["list"][0]["orderId"] and not answer["result"]["list"][1]["orderId"]
    lockstep.advance(frames=1)
    assert [o["orderLinkId"] for o in http.get_open_orders(category="linear", symbol="BTCUSDT")["result"]["list"]] == [link]


def test_reset_starts_every_account_again(lockstep):
    http = client()
    http.place_order(category="linear", symbol="BTCUSDT", side="Sell", orderType="Market", qty="0.020")
    lockstep.advance(frames=1)
    assert http.get_positions(category="linear", symbol="BTCUSDT")["result"]["list"][0]["size"] == "0.020"
    lockstep.control("reset")
    assert http.get_executions(category="linear")["result"]["list"] == []
    wallet = http.get_wallet_balance(accountType="UNIFIED")["result"]["list"][0]
    assert wallet["totalWalletBalance"] == "100000"
