"""Independent reference for the cascade detector rule of docs/detector.md (v1), standard library only.

It exists for the golden test (conformance/test_detector_golden.py): it reads a frames-format file, runs the
rule and returns the episodes as the dicts `cascade detect --out` writes, minus the mid-move keys (they need a
book). Money is integer units of 1e-8 USDT throughout; no floats.

    python conformance/detector_reference.py FILE.frames.gz [--out episodes.jsonl]

Readings docs/detector.md now fixes, which this reference had chosen before (each pinned by a synthetic test):
- An `allLiquidation` frame is `throttled` only when *every* event in it has `T` before 2025-02-26 00:00 UTC.
- The data ends at the receive time of the input's last frame of any topic: an episode whose deadline is at or
  before it is closed there, one whose deadline is later stays open (end_ns null).
- In a frame that both extends the open episode and flips it, the extension comes first: the ending episode
  keeps the frame's own-side events (notional, count, last, peak), then ends at t with `sideFlip`.
- m0 is the bin of the detector's first frame with an event; episodes sort by start, ties in the order the
  detectors were created.

Readings still chosen here where the doc leaves room:
- Events are routed by their own symbol; a frame without events starts no detector. A detector's frames are the
  frames holding at least one event of its (symbol, source).
- maxSilence is measured between two consecutive frames of the *same* detector (receive times): lines of other
  topics, symbols or sources do not break a silence. When t_b - t_a > 60 min (strictly), bins a+1 .. b-1 are
  missing; bins a and b themselves hold events and are never missing. The doc's older sentence "a gap in the
  recording counts as quiet minutes" is read as superseded by maxSilence for silences longer than 60 min.
- Recorded session disconnects are not modelled (frames files carry no such marks; the shared series has none).
"""
from __future__ import annotations

import bisect
import gzip
import json
import math
import sys
from collections import deque
from decimal import Decimal
from typing import Iterable, Iterator

NS_PER_S = 1_000_000_000
UNITS = 10 ** 8                                # 1 USDT = 10^8 units (1e-8 USDT)

WINDOW_NS = 60 * NS_PER_S                      # trailing window: events with time in (t - window, t]
BIN_NS = 60 * NS_PER_S                         # baseline bins are receive-time minutes
BASELINE_BINS = 10_080                         # 7 days
MINIMUM_HISTORY = 1_440                        # 24 h
PERCENTILE = 99
DOMINANCE = (3, 5)                             # W(s) >= 3/5 of W(long) + W(short)
QUIET_NS = 30 * NS_PER_S
MAX_DURATION_NS = 300 * NS_PER_S
MAX_SILENCE_NS = 60 * 60 * NS_PER_S            # a longer silence between two frames: its inner minutes are missing

ALL_TOPIC_SINCE_MS = 1_740_528_000_000         # 2025-02-26 00:00:00 UTC
SIDES = ("long", "short")
SIDE_OF = {"Buy": "long", "Sell": "short"}     # Bybit S = side of the liquidated position

OUTPUT_KEYS = ("id", "symbol", "source", "side", "start_ns", "peak_ns", "end_ns", "end_reason", "notional",
               "events", "peak_notional_60s", "threshold")


# ---------------------------------------------------------------------------------------------- money

def to_units(text) -> int:
    """A decimal string (or JSON number) as an exact integer count of 1e-8."""
    scaled = Decimal(str(text)).scaleb(8)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{text!r} is finer than 1e-8")
    return int(scaled)


def notional_units(qty, price) -> int:
    """qty x price in 1e-8 USDT, exact (the doc's notional); raises if it is not a whole number of 1e-8."""
    product = to_units(qty) * to_units(price)          # units of 1e-16
    if product % UNITS:
        raise ValueError(f"notional {qty} x {price} is not exact at 1e-8")
    return product // UNITS


def format_units(units: int) -> str:
    """Integer 1e-8 units as a decimal string with 8 fraction digits."""
    sign = "-" if units < 0 else ""
    whole, frac = divmod(abs(units), UNITS)
    return f"{sign}{whole}.{frac:08d}"


# ---------------------------------------------------------------------------------------------- input

def read_lines(path: str) -> Iterator[str]:
    with gzip.open(path, "rt", encoding="utf-8", newline="\n") as f:
        for line in f:
            line = line.rstrip("\n")
            if line:
                yield line


