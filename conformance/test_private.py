"""pybit's private WebSocket and signed HTTP client against `cascade sim --speed lockstep`: the replay moves only
when the test advances it, so a fill happens exactly when the test says."""
import threading
import time
import uuid

from pybit.unified_trading import HTTP, WebSocket

from helpers import KEY, SECRET, client, wait_for  # noqa: E402


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


def test_insufficient_balance_is_110007_and_leverage_codes(lockstep):
    from pybit.exceptions import InvalidRequestError
    import pytest
    http = client()
    # 100,000 USDT at 10x leverage cannot carry 20 BTC (~1.28M USDT notional, ~128k USDT initial margin).
    with pytest.raises(InvalidRequestError) as e:
        http.place_order(category="linear", symbol="BTCUSDT", side="Buy", orderType="Market", qty="20.000")
    assert e.value.status_code == 110007
    # Setting the current leverage is 110043; a new one is accepted and shows in the position.
    with pytest.raises(InvalidRequestError) as e:
        http.set_leverage(category="linear", symbol="BTCUSDT", buyLeverage="10", sellLeverage="10")
    assert e.value.status_code == 110043
    assert http.set_leverage(category="linear", symbol="BTCUSDT", buyLeverage="20", sellLeverage="20")["retCode"] == 0
    # At 20x the same order fits (initial margin ~64k USDT).
    assert http.place_order(category="linear", symbol="BTCUSDT", side="Buy", orderType="Market", qty="20.000")["retCode"] == 0
    lockstep.advance(frames=1)
    position = http.get_positions(category="linear", symbol="BTCUSDT")["result"]["list"][0]
    assert position["leverage"] == "20" and position["size"] == "20.000"
    wallet = http.get_wallet_balance(accountType="UNIFIED")["result"]["list"][0]
    assert float(wallet["totalInitialMargin"]) == float(position["positionIM"]) > 60000


def test_seeded_faults_drop_public_frames(lockstep):
    """The fault hook is an interface the reliability tests drive: with every public frame dropped, a subscriber
    gets its acks and snapshot but no replayed frame."""
    from pybit.unified_trading import WebSocket
    ws = WebSocket(testnet=False, channel_type="linear")
    got = Collector()
    try:
        ws.trade_stream(symbol="BTCUSDT", callback=got)
        time.sleep(0.5)
        lockstep.control("faults", {"seed": 3, "public": {"drop": 1}})
        lockstep.advance(frames=30)
        time.sleep(0.5)
        assert got.items("publicTrade.BTCUSDT") == []
        lockstep.control("faults", {})
        lockstep.advance(frames=30)
        assert wait_for(lambda: got.items("publicTrade.BTCUSDT"))
    finally:
        ws.exit()
        lockstep.control("faults", {})


def test_trading_stop_legs_show_on_the_position_and_clear_by_zero(lockstep):
    http = client()
    http.place_order(category="linear", symbol="BTCUSDT", side="Buy", orderType="Market", qty="0.010")
    lockstep.advance(frames=1)
    last = float(http.get_tickers(category="linear", symbol="BTCUSDT")["result"]["list"][0]["lastPrice"])
    tp, sl = f"{last + 1000:.2f}", f"{last - 1000:.2f}"
    answer = http.set_trading_stop(category="linear", symbol="BTCUSDT", positionIdx=0, tpslMode="Full",
                                   takeProfit=tp, stopLoss=sl, tpTriggerBy="LastPrice", slTriggerBy="LastPrice")
    assert answer["retCode"] == 0
    lockstep.advance(frames=1)
    position = http.get_positions(category="linear", symbol="BTCUSDT")["result"]["list"][0]
    assert float(position["takeProfit"]) == float(tp) and float(position["stopLoss"]) == float(sl)
    legs = http.get_open_orders(category="linear", symbol="BTCUSDT")["result"]["list"]
    assert sorted(o["stopOrderType"] for o in legs) == ["StopLoss", "TakeProfit"]
    assert all(o["orderStatus"] == "Untriggered" for o in legs)
    # "0" removes the stop-loss and leaves the take-profit as it was.
    http.set_trading_stop(category="linear", symbol="BTCUSDT", positionIdx=0, tpslMode="Full", stopLoss="0")
    lockstep.advance(frames=1)
    position = http.get_positions(category="linear", symbol="BTCUSDT")["result"]["list"][0]
    assert position["stopLoss"] == "0" and float(position["takeProfit"]) == float(tp)
    closed = http.get_open_orders(category="linear", symbol="BTCUSDT", openOnly=1)["result"]["list"]
    assert any(o["stopOrderType"] == "StopLoss" and o["orderStatus"] == "Deactivated" for o in closed)


