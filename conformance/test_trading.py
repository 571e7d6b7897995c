"""pybit's signed HTTP client against the trading endpoints of `cascade sim` (default test key)."""
import time
import uuid

import pytest
from pybit.exceptions import InvalidRequestError
from pybit.unified_trading import HTTP

KEY, SECRET = "cascade-test-key", "cascade-test-secret"


def client(secret=SECRET):
    return HTTP(testnet=False, api_key=KEY, api_secret=secret, max_retries=1, retry_codes={-1})


def wait_for(predicate, timeout=15.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def open_orders(http):
    return http.get_open_orders(category="linear", symbol="BTCUSDT")["result"]["list"]


def test_place_list_and_cancel_a_post_only_order(sim):
    http = client()
    book = http.get_orderbook(category="linear", symbol="BTCUSDT", limit=1)["result"]
    below = f"{float(book['b'][0][0]) - 500:.2f}"   # far below the bid: rests, never fills
    link = f"conf-{uuid.uuid4().hex[:12]}"
    placed = http.place_order(category="linear", symbol="BTCUSDT", side="Buy", orderType="Limit", qty="0.010",
                              price=below, timeInForce="PostOnly", orderLinkId=link)
    assert placed["retCode"] == 0 and placed["result"]["orderLinkId"] == link
    order_id = placed["result"]["orderId"]
    assert wait_for(lambda: any(o["orderId"] == order_id and o["orderStatus"] == "New" for o in open_orders(http)))
    mine = next(o for o in open_orders(http) if o["orderId"] == order_id)
    assert mine["timeInForce"] == "PostOnly" and mine["side"] == "Buy" and mine["qty"] == "0.010"
    cancelled = http.cancel_order(category="linear", symbol="BTCUSDT", orderLinkId=link)
    assert cancelled["result"]["orderId"] == order_id
    assert wait_for(lambda: all(o["orderId"] != order_id for o in open_orders(http)))
    with pytest.raises(InvalidRequestError) as e:
        http.cancel_order(category="linear", symbol="BTCUSDT", orderId=order_id)
    assert e.value.status_code == 110001


def test_a_crossing_post_only_order_is_accepted_then_cancelled(sim):
    http = client()
    book = http.get_orderbook(category="linear", symbol="BTCUSDT", limit=1)["result"]
    above = f"{float(book['a'][0][0]) + 100:.2f}"   # through the ask: would take liquidity
    placed = http.place_order(category="linear", symbol="BTCUSDT", side="Buy", orderType="Limit", qty="0.010",
                              price=above, timeInForce="PostOnly", orderLinkId=f"conf-{uuid.uuid4().hex[:12]}")
    assert placed["retCode"] == 0   # accepted, as on Bybit
    order_id = placed["result"]["orderId"]
    assert wait_for(lambda: all(o["orderId"] != order_id for o in open_orders(http)))


def test_bad_signature_is_10004_and_unknown_key_10003(sim):
    with pytest.raises(InvalidRequestError) as e:
        client(secret="not-the-secret").get_open_orders(category="linear", symbol="BTCUSDT")
    assert e.value.status_code == 10004
    other = HTTP(testnet=False, api_key="nobody", api_secret="x", max_retries=1, retry_codes={-1})
    with pytest.raises(InvalidRequestError) as e:
        other.get_wallet_balance(accountType="UNIFIED")
    assert e.value.status_code == 10003


def test_wallet_and_positions_of_the_default_account(sim):
    http = client()
    wallet = http.get_wallet_balance(accountType="UNIFIED")["result"]["list"][0]
    assert wallet["accountType"] == "UNIFIED" and float(wallet["totalWalletBalance"]) > 0
    positions = http.get_positions(category="linear", symbol="BTCUSDT")
    assert positions["retCode"] == 0
