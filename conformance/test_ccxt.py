"""Stock ccxt (`ccxt.bybit` 4.5.90, default options, only keys and URLs set) against `cascade sim --speed lockstep`.

Every trading test starts from fresh accounts (the `lockstep` fixture resets them) and moves the replay itself: an
order reaches the exchange when the test advances the replay, so fills are deterministic. Results are checked
through ccxt's parsed structures against what Bybit documents.
"""
import json
import urllib.request

import ccxt
import pytest

from ccxt_local import SYMBOL, rest_client

TAKER_FEE = 0.00055   # Bybit's base (non-VIP) taker rate for USDT perpetuals


@pytest.fixture
def bybit(lockstep, ccxt_markets):
    """A stock ccxt.bybit on fresh accounts (markets from the session's load_markets)."""
    exchange = rest_client(lockstep.port, ccxt_markets)
    yield exchange
    exchange.close()   # an idle keep-alive connection would hold up the simulator's shutdown


def public(lockstep, path):
    """The simulator's raw answer to an unsigned market endpoint (to compare ccxt's parse with the wire)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{lockstep.port}{path}", timeout=10) as response:
        body = json.loads(response.read())
    assert body["retCode"] == 0, body
    return body


def touch(bybit):
    book = bybit.fetch_order_book(SYMBOL, 1)
    return book["bids"][0][0], book["asks"][0][0]


def on_tick(bybit, price):
    return float(bybit.price_to_precision(SYMBOL, price))


def arrive(lockstep):
    """One replay frame: the orders sent so far reach the exchange and are matched."""
    assert lockstep.advance(frames=1)["frames"] == 1


def acknowledged(bybit, order_id, **params):
    """fetch_order on a unified account: ccxt asks for `acknowledged` (Bybit keeps the last 500 closed orders)."""
    return bybit.fetch_order(order_id, SYMBOL, {"acknowledged": True, **params})


def resting_buy(bybit, price, amount=0.01, params=None):
    order = bybit.create_order(SYMBOL, "limit", "buy", amount, price, {"postOnly": True, **(params or {})})
    assert isinstance(order["id"], str) and order["id"]
    return order


# ----------------------------------------------------------------------------------------------------------------
# Markets and public data


def test_load_markets_reads_the_linear_perpetual(lockstep):
    bybit = rest_client(lockstep.port)
    try:
        markets = bybit.load_markets()
    finally:
        bybit.close()
    assert list(markets) == [SYMBOL]
    market = bybit.market(SYMBOL)
    assert (market["id"], market["base"], market["quote"], market["settle"]) == ("BTCUSDT", "BTC", "USDT", "USDT")
    assert (market["type"], market["subType"]) == ("swap", "linear")
    assert market["swap"] and market["linear"] and market["contract"] and not market["inverse"] and not market["spot"]
    assert market["active"] is True and market["contractSize"] == 1
    assert market["precision"]["amount"] == 0.001 and market["precision"]["price"] == 0.1
    assert market["limits"]["amount"]["min"] == 0.001 and market["limits"]["amount"]["max"] == 1190
    assert market["limits"]["price"]["min"] == 0.1 and market["limits"]["price"]["max"] == 1999999.8
    assert market["limits"]["cost"]["min"] == 5
    # `status=PreLaunch` lists only pre-launch instruments: the perpetual is not read twice.
    assert len(bybit.markets_by_id["BTCUSDT"]) == 1
    # coin-info lists USDT, the only coin the simulated accounts hold (no chains: no deposits or withdrawals here).
    assert "USDT" in bybit.currencies


def test_fetch_order_book_matches_the_wire(lockstep, bybit):
    book = bybit.fetch_order_book(SYMBOL)   # ccxt asks for limit=25 on contracts
    assert book["symbol"] == SYMBOL and len(book["bids"]) == 25 and len(book["asks"]) == 25
    bids, asks = [p for p, _ in book["bids"]], [p for p, _ in book["asks"]]
    assert bids == sorted(bids, reverse=True) and len(set(bids)) == 25
    assert asks == sorted(asks) and len(set(asks)) == 25
    assert bids[0] < asks[0] and all(q > 0 for _, q in book["bids"] + book["asks"])
    raw = public(lockstep, "/v5/market/orderbook?category=linear&symbol=BTCUSDT&limit=5")["result"]
    five = bybit.fetch_order_book(SYMBOL, 5)
    assert five["bids"] == [[float(p), float(q)] for p, q in raw["b"]] == book["bids"][:5]
    assert five["asks"] == [[float(p), float(q)] for p, q in raw["a"]] == book["asks"][:5]
    assert five["timestamp"] == raw["ts"] > 0


def test_fetch_trades_after_the_replay_moves(lockstep, bybit):
    lockstep.advance(frames=10)   # the replay has a public trade every 10 frames
    trades = bybit.fetch_trades(SYMBOL)
    raw = public(lockstep, "/v5/market/recent-trade?category=linear&symbol=BTCUSDT")["result"]["list"]
    assert trades and len(trades) == len(raw)
    assert [t["id"] for t in trades] == [r["execId"] for r in reversed(raw)]   # Bybit: newest first; ccxt: oldest first
    for trade, item in zip(trades, reversed(raw)):
        assert trade["symbol"] == SYMBOL and trade["side"] == item["side"].lower() in ("buy", "sell")
        assert trade["price"] == float(item["price"]) > 0 and trade["amount"] == float(item["size"]) > 0
        assert trade["timestamp"] == int(item["time"]) and trade["cost"] == pytest.approx(trade["price"] * trade["amount"])
    stamps = [t["timestamp"] for t in trades]
    assert stamps == sorted(stamps)
    newest = bybit.fetch_trades(SYMBOL, limit=1)
    assert [t["id"] for t in newest] == [trades[-1]["id"]]


def test_fetch_ticker_agrees_with_the_book(lockstep, bybit):
    ticker = bybit.fetch_ticker(SYMBOL)
    bid, ask = touch(bybit)
    raw = public(lockstep, "/v5/market/tickers?category=linear&symbol=BTCUSDT")["result"]["list"][0]
    assert ticker["symbol"] == SYMBOL
    assert ticker["bid"] == bid and ticker["ask"] == ask and bid < ask
    assert ticker["last"] == float(raw["lastPrice"]) and bid <= ticker["last"] <= ask
    assert ticker["markPrice"] == float(raw["markPrice"]) > 0


# ----------------------------------------------------------------------------------------------------------------
# Account


def test_fetch_balance_of_a_fresh_unified_account(lockstep, bybit):
    balance = bybit.fetch_balance()
    # The default key is a unified trading account (query-api uta=1): ccxt asks for accountType=UNIFIED.
    assert bybit.options["enableUnifiedAccount"] is True
    assert balance["USDT"]["total"] == 100000 and balance["USDT"]["free"] == 100000 and balance["USDT"]["used"] == 0
    assert balance["total"]["USDT"] == 100000


def test_set_leverage_shows_on_the_position_and_an_unchanged_leverage_is_refused(lockstep, bybit):
    assert bybit.fetch_positions([SYMBOL])[0]["leverage"] == 10   # the default
    answer = bybit.set_leverage(20, SYMBOL)
    assert str(answer["retCode"]) == "0"
    assert bybit.fetch_positions([SYMBOL])[0]["leverage"] == 20
    with pytest.raises(ccxt.BadRequest):   # 110043 "leverage not modified"
        bybit.set_leverage(20, SYMBOL)


# ----------------------------------------------------------------------------------------------------------------
# Orders


def test_post_only_limit_rests_and_a_crossing_one_is_cancelled(lockstep, bybit):
    bid, ask = touch(bybit)
    price = on_tick(bybit, bid - 500)
    placed = resting_buy(bybit, price)
    arrive(lockstep)
    [order] = bybit.fetch_open_orders(SYMBOL)
    assert order["id"] == placed["id"] and order["symbol"] == SYMBOL and order["status"] == "open"
    assert (order["type"], order["side"], order["timeInForce"], order["postOnly"]) == ("limit", "buy", "PO", True)
    assert order["price"] == price and order["amount"] == 0.01 and order["filled"] == 0 and order["remaining"] == 0.01
    assert order["reduceOnly"] is False and order["average"] is None
    assert [o["id"] for o in bybit.fetch_open_orders()] == [placed["id"]]   # settleCoin=USDT
    # A post-only order that would take liquidity is accepted, then cancelled by the exchange.
    crossing = bybit.create_order(SYMBOL, "limit", "buy", 0.01, on_tick(bybit, ask + 50), {"postOnly": True})
    arrive(lockstep)
    cancelled = acknowledged(bybit, crossing["id"])
    assert cancelled["status"] == "canceled" and cancelled["filled"] == 0
    assert [o["id"] for o in bybit.fetch_open_orders(SYMBOL)] == [placed["id"]]


def test_gtc_limit_rests_below_and_fills_at_the_touch_when_it_crosses(lockstep, bybit):
    bid, ask = touch(bybit)
    price = on_tick(bybit, bid - 500)
    resting = bybit.create_order(SYMBOL, "limit", "buy", 0.01, price, {"timeInForce": "GTC"})
    arrive(lockstep)
    [order] = bybit.fetch_open_orders(SYMBOL)
    assert order["id"] == resting["id"] and order["status"] == "open" and order["timeInForce"] == "GTC"
    assert order["price"] == price and order["remaining"] == 0.01
    limit = on_tick(bybit, ask + 50)
    crossing = bybit.create_order(SYMBOL, "limit", "buy", 0.01, limit, {"timeInForce": "GTC"})
    arrive(lockstep)
    filled = acknowledged(bybit, crossing["id"])
    assert filled["status"] == "closed" and filled["filled"] == 0.01 and filled["remaining"] == 0
    assert filled["price"] == limit and filled["average"] == ask   # a taker fills at the resting ask, not its limit
    assert filled["cost"] == pytest.approx(0.01 * ask)


def test_market_order_fills_at_the_touch(lockstep, bybit):
    bid, ask = touch(bybit)
    placed = bybit.create_order(SYMBOL, "market", "buy", 0.01)
    assert placed["id"]
    arrive(lockstep)
    order = acknowledged(bybit, placed["id"])
    assert order["id"] == placed["id"] and order["symbol"] == SYMBOL
    assert (order["type"], order["side"], order["status"], order["timeInForce"]) == ("market", "buy", "closed", "IOC")
    assert order["amount"] == 0.01 and order["filled"] == 0.01 and order["remaining"] == 0
    assert order["average"] == ask and order["cost"] == pytest.approx(0.01 * ask)
    assert order["fee"]["currency"] == "USDT" and order["fee"]["cost"] == pytest.approx(0.01 * ask * TAKER_FEE, abs=1e-6)
    assert bybit.fetch_open_orders(SYMBOL) == []


def test_reduce_only_is_refused_when_flat_and_reduces_a_position(lockstep, bybit):
    bid, ask = touch(bybit)
    with pytest.raises(ccxt.InvalidOrder):   # 110017: no position to reduce
        bybit.create_order(SYMBOL, "market", "sell", 0.01, None, {"reduceOnly": True})
    bybit.create_order(SYMBOL, "market", "buy", 0.02)
    arrive(lockstep)
    placed = bybit.create_order(SYMBOL, "market", "sell", 0.01, None, {"reduceOnly": True})
    arrive(lockstep)
    order = acknowledged(bybit, placed["id"])
    assert order["reduceOnly"] is True and order["side"] == "sell" and order["status"] == "closed"
    assert order["filled"] == 0.01 and order["average"] == bid
    [position] = bybit.fetch_positions([SYMBOL])
    assert position["side"] == "long" and position["contracts"] == 0.01


def test_trigger_order_waits_untriggered_and_a_reached_trigger_is_refused(lockstep, bybit):
    last = bybit.fetch_ticker(SYMBOL)["last"]
    trigger = on_tick(bybit, last + 2000)
    placed = bybit.create_order(SYMBOL, "market", "buy", 0.01, None,
                                {"triggerPrice": trigger, "triggerDirection": "ascending"})
    arrive(lockstep)
    [order] = bybit.fetch_open_orders(SYMBOL)   # no orderFilter: Bybit lists every kind of open order
    assert order["id"] == placed["id"] and order["status"] == "open" and order["info"]["orderStatus"] == "Untriggered"
    assert (order["type"], order["side"], order["amount"], order["filled"]) == ("market", "buy", 0.01, 0)
    assert order["triggerPrice"] == trigger and int(order["info"]["triggerDirection"]) == 1
    assert [o["id"] for o in bybit.fetch_open_orders(SYMBOL, params={"trigger": True})] == [placed["id"]]
    assert acknowledged(bybit, placed["id"])["triggerPrice"] == trigger
    # A rising trigger at or below the last price has been reached already: 110092.
    with pytest.raises(ccxt.InvalidOrder):
        bybit.create_order(SYMBOL, "market", "buy", 0.01, None,
                           {"triggerPrice": on_tick(bybit, last - 2000), "triggerDirection": "ascending"})
    assert bybit.cancel_order(placed["id"], SYMBOL)["id"] == placed["id"]
    arrive(lockstep)
    assert bybit.fetch_open_orders(SYMBOL) == []
    assert acknowledged(bybit, placed["id"])["status"] == "canceled"


def test_limit_with_attached_take_profit_and_stop_loss(lockstep, bybit):
    bid, ask = touch(bybit)
    price = on_tick(bybit, bid - 500)
    tp, sl = on_tick(bybit, ask + 1000), on_tick(bybit, price - 1000)
    legs = {"takeProfit": {"triggerPrice": tp}, "stopLoss": {"triggerPrice": sl}}
    placed = bybit.create_order(SYMBOL, "limit", "buy", 0.01, price, legs)
    arrive(lockstep)
    [order] = bybit.fetch_open_orders(SYMBOL)
    assert order["id"] == placed["id"] and order["status"] == "open" and order["price"] == price
    assert order["takeProfitPrice"] == tp and order["stopLossPrice"] == sl
    # Filled, the legs (tpslMode Full, Bybit's default) move to the position.
    crossing = bybit.create_order(SYMBOL, "limit", "buy", 0.01, on_tick(bybit, ask + 50), legs)
    arrive(lockstep)
    assert acknowledged(bybit, crossing["id"])["status"] == "closed"
    [position] = bybit.fetch_positions([SYMBOL])
    assert position["contracts"] == 0.01 and position["side"] == "long"
    assert position["takeProfitPrice"] == tp and position["stopLossPrice"] == sl


def test_edit_order_amends_price_and_amount(lockstep, bybit):
    bid, _ = touch(bybit)
    price = on_tick(bybit, bid - 500)
    placed = resting_buy(bybit, price)
    arrive(lockstep)
    edited = bybit.edit_order(placed["id"], SYMBOL, "limit", "buy", 0.02, price - 100)
    assert edited["id"] == placed["id"]
    arrive(lockstep)
    [order] = bybit.fetch_open_orders(SYMBOL)
    assert order["id"] == placed["id"] and order["price"] == price - 100
    assert order["amount"] == 0.02 and order["remaining"] == 0.02 and order["status"] == "open"
    bybit.edit_order(placed["id"], SYMBOL, "limit", "buy", None, price - 200)   # price only
    arrive(lockstep)
    [order] = bybit.fetch_open_orders(SYMBOL)
    assert order["price"] == price - 200 and order["amount"] == 0.02


def test_cancel_order_and_a_second_cancel_is_order_not_found(lockstep, bybit):
    bid, _ = touch(bybit)
    placed = resting_buy(bybit, on_tick(bybit, bid - 500))
    arrive(lockstep)
    cancelled = bybit.cancel_order(placed["id"], SYMBOL)
    assert cancelled["id"] == placed["id"]
    arrive(lockstep)
    assert bybit.fetch_open_orders(SYMBOL) == []
    order = acknowledged(bybit, placed["id"])
    assert order["status"] == "canceled" and order["filled"] == 0
    with pytest.raises(ccxt.OrderNotFound):   # 110001
        bybit.cancel_order(placed["id"], SYMBOL)


def test_cancel_all_orders_with_and_without_a_symbol(lockstep, bybit):
    bid, _ = touch(bybit)
    last = bybit.fetch_ticker(SYMBOL)["last"]
    ids = {resting_buy(bybit, on_tick(bybit, bid - 500))["id"],
           resting_buy(bybit, on_tick(bybit, bid - 600))["id"],
           bybit.create_order(SYMBOL, "market", "buy", 0.01, None,
                              {"triggerPrice": on_tick(bybit, last + 2000), "triggerDirection": "ascending"})["id"]}
    arrive(lockstep)
    assert {o["id"] for o in bybit.fetch_open_orders(SYMBOL)} == ids
    # No orderFilter: every kind of order goes, conditional ones included.
    assert {o["id"] for o in bybit.cancel_all_orders(SYMBOL)} == ids
    arrive(lockstep)
    assert bybit.fetch_open_orders(SYMBOL) == []
    assert {acknowledged(bybit, i)["status"] for i in ids} == {"canceled"}
    another = resting_buy(bybit, on_tick(bybit, bid - 700))
    arrive(lockstep)
    assert [o["id"] for o in bybit.cancel_all_orders()] == [another["id"]]   # settleCoin=USDT
    arrive(lockstep)
    assert bybit.fetch_open_orders() == []


def test_fetch_order_of_a_resting_and_a_filled_order(lockstep, bybit):
    bid, ask = touch(bybit)
    price = on_tick(bybit, bid - 500)
    resting = resting_buy(bybit, price)
    market = bybit.create_order(SYMBOL, "market", "sell", 0.01)
    arrive(lockstep)
    order = acknowledged(bybit, resting["id"])
    assert (order["id"], order["status"], order["side"], order["type"]) == (resting["id"], "open", "buy", "limit")
    assert order["price"] == price and order["amount"] == 0.01 and order["filled"] == 0 and order["remaining"] == 0.01
    order = acknowledged(bybit, market["id"])
    assert (order["id"], order["status"], order["side"], order["type"]) == (market["id"], "closed", "sell", "market")
    assert order["filled"] == 0.01 and order["average"] == bid
    with pytest.raises(ccxt.OrderNotFound):
        acknowledged(bybit, "no-such-order")


def test_fetch_closed_orders_lists_filled_orders_only(lockstep, bybit):
    bid, _ = touch(bybit)
    filled = bybit.create_order(SYMBOL, "market", "buy", 0.01)
    resting = resting_buy(bybit, on_tick(bybit, bid - 500))
    arrive(lockstep)
    closed = bybit.fetch_closed_orders(SYMBOL)   # order/history, orderStatus=Filled
    assert [o["id"] for o in closed] == [filled["id"]]
    assert closed[0]["status"] == "closed" and closed[0]["filled"] == 0.01 and closed[0]["side"] == "buy"
    assert resting["id"] not in {o["id"] for o in closed}


def test_fetch_my_trades_after_a_market_fill(lockstep, bybit):
    _, ask = touch(bybit)
    assert bybit.fetch_my_trades(SYMBOL) == []
    placed = bybit.create_order(SYMBOL, "market", "buy", 0.01)
    arrive(lockstep)
    [trade] = bybit.fetch_my_trades(SYMBOL)
    assert trade["id"] and trade["order"] == placed["id"] and trade["symbol"] == SYMBOL
    assert (trade["side"], trade["type"], trade["takerOrMaker"]) == ("buy", "market", "taker")
    assert trade["price"] == ask and trade["amount"] == 0.01 and trade["cost"] == pytest.approx(0.01 * ask)
    assert trade["fee"]["currency"] == "USDT" and trade["fee"]["cost"] == pytest.approx(0.01 * ask * TAKER_FEE, abs=1e-6)
    assert trade["fee"]["rate"] == TAKER_FEE
    assert [t["id"] for t in bybit.fetch_my_trades()] == [trade["id"]]


def test_fetch_positions_after_a_fill(lockstep, bybit):
    _, ask = touch(bybit)
    assert bybit.fetch_positions() == []   # settleCoin: open positions only
    [flat] = bybit.fetch_positions([SYMBOL])   # a symbol: returned even when flat
    assert flat["symbol"] == SYMBOL and flat["contracts"] == 0 and flat["side"] is None
    bybit.create_order(SYMBOL, "market", "buy", 0.02)
    arrive(lockstep)
    [position] = bybit.fetch_positions([SYMBOL])
    assert position["symbol"] == SYMBOL and position["side"] == "long" and position["hedged"] is False
    assert position["contracts"] == 0.02 and position["contractSize"] == 1
    assert position["entryPrice"] == ask and position["leverage"] == 10
    assert position["initialMargin"] == pytest.approx(0.02 * ask / 10, rel=0.01)
    assert [(p["symbol"], p["contracts"]) for p in bybit.fetch_positions()] == [(SYMBOL, 0.02)]