def parse_line(line: str):
    """`<recv_ns> <json>` -> (t, events); events are (symbol, source, side, notional) for liquidation topics,
    an empty list for every other topic."""
    head, _, body = line.partition(" ")
    t = int(head)
    if not ('"allLiquidation.' in body or '"liquidation.' in body):
        return t, []                                    # cheap skip; the topic check below is the real one
    message = json.loads(body, parse_float=Decimal)
    topic = message.get("topic", "")
    if topic.startswith("allLiquidation."):
        data = message.get("data") or []
        source = "throttled" if data and all(int(e["T"]) < ALL_TOPIC_SINCE_MS for e in data) else "all"
        return t, [(e["s"], source, SIDE_OF[e["S"]], notional_units(e["v"], e["p"])) for e in data]
    if topic.startswith("liquidation."):
        e = message.get("data")
        if not e:
            return t, []
        return t, [(e["symbol"], "throttled", SIDE_OF[e["side"]], notional_units(e["size"], e["price"]))]
    return t, []


# ---------------------------------------------------------------------------------------------- baseline

class Baseline:
    """Minute bins per side from bin m0 on, and the nearest-rank P99 of the non-missing bins
    max(m0, M-10081) .. M-2.

    The bins in the baseline are kept sorted per side and slid as M grows; a bin enters only once it is
    complete (bin M-2 at time t in bin M: frames arrive in non-decreasing receive time). Bins leave by minute
    index (k < M-10081), never by count, so missing bins hold no place. Call `frame(t)` once per frame of the
    detector, before its `add`s: it judges the silence since the previous frame."""

    def __init__(self, m0: int):
        self.m0 = m0
        self.bins: dict[int, dict[str, int]] = {}
        self.sorted = {s: [] for s in SIDES}
        self.lo, self.hi = m0, m0 - 1                   # bins lo..hi are in range (none to start with)
        self.M = m0
        self.last_frame: int | None = None
        self.missing: list[tuple[int, int]] = []        # (first, last) bin ranges, ascending and disjoint

    def frame(self, t: int) -> None:
        """A frame of the detector at t: after a silence of more than maxSilence since the previous frame (bin a),
        the bins strictly between a and t's bin b are missing."""
        if self.last_frame is not None:
            if t < self.last_frame:
                raise ValueError("receive time went backwards")
            if t - self.last_frame > MAX_SILENCE_NS:
                first, last = self.last_frame // BIN_NS + 1, t // BIN_NS - 1
                assert first > self.hi and first <= last   # > 60 min apart: at least 59 bins in between
                self.missing.append((first, last))
        self.last_frame = t

    def is_missing(self, k: int) -> bool:
        i = bisect.bisect_right(self.missing, (k, math.inf)) - 1   # the last range starting at or before k
        return i >= 0 and k <= self.missing[i][1]

    def add(self, t: int, side: str, notional: int) -> None:
        k = t // BIN_NS
        assert k > self.hi, "bins enter the baseline only once they are complete"
        assert not self.is_missing(k), "a bin with a frame is never missing"
        self.bins.setdefault(k, {"long": 0, "short": 0})[side] += notional

    def value(self, k: int, side: str) -> int:
        return self.bins.get(k, {}).get(side, 0)       # a non-missing bin after m0 without events is a zero

    def slide_to(self, M: int) -> None:
        """Makes `sorted` hold the non-missing bins max(m0, M - 10081) .. M - 2."""
        if M < self.M:
            raise ValueError("receive time went backwards")
        self.M = M
        lo = max(self.m0, M - BASELINE_BINS - 1)
        hi = max(M - 2, lo - 1)                         # hi < lo: no bin yet
        for k in range(self.lo, min(self.hi, lo - 1) + 1):             # bins leaving by index at the old end
            if self.is_missing(k):
                continue
            for s in SIDES:
                values = self.sorted[s]
                del values[bisect.bisect_left(values, self.value(k, s))]
        for k in range(max(self.hi + 1, lo), hi + 1):                 # bins entering at the new end
            if self.is_missing(k):
                continue
            for s in SIDES:
                bisect.insort(self.sorted[s], self.value(k, s))
        for k in range(self.lo, lo):                                    # out of the baseline for good
            self.bins.pop(k, None)
        self.lo, self.hi = lo, hi

    def count(self) -> int:
        """Non-missing bins in the baseline (armed at >= 1,440)."""
        return len(self.sorted["long"])

    def threshold(self, side: str) -> int:
        values = self.sorted[side]
        rank = (PERCENTILE * len(values) + 100 - 1) // 100   # nearest rank: ceil(99 n / 100)
        return values[rank - 1]


# ---------------------------------------------------------------------------------------------- detector

