"""Stock ccxt.pro (`ccxt.pro.bybit` 4.5.90, default options, only keys and URLs set) against `cascade sim --speed
lockstep`: public and private streams, and each `un_watch_*` answered by an unsubscribe ack with the same req_id.

Every await has a timeout (`within`), so a stream the simulator never answers fails the test instead of hanging.
A test that needs an event waits for the simulator's subscribe ack before it moves the replay.
"""
import asyncio
import traceback

import pytest

from ccxt_local import SYMBOL, pro_client, started, subscribed, unwatched, within

TAKER_FEE = 0.00055


@pytest.fixture
def pro(lockstep, ccxt_markets):
    """Runs `scenario(exchange)` on a fresh stock ccxt.pro.bybit (fresh accounts), closing it afterwards."""
    def run(scenario):
        async def main():
            exchange = pro_client(lockstep.port, ccxt_markets)
            try:
                await scenario(exchange)
            finally:
                await exchange.close()
        try:
            asyncio.run(main())
        except Exception as error:
            # Reported as text: pytest 9 on CPython 3.11.7 crashes (INTERNALERROR "AST constructor recursion depth
            # mismatch", CPython gh-106905) formatting some long ccxt/asyncio tracebacks itself.
            raise AssertionError("".join(traceback.format_exception(error))) from None
    return run


async def advance(lockstep, **step):
    return await asyncio.to_thread(lockstep.advance, **step)


def levels(side, depth):
    return [[float(p), float(q)] for p, q in list(side)[:depth]]


async def converged(exchange, seconds=10.0):
    """Waits until the streamed book equals the REST book (the lockstep replay stands still meanwhile)."""
    rest = await within(exchange.fetch_order_book(SYMBOL, 50))
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        book = exchange.orderbooks[SYMBOL]
        if levels(book["bids"], 50) == rest["bids"] and levels(book["asks"], 50) == rest["asks"]:
            return rest
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"streamed book {levels(book['bids'], 3)}/{levels(book['asks'], 3)} never matched "
                                 f"REST {rest['bids'][:3]}/{rest['asks'][:3]}")
        await asyncio.sleep(0.02)


# ----------------------------------------------------------------------------------------------------------------
# Public streams


def test_watch_order_book_snapshot_then_deltas_and_unwatch(pro, lockstep):
    async def scenario(exchange):
        book = await within(exchange.watch_order_book(SYMBOL))   # orderbook.50: a snapshot on subscribe
        assert book["symbol"] == SYMBOL and len(book["bids"]) == 50 and len(book["asks"]) == 50
        bids, asks = [p for p, _ in book["bids"]], [p for p, _ in book["asks"]]
        assert bids == sorted(bids, reverse=True) and asks == sorted(asks) and bids[0] < asks[0]
        await converged(exchange)
        first = book["timestamp"]
        pending = await started(exchange.watch_order_book(SYMBOL))
        await advance(lockstep, frames=5)
        book = await within(pending)
        assert book["timestamp"] > first
        await converged(exchange)   # the deltas applied to the snapshot give the exchange's book
        assert await unwatched(exchange, exchange.un_watch_order_book(SYMBOL)) is True
    pro(scenario)


def test_watch_trades_and_unwatch(pro, lockstep):
    async def scenario(exchange):
        pending = await started(exchange.watch_trades(SYMBOL))
        await subscribed(exchange, f"trade:{SYMBOL}", pending)
        await advance(lockstep, frames=10)   # the replay has a public trade every 10 frames
        trades = await within(pending)
        assert trades
        for trade in trades:
            assert trade["symbol"] == SYMBOL and trade["side"] in ("buy", "sell") and trade["id"]
            assert trade["price"] > 0 and trade["amount"] > 0 and trade["timestamp"] > 0
        recent = {t["id"]: t for t in await within(exchange.fetch_trades(SYMBOL))}
        for trade in trades:
            same = recent[trade["id"]]
            assert (same["price"], same["amount"], same["side"], same["timestamp"]) == \
                   (trade["price"], trade["amount"], trade["side"], trade["timestamp"])
        assert await unwatched(exchange, exchange.un_watch_trades(SYMBOL)) is True
    pro(scenario)