def last_price(http):
    return float(http.get_tickers(category="linear", symbol="BTCUSDT")["result"]["list"][0]["lastPrice"])


def test_tpsl_on_create_full_sets_the_position_and_partial_makes_linked_orders(lockstep):
    from pybit.exceptions import InvalidRequestError
    import pytest
    http = client()
    last = last_price(http)
    tp, sl = f"{last + 1000:.2f}", f"{last - 1000:.2f}"
    # Full: the position's own legs, made when the order fills.
    full = http.place_order(category="linear", symbol="BTCUSDT", side="Buy", orderType="Market", qty="0.010",
                            takeProfit=tp, stopLoss=sl, tpslMode="Full", tpTriggerBy="MarkPrice", slTriggerBy="LastPrice")
    assert full["retCode"] == 0
    lockstep.advance(frames=1)
    position = http.get_positions(category="linear", symbol="BTCUSDT")["result"]["list"][0]
    assert float(position["takeProfit"]) == float(tp) and float(position["stopLoss"]) == float(sl)
    legs = http.get_open_orders(category="linear", symbol="BTCUSDT", orderFilter="StopOrder")["result"]["list"]
    assert sorted((o["stopOrderType"], o["triggerBy"]) for o in legs) == [("StopLoss", "LastPrice"),
                                                                         ("TakeProfit", "MarkPrice")]
    assert http.get_open_orders(category="linear", symbol="BTCUSDT", orderFilter="Order")["result"]["list"] == []
    # Partial: a TP/SL pair of the filled size, linked to its order by parentOrderLinkId.
    link = f"conf-{uuid.uuid4().hex[:12]}"
    partial = http.place_order(category="linear", symbol="BTCUSDT", side="Buy", orderType="Market", qty="0.020",
                               orderLinkId=link, takeProfit=tp, stopLoss=sl, tpslMode="Partial")
    assert partial["retCode"] == 0
    lockstep.advance(frames=1)
    pair = [o for o in http.get_open_orders(category="linear", symbol="BTCUSDT")["result"]["list"]
            if o["parentOrderLinkId"] == link]
    assert sorted((o["stopOrderType"], o["qty"]) for o in pair) == [("PartialStopLoss", "0.020"),
                                                                     ("PartialTakeProfit", "0.020")]
    # TP/SL orders stay under OpenOrder; an ordinary resting bid does not.
    book = http.get_orderbook(category="linear", symbol="BTCUSDT", limit=1)["result"]
    below = f"{round(float(book['b'][0][0]) - 500, 1):.2f}"
    http.place_order(category="linear", symbol="BTCUSDT", side="Buy", orderType="Limit", qty="0.010", price=below,
                     timeInForce="PostOnly", orderLinkId=f"conf-{uuid.uuid4().hex[:12]}")
    lockstep.advance(frames=1)
    cancelled = http.cancel_all_orders(category="linear", symbol="BTCUSDT", orderFilter="OpenOrder")["result"]["list"]
    assert len(cancelled) == 1
    lockstep.advance(frames=1)
    assert len(http.get_open_orders(category="linear", symbol="BTCUSDT")["result"]["list"]) == 4
    # Reduce-only with TP/SL is a parameter error.
    with pytest.raises(InvalidRequestError) as e:
        http.place_order(category="linear", symbol="BTCUSDT", side="Sell", orderType="Market", qty="0.010",
                         reduceOnly=True, takeProfit=sl)
    assert e.value.status_code == 10001


def test_conditional_orders_amend_and_a_trigger_already_reached_is_refused(lockstep):
    from pybit.exceptions import InvalidRequestError
    import pytest
    http = client()
    last = last_price(http)
    link = f"conf-{uuid.uuid4().hex[:12]}"
    placed = http.place_order(category="linear", symbol="BTCUSDT", side="Buy", orderType="Market", qty="0.010",
                              triggerPrice=f"{last + 2000:.2f}", triggerDirection=1, orderLinkId=link)
    assert placed["retCode"] == 0
    lockstep.advance(frames=1)
    http.amend_order(category="linear", symbol="BTCUSDT", orderLinkId=link, triggerPrice=f"{last + 3000:.2f}")
    lockstep.advance(frames=1)
    order = http.get_open_orders(category="linear", symbol="BTCUSDT", orderLinkId=link)["result"]["list"][0]
    assert order["orderStatus"] == "Untriggered" and float(order["triggerPrice"]) == last + 3000
    # A rising trigger below the last price has been reached already: 110092.
    with pytest.raises(InvalidRequestError) as e:
        http.place_order(category="linear", symbol="BTCUSDT", side="Buy", orderType="Market", qty="0.010",
                         triggerPrice=f"{last - 2000:.2f}", triggerDirection=1)
    assert e.value.status_code == 110092
