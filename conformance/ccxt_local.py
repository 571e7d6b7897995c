"""Point stock ccxt (`ccxt.bybit`, `ccxt.pro.bybit`) at a local Cascade simulator.

Only `apiKey`, `secret` and `urls` are set: every option keeps ccxt's default (the acceptance criterion is "the
ccxt suite passes with ccxt's default options"). Every REST and WebSocket URL ccxt knows for Bybit is pointed at
the simulator, so nothing leaves the machine.
"""
import asyncio

import ccxt
import ccxt.pro

from helpers import KEY, SECRET

SYMBOL = "BTC/USDT:USDT"
TIMEOUT = 20.0   # seconds for an awaited ccxt.pro call: a hang fails the test instead of blocking CI
ACK_TIMEOUT = 10.0   # seconds for a subscribe or unsubscribe ack (the simulator is local: it answers at once)


def urls(port: int) -> dict:
    http, ws = f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}"
    return {"api": {
        # REST: ccxt signs and sends every v5 endpoint through `public` or `private`; the others are unused in 4.5.90.
        "public": http, "private": http, "spot": http, "futures": http, "v2": http,
        "ws": {
            "public": {"linear": f"{ws}/v5/public/linear", "spot": f"{ws}/v5/public/spot",
                       "inverse": f"{ws}/v5/public/inverse", "option": f"{ws}/v5/public/option"},
            # `contract` carries every private stream of a USDT-settled market; the URL must contain `v5/private`.
            "private": {"contract": f"{ws}/v5/private", "usdc": f"{ws}/v5/private", "trade": f"{ws}/v5/trade",
                        "spot": {"unified": f"{ws}/v5/private", "nonUnified": f"{ws}/v5/private"}},
        }}}


def config(port: int) -> dict:
    return {"apiKey": KEY, "secret": SECRET, "urls": urls(port)}


def rest_client(port: int, markets=None) -> ccxt.bybit:
    """A stock synchronous `ccxt.bybit`; `markets` = (markets, currencies) of an earlier load_markets, if given."""
    exchange = ccxt.bybit(config(port))
    if markets is not None:
        exchange.set_markets(list(markets[0].values()), markets[1])
    return exchange


def pro_client(port: int, markets=None) -> ccxt.pro.bybit:
    """A stock `ccxt.pro.bybit` (REST and WebSocket); close it with `await exchange.close()`."""
    exchange = ccxt.pro.bybit(config(port))
    if markets is not None:
        exchange.set_markets(list(markets[0].values()), markets[1])
    record_acks(exchange)
    return exchange


def record_acks(exchange) -> None:
    """Keeps the `subscribe` and `unsubscribe` acks the exchange receives (ccxt ignores subscribe acks: its handler is
    a no-op). A test waits for the ack answering its subscription before it moves a lockstep replay, so no event can
    precede the subscription; a missing ack is reported with the acks that did arrive."""
    exchange.cascade_acks = []
    for name in ("handle_subscription_status", "handle_un_subscribe"):
        original = getattr(exchange, name)

        def handle(client, message, original=original):
            exchange.cascade_acks.append(message)
            return original(client, message)

        setattr(exchange, name, handle)


async def within(awaitable, seconds: float = TIMEOUT):
    return await asyncio.wait_for(awaitable, seconds)


async def unwatched(exchange, awaitable):
    """An `un_watch_*` call: ccxt resolves it (to True) only on an unsubscribe ack carrying the request's req_id."""
    try:
        return await asyncio.wait_for(awaitable, ACK_TIMEOUT)
    except asyncio.TimeoutError:
        sent = {h: s for c in exchange.clients.values() for h, s in c.subscriptions.items() if h.startswith("unsubscribe")}
        raise AssertionError(f"no unsubscribe ack echoing the req_id of {sent!r}; "
                             f"acks received: {exchange.cascade_acks!r}") from None


async def subscribed(exchange, message_hash: str, watch: asyncio.Future, seconds: float = ACK_TIMEOUT) -> dict:
    """Waits until ccxt has sent the subscription for `message_hash` and the simulator acked it with success and the
    same req_id (Bybit echoes the client's req_id, as a string). Returns the ack. If the pending `watch` fails first
    (say, on a REST call it makes before subscribing), its error is raised at once."""
    async def wait():
        while True:
            if watch.done() and watch.exception() is not None:
                raise watch.exception()
            for client in list(exchange.clients.values()):
                subscription = client.subscriptions.get(message_hash)
                if isinstance(subscription, dict) and "id" in subscription:
                    for ack in exchange.cascade_acks:
                        if str(ack.get("req_id")) == str(subscription["id"]) and ack.get("success") is True:
                            return ack
            await asyncio.sleep(0.02)
    try:
        return await asyncio.wait_for(wait(), seconds)
    except asyncio.TimeoutError:
        sent = {h: s for c in exchange.clients.values() for h, s in c.subscriptions.items()}
        raise AssertionError(f"no successful subscribe ack echoing the req_id of {message_hash!r}; "
                             f"subscriptions sent: {sent!r}; acks received: {exchange.cascade_acks!r}") from None


async def started(coroutine):
    """Runs a watch as a task and lets it reach its await (so ccxt has sent the request and registered the future)."""
    task = asyncio.ensure_future(coroutine)
    await asyncio.sleep(0.05)
    return task
