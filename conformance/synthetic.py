"""Seeded synthetic BTCUSDT frames (frames format v1) for conformance runs: named, reproducible, test-only."""
import gzip
import json
import random


def write_frames(path: str, seed: int = 20261125, frames: int = 3000) -> None:
    """A snapshot of 50 levels a side, then deltas, trades and tickers 20 ms apart (receive time = ts)."""
    rng = random.Random(seed)
    mid = 6_400_000  # cents
    bids = {mid - 5 - 10 * i: rng.randint(1, 5000) for i in range(50)}
    asks = {mid + 5 + 10 * i: rng.randint(1, 5000) for i in range(50)}
    ts = 1_721_347_021_000
    u = 18_000_000
    seq = 4_984_028_000_000

    def px(c: int) -> str:
        return f"{c // 100}.{c % 100:02d}"

    def qty(m: int) -> str:
        return f"{m // 1000}.{m % 1000:03d}"

    lines = []
    for i in range(frames):
        ts += 20
        recv_ns = ts * 1_000_000
        if i == 0 or i % 10 not in (3, 7):
            u += 1
            seq += rng.randint(1, 40)
            if i == 0:
                b = sorted(bids.items(), reverse=True)
                a = sorted(asks.items())
                kind = "snapshot"
            else:
                # Size changes of existing levels only (pybit's own merge mishandles deletes of absent levels).
                bp = rng.choice(sorted(bids)[-10:])
                ap = rng.choice(sorted(asks)[:10])
                bids[bp] = rng.randint(1, 5000)
                asks[ap] = rng.randint(1, 5000)
                b, a, kind = [(bp, bids[bp])], [(ap, asks[ap])], "delta"
            msg = {"topic": "orderbook.50.BTCUSDT", "type": kind, "ts": ts,
                   "data": {"s": "BTCUSDT", "b": [[px(p), qty(q)] for p, q in b],
                            "a": [[px(p), qty(q)] for p, q in a], "u": u, "seq": seq}, "cts": ts - 2}
        elif i % 10 == 3:
            side = rng.choice(["Buy", "Sell"])
            price = min(asks) if side == "Buy" else max(bids)
            msg = {"topic": "publicTrade.BTCUSDT", "type": "snapshot", "ts": ts,
                   "data": [{"T": ts, "s": "BTCUSDT", "S": side, "v": qty(rng.randint(1, 500)), "p": px(price),
                             "L": "PlusTick", "i": f"t-{i}", "BT": False}]}
        else:
            msg = {"topic": "tickers.BTCUSDT", "type": "snapshot" if i == 7 else "delta",
                   "data": {"symbol": "BTCUSDT", "lastPrice": px(max(bids)), "bid1Price": px(max(bids)),
                            "ask1Price": px(min(asks)), "markPrice": px(max(bids)), "fundingRate": "0.0001",
                            "nextFundingTime": "1721361600000"}, "cs": seq, "ts": ts}
        lines.append(f"{recv_ns} {json.dumps(msg, separators=(',', ':'))}\n")
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.writelines(lines)
