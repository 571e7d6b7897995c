"""pybit's signed HTTP client against the trading endpoints of `cascade sim` (default test key)."""
import time
import uuid

import pytest
from pybit.exceptions import InvalidRequestError
from pybit.unified_trading import HTTP

from helpers import KEY, SECRET, client, wait_for  # noqa: E402


def open_orders(http):
    return http.get_open_orders(category="linear", symbol="BTCUSDT")["result"]["list"]


def test_place_list_and_cancel_a_post_only_order(sim):
    http = client()
    book = http.get_orderbook(category="linear", symbol="BTCUSDT", limit=1)["result"]
    below = f"{round(float(book['b'][0][0]) - 500, 1):.2f}"   # far below the bid, on the 0.10 tick: rests
    link = f"conf-{uuid.uuid4().hex[:12]}"
    placed = http.place_order(category="linear", symbol="BTCUSDT", side="Buy", orderType="Limit", qty="0.010",
                              price=below, timeInForce="PostOnly", orderLinkId=link)
    assert placed["retCode"] == 0 and placed["result"]["orderLinkId"] == link
    order_id = placed["result"]["orderId"]
    assert wait_for(lambda: any(o["orderId"] == order_id and o["orderStatus"] == "New" for o in open_orders(http)))
    time.sleep(0.2)   # still open once the exchange processed it (a rejected order would leave the list)
    assert any(o["orderId"] == order_id for o in open_orders(http))
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
    above = f"{round(float(book['a'][0][0]) + 100, 1):.2f}"   # through the ask: would take liquidity
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


def test_amend_then_cancel_all(sim):
    http = client()
    book = http.get_orderbook(category="linear", symbol="BTCUSDT", limit=1)["result"]
    below = round(float(book["b"][0][0]) - 500, 1)
    link = f"conf-{uuid.uuid4().hex[:12]}"
    placed = http.place_order(category="linear", symbol="BTCUSDT", side="Buy", orderType="Limit", qty="0.020",
                              price=f"{below:.2f}", timeInForce="PostOnly", orderLinkId=link)
    order_id = placed["result"]["orderId"]
    assert wait_for(lambda: any(o["orderId"] == order_id and o["orderStatus"] == "New" for o in open_orders(http)))
    amended = http.amend_order(category="linear", symbol="BTCUSDT", orderLinkId=link, qty="0.010")
    assert amended["result"]["orderId"] == order_id
    assert wait_for(lambda: any(o["orderId"] == order_id and o["qty"] == "0.010" for o in open_orders(http)))
    result = http.cancel_all_orders(category="linear", symbol="BTCUSDT")
    assert any(o["orderId"] == order_id for o in result["result"]["list"])
    assert wait_for(lambda: not open_orders(http))


def test_order_rate_limit_answers_10006_with_a_future_reset(sim):
    # retry_codes={-1} disables pybit's own retry; ignore_codes returns the raw 10006 answer.
    http = HTTP(testnet=False, api_key=KEY, api_secret=SECRET, max_retries=1, retry_codes={-1}, ignore_codes={10006, 10001},
                return_response_headers=True)
    codes, resets = [], []
    time.sleep(1.1)   # start from a fresh one-second window
    # 15 creates in well under a second against a limit of 10 per second.
    for i in range(15):
        body, _elapsed, headers = http.place_order(category="linear", symbol="BTCUSDT", side="Buy", orderType="Limit",
                                                   qty="0.010", price="1000.00", timeInForce="PostOnly",
                                                   orderLinkId=f"burst-{uuid.uuid4().hex[:10]}")
        codes.append(body["retCode"])
        resets.append((int(headers["X-Bapi-Limit-Reset-Timestamp"]), int(body["time"])))
    assert 10006 in codes and codes.index(10006) == 10
    refused = [r for c, r in zip(codes, resets) if c == 10006]
    assert all(reset > now for reset, now in refused)
    client().cancel_all_orders(category="linear", symbol="BTCUSDT")