class Detector:
    """One (symbol, source): trailing windows, baseline, and the episodes it opened (in start order)."""

    def __init__(self, symbol: str, source: str, first_t: int):
        self.symbol, self.source = symbol, source
        self.baseline = Baseline(first_t // BIN_NS)
        self.window: deque = deque()                   # (t, side, notional), oldest first
        self.w = {s: 0 for s in SIDES}                 # window notional per side
        self.n = {s: 0 for s in SIDES}                 # window event count per side
        self.episodes: list[dict] = []
        self.open: dict | None = None

    # 1. close by time (also the end-of-data clock advance)
    def advance(self, t: int) -> None:
        e = self.open
        if e is None:
            return
        quiet_end, max_end = e["last"] + QUIET_NS, e["start_ns"] + MAX_DURATION_NS
        deadline = min(quiet_end, max_end)
        if t >= deadline:
            self._end(deadline, "quiet" if quiet_end <= max_end else "maxDuration")

    def _end(self, at: int, reason: str) -> None:
        self.open["end_ns"], self.open["end_reason"] = at, reason
        self.open = None

    def _start(self, side: str, t: int, threshold: int) -> None:
        e = {"side": side, "start_ns": t, "last": t, "notional": self.w[side], "events": self.n[side],
             "peak": self.w[side], "peak_ns": t, "threshold": threshold, "end_ns": None, "end_reason": None}
        self.episodes.append(e)
        self.open = e

    def on_frame(self, t: int, events: list[tuple[str, int]]) -> None:
        """One frame of this detector's events, (side, notional) each, received at t."""
        self.advance(t)
        # 2. add to the windows and the bins (after judging the silence since this detector's previous frame)
        self.baseline.frame(t)
        for side, notional in events:
            self.window.append((t, side, notional))
            self.w[side] += notional
            self.n[side] += 1
            self.baseline.add(t, side, notional)
        while self.window and self.window[0][0] <= t - WINDOW_NS:
            _, side, notional = self.window.popleft()
            self.w[side] -= notional
            self.n[side] -= 1
        # 3. triggers, only when armed
        self.baseline.slide_to(t // BIN_NS)
        triggers: dict[str, int] = {}                  # side -> P(side)
        if self.baseline.count() >= MINIMUM_HISTORY:
            total = self.w["long"] + self.w["short"]
            for s in SIDES:
                p = self.baseline.threshold(s)
                has_events = any(side == s for side, _ in events)
                if has_events and self.w[s] > p and DOMINANCE[1] * self.w[s] >= DOMINANCE[0] * total:
                    triggers[s] = p
        # 4. extend / flip / start
        e = self.open
        if e is not None:
            own = [n for side, n in events if side == e["side"]]
            if own:
                e["last"] = t
                e["notional"] += sum(own)
                e["events"] += len(own)
                if self.w[e["side"]] > e["peak"]:
                    e["peak"], e["peak_ns"] = self.w[e["side"]], t
            other = "short" if e["side"] == "long" else "long"
            if other in triggers:
                self._end(t, "sideFlip")
                self._start(other, t, triggers[other])
        else:
            for s in SIDES:                            # at most one side can pass the 3/5 dominance
                if s in triggers:
                    self._start(s, t, triggers[s])

    def output(self) -> list[dict]:
        return [{
            "id": f"{self.symbol}-{self.source}-{e['side']}-{e['start_ns']}",
            "symbol": self.symbol, "source": self.source, "side": e["side"],
            "start_ns": e["start_ns"], "peak_ns": e["peak_ns"], "end_ns": e["end_ns"], "end_reason": e["end_reason"],
            "notional": format_units(e["notional"]), "events": e["events"],
            "peak_notional_60s": format_units(e["peak"]), "threshold": format_units(e["threshold"]),
        } for e in self.episodes]


# ---------------------------------------------------------------------------------------------- driver

def detect_lines(lines: Iterable[str]) -> list[dict]:
    """Runs the rule over frames-format lines (file order); returns every episode, in start order."""
    detectors: dict[tuple[str, str], Detector] = {}
    last_t = None
    for line in lines:
        t, events = parse_line(line)
        last_t = t
        per_detector: dict[tuple[str, str], list] = {}
        for symbol, source, side, notional in events:
            per_detector.setdefault((symbol, source), []).append((side, notional))
        for key, evs in per_detector.items():
            if key not in detectors:
                detectors[key] = Detector(key[0], key[1], t)
            detectors[key].on_frame(t, evs)
    if last_t is not None:
        for d in detectors.values():                   # the data ended at the last frame's receive time
            d.advance(last_t)
    episodes = [e for d in detectors.values() for e in d.output()]
    episodes.sort(key=lambda e: e["start_ns"])         # stable: same start keeps detector creation order
    return episodes


def detect_file(path: str) -> list[dict]:
    return detect_lines(read_lines(path))


def main(argv: list[str]) -> int:
    import argparse
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data")
    parser.add_argument("--out", help="JSON lines file (default: stdout)")
    args = parser.parse_args(argv)
    episodes = detect_file(args.data)
    text = "".join(json.dumps(e, separators=(",", ":")) + "\n" for e in episodes)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