def test_watch_ticker_and_unwatch(pro, lockstep):
    async def scenario(exchange):
        ticker = await within(exchange.watch_ticker(SYMBOL))   # tickers: a snapshot on subscribe
        book = await within(exchange.fetch_order_book(SYMBOL, 1))
        rest = await within(exchange.fetch_ticker(SYMBOL))
        assert ticker["symbol"] == SYMBOL
        assert ticker["bid"] == book["bids"][0][0] and ticker["ask"] == book["asks"][0][0]
        assert ticker["last"] == rest["last"] and ticker["markPrice"] == rest["markPrice"]
        first = ticker["timestamp"]
        pending = await started(exchange.watch_ticker(SYMBOL))
        await advance(lockstep, frames=10)   # and a ticker delta every 10 frames
        ticker = await within(pending)
        assert ticker["timestamp"] > first and ticker["bid"] == book["bids"][0][0] and ticker["last"] == rest["last"]
        assert await unwatched(exchange, exchange.un_watch_ticker(SYMBOL)) is True
    pro(scenario)


# ----------------------------------------------------------------------------------------------------------------
# Private streams


def test_watch_orders_new_then_cancelled_and_unwatch(pro, lockstep):
    async def scenario(exchange):
        book = await within(exchange.fetch_order_book(SYMBOL, 1))
        price = float(exchange.price_to_precision(SYMBOL, book["bids"][0][0] - 500))
        pending = await started(exchange.watch_orders(SYMBOL))
        await subscribed(exchange, f"orders:{SYMBOL}", pending)
        placed = await within(exchange.create_order(SYMBOL, "limit", "buy", 0.01, price, {"postOnly": True}))
        await advance(lockstep, frames=1)
        orders = await within(pending)
        [order] = [o for o in orders if o["id"] == placed["id"]]
        assert order["symbol"] == SYMBOL and order["status"] == "open" and order["side"] == "buy"
        assert order["type"] == "limit" and order["timeInForce"] == "PO" and order["price"] == price
        assert order["amount"] == 0.01 and order["filled"] == 0 and order["remaining"] == 0.01
        pending = await started(exchange.watch_orders(SYMBOL))
        await within(exchange.cancel_order(placed["id"], SYMBOL))
        await advance(lockstep, frames=1)
        orders = await within(pending)
        assert [o["status"] for o in orders if o["id"] == placed["id"]] == ["canceled"]
        assert await unwatched(exchange, exchange.un_watch_orders()) is True
    pro(scenario)


def test_watch_my_trades_after_a_market_fill_and_unwatch(pro, lockstep):
    async def scenario(exchange):
        book = await within(exchange.fetch_order_book(SYMBOL, 1))
        ask = book["asks"][0][0]
        pending = await started(exchange.watch_my_trades(SYMBOL))
        await subscribed(exchange, f"myTrades:{SYMBOL}", pending)
        placed = await within(exchange.create_order(SYMBOL, "market", "buy", 0.01))
        await advance(lockstep, frames=1)
        [trade] = await within(pending)
        assert trade["order"] == placed["id"] and trade["symbol"] == SYMBOL and trade["id"]
        assert (trade["side"], trade["takerOrMaker"]) == ("buy", "taker")
        assert trade["price"] == ask and trade["amount"] == 0.01
        assert trade["fee"]["currency"] == "USDT"
        assert trade["fee"]["cost"] == pytest.approx(0.01 * ask * TAKER_FEE, abs=1e-6)
        [listed] = await within(exchange.fetch_my_trades(SYMBOL))
        assert listed["id"] == trade["id"]
        assert await unwatched(exchange, exchange.un_watch_my_trades()) is True
    pro(scenario)


def test_watch_positions_snapshot_then_updates_and_unwatch(pro, lockstep):
    async def scenario(exchange):
        book = await within(exchange.fetch_order_book(SYMBOL, 1))
        ask = book["asks"][0][0]
        # The first call answers from REST (position/list for linear and inverse): a fresh account has none.
        assert await within(exchange.watch_positions([SYMBOL])) == []
        pending = await started(exchange.watch_positions([SYMBOL]))   # now subscribes to `position`
        await subscribed(exchange, f"positions::{SYMBOL}", pending)
        await within(exchange.create_order(SYMBOL, "market", "buy", 0.01))
        await advance(lockstep, frames=1)
        positions = await within(pending)
        assert positions and all(p["symbol"] == SYMBOL for p in positions)
        position = positions[-1]
        assert position["side"] == "long" and position["contracts"] == 0.01 and position["entryPrice"] == ask
        assert await unwatched(exchange, exchange.un_watch_positions()) is True
    pro(scenario)
