"""Golden test of the cascade detector (docs/detector.md): `cascade detect` against the independent Python
reference (detector_reference.py) on the shared 2024 liquidation series (whole file, and the 2024-03-05 04:00-07:00
window), plus hand-computed synthetic cases at the rule's edges. Every synthetic case goes through `detect`, which
runs both implementations on the same lines, asserts they agree, and returns the episodes for the hand-computed
assertions: each case pins the reference and the Swift binary alike.

Synthetic conventions: every baseline frame holds one long liquidation of 0.100 BTC at 1000.00 = 100 USDT, one a
minute at T0 + k min (k = 0 .. 1439), so the detector's first bin is m0 = T0 / 60 s and 1,440 bins hold long = 100,
short = 0. From TA = T0 + 1441 min the baseline is bins m0 .. m0 + 1439 (1,440 bins: armed), nearest rank
ceil(99 * 1440 / 100) = 1426 -> index 1425: P(long) = 100, P(short) = 0. The last baseline event (T0 + 1439 min) is
out of every window at or after TA. All notionals below are qty x price in USDT.

Silences: the detector's frames must come at most maxSilence = 60 min apart (receive times) for the minutes
between them to count as zeros; after a longer silence, between the frames' bins a and b, bins a+1 .. b-1 are
missing: they never enter the baseline and never count toward the 1,440 bins that arm it. Cases that need long
runs of zero bins therefore keep the detector alive with "ticks" (a frame at least every 60 min).
"""
import calendar
import functools
import json
import math
import os
import random
import shutil
import subprocess
import tempfile
import time

import pytest

import detector_reference as ref
from detector_reference import Baseline, parse_line

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
S = 1_000_000_000
MIN = 60 * S


def utc_ns(y, mo, d, h=0, mi=0, s=0) -> int:
    return calendar.timegm((y, mo, d, h, mi, s)) * S


T0 = utc_ns(2024, 3, 1)            # a minute boundary
TA = T0 + 1441 * MIN               # first receive time at which the baseline holds 1,440 bins


# ------------------------------------------------------------------------------------------- frame builders

def frame(t, *events, symbol="BTCUSDT", T=None):
    """An allLiquidation line at receive time t; events are (S, v, p); T (ms) defaults to t."""
    ms = t // 1_000_000 if T is None else T
    data = [{"T": ms, "s": symbol, "S": side, "v": v, "p": p} for side, v, p in events]
    return f"{t} " + json.dumps({"topic": f"allLiquidation.{symbol}", "type": "snapshot", "ts": ms, "data": data},
                                separators=(",", ":"))


def legacy(t, event, symbol="BTCUSDT"):
    """A line of the old throttled `liquidation.{symbol}` topic (data is one object); event is (S, v, p)."""
    side, v, p = event
    ms = t // 1_000_000
    return f"{t} " + json.dumps({"topic": f"liquidation.{symbol}", "type": "snapshot", "ts": ms, "data": {
        "updatedTime": ms, "symbol": symbol, "side": side, "size": v, "price": p}}, separators=(",", ":"))


def long_(usdt):
    """A long liquidation of `usdt` USDT at price 1000.00 (usdt given as a string with up to 5 decimals)."""
    return ("Buy", ref.format_units(ref.to_units(usdt) // 1000), "1000.00")


def short_(usdt):
    return ("Sell", ref.format_units(ref.to_units(usdt) // 1000), "1000.00")


def baseline(start=T0, minutes=1440, build=frame):
    """One long of 100 USDT a minute from `start`, as allLiquidation (`frame`) or old-topic (`legacy`) lines."""
    return [build(start + k * MIN, long_("100")) for k in range(minutes)]


# ------------------------------------------------------------------------------------------- both implementations

@functools.lru_cache(maxsize=None)
def binary() -> str:
    from conftest import cascade_binary   # CASCADE_BIN, else the `swift build` product
    return cascade_binary()


def swift_detect(data, out) -> list[dict]:
    """`cascade detect --data DATA --out OUT`: its episodes with the doc's keys only (extra keys, such as the mid
    moves, dropped); fails if the run fails or an episode lacks one of the doc's keys."""
    run = subprocess.run([binary(), "detect", "--data", str(data), "--out", str(out)],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, f"cascade detect --data {data} failed ({run.returncode}):\n{run.stderr}"
    with open(out, encoding="utf-8") as f:
        episodes = [json.loads(line) for line in f if line.strip()]
    for e in episodes:
        missing = [k for k in ref.OUTPUT_KEYS if k not in e]
        assert not missing, f"{e.get('id')}: keys missing from cascade detect's output: {missing}"
    return [{k: e[k] for k in ref.OUTPUT_KEYS} for e in episodes]


def assert_same(swift, reference, what=""):
    """Swift's episodes equal the reference's, in order; on a difference, names the first one."""
    if swift == reference:
        return
    i = next((i for i, (a, b) in enumerate(zip(swift, reference)) if a != b), min(len(swift), len(reference)))
    got = swift[i] if i < len(swift) else "(none)"
    want = reference[i] if i < len(reference) else "(none)"
    pytest.fail(f"{what}cascade detect: {len(swift)} episodes, reference: {len(reference)}; first difference at "
                f"episode {i}:\n  swift:     {got}\n  reference: {want}")


def detect(lines) -> list[dict]:
    """Runs a synthetic case through both implementations: the reference on `lines`, and `cascade detect` on the
    lines written to a plain-text frames file. Asserts they agree and returns the episodes (so the hand-computed
    assertions of the caller hold for both). On a failure the case's files are kept, and named."""
    lines = list(lines)
    expected = ref.detect_lines(lines)
    directory = tempfile.mkdtemp(prefix="cascade-detect-case-")
    data, out = os.path.join(directory, "case.frames"), os.path.join(directory, "episodes.jsonl")
    with open(data, "w", encoding="utf-8", newline="\n") as f:
        f.write("".join(line + "\n" for line in lines))
    assert_same(swift_detect(data, out), expected, what=f"{data}: ")
    shutil.rmtree(directory)
    return expected


def brief(episodes):
    """The fields the hand computations fix, as tuples (times relative to TA in seconds)."""
    rel = lambda ns: None if ns is None else (ns - TA) / S   # noqa: E731
    return [(e["side"], rel(e["start_ns"]), rel(e["end_ns"]), e["end_reason"], e["notional"], e["events"],
             e["peak_notional_60s"], rel(e["peak_ns"]), e["threshold"]) for e in episodes]


# ------------------------------------------------------------------------------------------- money and parsing

def test_notional_is_exact_in_1e8_units():
    assert ref.notional_units("0.001", "49306.30") == 4_930_630_000  # 49.3063 USDT in 1e-8
    assert ref.format_units(ref.notional_units("1.496", "49306.30")) == "73762.22480000"
    assert ref.format_units(0) == "0.00000000"
    with pytest.raises(ValueError):
        ref.notional_units("0.0001", "0.00001")                       # 1e-9: not representable at 1e-8


def test_source_classification_and_sides():
    cutoff_ms = calendar.timegm((2025, 2, 26, 0, 0, 0)) * 1000
    t = utc_ns(2025, 3, 1)
    # allLiquidation dated before 2025-02-26 00:00 UTC: re-wrapped throttled data; at or after: `all`.
    assert parse_line(frame(t, ("Buy", "1.000", "2.00"), T=cutoff_ms - 1)) == (t, [("BTCUSDT", "throttled", "long", 2 * 10**8)])
    assert parse_line(frame(t, ("Sell", "1.000", "2.00"), T=cutoff_ms)) == (t, [("BTCUSDT", "all", "short", 2 * 10**8)])
    # The old topic is always throttled; its data is one object.
    assert parse_line(legacy(t, ("Sell", "0.500", "3.00"))) == (t, [("BTCUSDT", "throttled", "short", 150_000_000)])
    # Other topics carry no liquidations.
    assert parse_line(f'{t} {{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1,"data":[]}}') == (t, [])


# ------------------------------------------------------------------------------------------- arming and threshold

def test_not_armed_before_1440_baseline_bins():
    # At TA - 1 s (bin m0 + 1440) the baseline is bins m0 .. m0 + 1438: 1,439 bins, not armed, so even
    # 1,000,000 USDT of longs opens nothing. The same frame at TA (1,440 bins) opens an episode.
    huge = long_("1000000")
    assert detect(baseline() + [frame(TA - S, huge)]) == []
    episodes = detect(baseline() + [frame(TA, huge)])
    assert brief(episodes) == [("long", 0, None, None, "1000000.00000000", 1, "1000000.00000000", 0, "100.00000000")]


def test_threshold_is_strictly_greater():
    # W(long) = 100 = P(long): no trigger.
    assert detect(baseline() + [frame(TA, long_("100"))]) == []
    # 10 s later 1 more USDT: W = 101 > 100 triggers at TA + 10 s; notional = W = 101 from 2 events in the window.
    episodes = detect(baseline() + [frame(TA, long_("100")), frame(TA + 10 * S, long_("1"))])
    assert brief(episodes) == [("long", 10, None, None, "101.00000000", 2, "101.00000000", 10, "100.00000000")]


def test_nearest_rank_counts_empty_minutes_as_zeros():
    # Longs of 100 at minutes 0..13 (14 bins), then short ticks of 1 USDT at minutes 73, 133, .., 1393 (73 + 60 j,
    # j = 0..22): every silence is <= 60 min (13 -> 73 is exactly 60 min; 1393 -> TA = 1441 is 48 min), so all
    # 1,440 bins m0 .. m0 + 1439 are in the baseline at TA, the bins without events as zeros.
    # P(long): 1426 zeros take indices 0..1425 -> index 1425 is a zero: P = 0, so 1 USDT of longs at TA triggers
    # (W(short) = 0 at TA: 5 * 1 >= 3 * 1). With longs at minutes 0..14 (15 bins; 14 -> 73 is 59 min) index 1425
    # holds 100 -> 1 USDT does not trigger.
    ticks = [frame(T0 + (73 + 60 * j) * MIN, short_("1")) for j in range(23)]
    fourteen = [frame(T0 + k * MIN, long_("100")) for k in range(14)]
    fifteen = [frame(T0 + k * MIN, long_("100")) for k in range(15)]
    episodes = detect(fourteen + ticks + [frame(TA, long_("1"))])
    assert brief(episodes) == [("long", 0, None, None, "1.00000000", 1, "1.00000000", 0, "0.00000000")]
    assert detect(fifteen + ticks + [frame(TA, long_("1"))]) == []


def test_baseline_is_capped_at_10080_bins_and_window_excludes_t_minus_60s():
    # 101 bins of 1,000,000 longs (minutes 0..100), then short ticks of 1 USDT at minutes 160, 220, .., 10060
    # (160 + 60 j, j = 0..165): every silence is <= 60 min, so no bin is missing. With n = 10,080: rank
    # ceil(9979.2) = 9980, index 9979, so P(long) is 1,000,000 while >= 101 big bins are in the baseline and 0 with
    # 100 (the ticks are shorts: long bins without big longs are zeros).
    # At t1 = T0 + 10081 min: bins m0 .. m0 + 10079 (all 101 big) -> P = 1e6, 1 USDT does not trigger.
    # At t2 = t1 + 60 s: bins m0 + 1 .. m0 + 10080 (100 big) -> P = 0; the window (t2 - 60 s, t2] excludes the
    # event at t1, so W = 1 (1 event) and it triggers with threshold 0.
    # The ticks open nothing: W(short) = 1 at a tick, and P(short) = 1 whenever armed (1 bin in 60 holds a tick,
    # more than the top 1 % of at most 10,080 bins after the first 1,440, e.g. 22 of 1,440 at the first armed tick).
    big = [frame(T0 + k * MIN, long_("1000000")) for k in range(101)]
    ticks = [frame(T0 + (160 + 60 * j) * MIN, short_("1")) for j in range(166)]
    t1 = T0 + 10081 * MIN
    episodes = detect(big + ticks + [frame(t1, long_("1")), frame(t1 + MIN, long_("1"))])
    assert [(e["start_ns"], e["notional"], e["events"], e["threshold"]) for e in episodes] == [
        (t1 + MIN, "1.00000000", 1, "0.00000000")]


# ------------------------------------------------------------------------------------------- silences (maxSilence)

def test_silence_of_exactly_60_min_is_not_a_gap():
    # Longs of 100 at minutes 0..1379, then the next frame exactly 60 min later at T0 + 1439 min (long 100).
    # t_b - t_a = 60 min is not *more than* maxSilence: bins m0 + 1380 .. m0 + 1438 are zeros, not missing.
    # At TA the baseline is bins m0 .. m0 + 1439: 1,440 bins, armed; long values 59 zeros and 1381 x 100 -> index
    # 1425 holds 100: P(long) = 100. Long 1000 at TA (the T0 + 1439 min event is out of the window) opens an
    # episode: notional 1000, 1 event, threshold 100.
    lines = [frame(T0 + k * MIN, long_("100")) for k in range(1380)] + [frame(T0 + 1439 * MIN, long_("100"))]
    episodes = detect(lines + [frame(TA, long_("1000"))])
    assert brief(episodes) == [("long", 0, None, None, "1000.00000000", 1, "1000.00000000", 0, "100.00000000")]
    b = ref.Baseline(T0 // MIN)
    b.frame(T0 + 1379 * MIN)
    b.frame(T0 + 1439 * MIN)
    assert b.missing == []


def test_silence_of_60_min_and_1_ns_is_a_gap():
    # The same, but the frame after minute 1379 comes at T0 + 1439 min + 1 ns: 60 min + 1 ns > maxSilence, so the
    # bins strictly between a = m0 + 1379 and b = m0 + 1439 (m0 + 1380 .. m0 + 1438, 59 bins) are missing.
    # At TA the baseline holds bins m0 .. m0 + 1379 and m0 + 1439: 1,381 < 1,440 -> not armed, no episode.
    head = [frame(T0 + k * MIN, long_("100")) for k in range(1380)] + [frame(T0 + 1439 * MIN + 1, long_("100"))]
    assert detect(head + [frame(TA, long_("1000"))]) == []
    b = ref.Baseline(T0 // MIN)
    b.frame(T0 + 1379 * MIN)
    b.frame(T0 + 1439 * MIN + 1)
    assert b.missing == [(T0 // MIN + 1380, T0 // MIN + 1438)]
    # Missing bins never count toward minimumHistory: with longs of 100 going on every minute from minute 1440,
    # at M = m0 + x (x >= 1441) the baseline holds 1380 + (x - 2 - 1439 + 1) = x - 60 bins: 1,439 at
    # T0 + 1500 min - 1 s (x = 1499), 1,440 at T0 + 1500 min (x = 1500). Zeros would have armed it at TA.
    # At T0 + 1500 min all 1,440 bins are 100 -> P = 100; the window (T0 + 1499 min, T0 + 1500 min] holds only the
    # 1,000,000: notional 1e6, 1 event.
    head += [frame(T0 + k * MIN, long_("100")) for k in range(1440, 1500)]
    huge = long_("1000000")
    assert detect(head + [frame(T0 + 1500 * MIN - S, huge)]) == []
    [e] = detect(head + [frame(T0 + 1500 * MIN, huge)])
    assert (e["start_ns"], e["notional"], e["events"], e["threshold"]) == (
        T0 + 1500 * MIN, "1000000.00000000", 1, "100.00000000")


def test_only_the_detectors_own_frames_break_a_silence():
    # Reading chosen by the reference ("two of the detector's frames"): the 60 min + 1 ns silence of the test above
    # stays a gap when, inside it, the input holds a ticker line, an ETHUSDT liquidation and a BTCUSDT `all`
    # frame (T after 2025-02-26) at T0 + 1409 min: none is a frame of (BTCUSDT, throttled). Still 1,381 bins at
    # TA: not armed, no episode.
    t = T0 + 1409 * MIN
    others = [f'{t} {{"topic":"tickers.BTCUSDT","type":"delta","data":{{"symbol":"BTCUSDT"}},"cs":1,"ts":1}}',
              frame(t, long_("100"), symbol="ETHUSDT"),
              frame(t, long_("100"), T=calendar.timegm((2025, 3, 1, 0, 0, 0)) * 1000)]
    head = ([frame(T0 + k * MIN, long_("100")) for k in range(1380)] + others
            + [frame(T0 + 1439 * MIN + 1, long_("100"))])
    assert detect(head + [frame(TA, long_("1000"))]) == []


def test_armed_detector_needs_1440_non_missing_bins_again_after_a_long_gap():
    # Armed on bins m0 .. m0 + 1439 (longs of 100 a minute; an episode would open at TA), then a silence of
    # 8 days: the next frame is at TR = T0 + 12959 min (minute 1439 + 11520). Bins m0 + 1440 .. m0 + 12958 are
    # missing, and the old bins left by index: at M >= m0 + 12959, M - 10081 >= m0 + 2878 > m0 + 1439.
    # So from TR it is a fresh start: at M = m0 + 12959 + x the baseline holds bins m0 + 12959 .. M - 2, i.e. x - 1
    # bins: not armed until TR + 1441 min (x = 1441: 1,440 bins), just like the first day.
    # - TR + 30 s, long 1,000,000 (window: 100 at TR + 1e6): 0 bins, not armed. With the gap read as zeros it
    #   would have held 10,080 bins and P = 0, and opened an episode here.
    # - TR + 1441 min - 1 s: 1,439 bins, not armed.
    # - TR + 1441 min: 1,440 bins (bin TR holds 100 + 1e6, the others 100: index 1425 -> 100), window holds only the
    #   new 1e6 -> episode with notional 1e6, 1 event, threshold 100.
    TR = T0 + 12959 * MIN
    huge = long_("1000000")
    head = baseline() + [frame(TR, long_("100")), frame(TR + 30 * S, huge)]
    head += [frame(TR + k * MIN, long_("100")) for k in range(1, 1440)]
    assert detect(head + [frame(TR + 1441 * MIN - S, huge)]) == []
    [e] = detect(head + [frame(TR + 1441 * MIN, huge)])
    assert (e["start_ns"], e["notional"], e["events"], e["threshold"]) == (
        TR + 1441 * MIN, "1000000.00000000", 1, "100.00000000")


def test_bins_older_than_M_minus_10081_leave_by_index_not_by_count():
    # Longs at minutes 0..1439: 1,000,000 at 0..25 (26 big bins), 100 at 26..1439. Silence until minute 9000
    # (7,561 min): bins 1440..8999 missing. Longs of 100 every minute 9000..10080.
    # t1 = T0 + 10081 min (M = m0 + 10081): bins m0 .. m0 + 10079, non-missing 0..1439 and 9000..10079 = 1440 + 1080
    #   = 2,520 bins (far fewer than 10,080). Rank ceil(99 * 2520 / 100) = ceil(2494.8) = 2495 -> index 2494: the
    #   26 big bins take indices 2494..2519 -> P(long) = 1e6. Long 1000 at t1 (W = 1000): no trigger.
    # t2 = T0 + 10082 min (M = m0 + 10082): the lower bound M - 10081 = m0 + 1 drops bin m0 although only 2,520
    #   bins are held: bins 1..1439 and 9000..10080 = 1439 + 1081 = 2,520, 25 big -> index 2494 holds 100 ->
    #   P = 100. Long 1000 at t2 (t1's event is out of the window: W = 1000) opens an episode, threshold 100.
    #   Keeping the last 10,080 bins by count would keep all 26 big bins (P = 1e6) and open nothing.
    # No frame before t2 triggers: n <= 2,520 keeps all 26 big bins in the top ceil-rank, so P(long) = 1e6.
    lines = ([frame(T0 + k * MIN, long_("1000000" if k < 26 else "100")) for k in range(1440)]
             + [frame(T0 + k * MIN, long_("100")) for k in range(9000, 10081)])
    t1, t2 = T0 + 10081 * MIN, T0 + 10082 * MIN
    episodes = detect(lines + [frame(t1, long_("1000")), frame(t2, long_("1000"))])
    assert [(e["start_ns"], e["notional"], e["events"], e["threshold"]) for e in episodes] == [
        (t2, "1000.00000000", 1, "100.00000000")]
    assert detect(lines + [frame(t1, long_("1000"))]) == []


# ------------------------------------------------------------------------------------------- dominance

def test_dominance_three_fifths_boundary():
    # long 300, short 200: 5 * 300 = 1500 >= 3 * 500 = 1500 -> long triggers (short: 1000 < 1500).
    episodes = detect(baseline() + [frame(TA, long_("300"), short_("200"))])
    assert brief(episodes) == [("long", 0, None, None, "300.00000000", 1, "300.00000000", 0, "100.00000000")]
    # long 300, short 200.01: 1500 < 3 * 500.01 = 1500.03 -> no trigger; short: 1000.05 < 1500.03 -> none.
    assert detect(baseline() + [frame(TA, long_("300"), short_("200.01"))]) == []
    # short 300, long 200: short triggers against P(short) = 0.
    episodes = detect(baseline() + [frame(TA, short_("300"), long_("200"))])
    assert brief(episodes) == [("short", 0, None, None, "300.00000000", 1, "300.00000000", 0, "0.00000000")]


def test_side_needs_events_in_the_frame():
    # TA: short 300 alone triggers a short episode (P(short) = 0) that ends quiet at TA + 30 s.
    # TA + 40 s: a long-only frame of 1 USDT: W(short) = 300 still dominates, but short has no event in this
    # frame, and W(long) = 1 < 100: nothing new.
    episodes = detect(baseline() + [frame(TA, short_("300")), frame(TA + 40 * S, long_("1"))])
    assert brief(episodes) == [("short", 0, 30, "quiet", "300.00000000", 1, "300.00000000", 0, "0.00000000")]


# ------------------------------------------------------------------------------------------- ends

def test_quiet_end_is_last_plus_30s_whenever_the_next_frame_comes():
    # TA long 200 starts (W 200 > 100); TA + 10 s long 50 extends (last = TA + 10 s, W = 250: peak).
    # deadline = min(TA + 40 s, TA + 300 s) = TA + 40 s -> quiet, the same whether the next frame comes at
    # TA + 41 s or an hour later. That later frame, short 1000 against P(short) = 0, opens a short episode
    # (at TA + 41 s W(long) is still 250: 5 * 1000 >= 3 * 1250) that is still open when the data ends
    # (its deadline, start + 30 s, is after the last frame).
    head = baseline() + [frame(TA, long_("200")), frame(TA + 10 * S, long_("50"))]
    first = ("long", 0, 40, "quiet", "250.00000000", 2, "250.00000000", 10, "100.00000000")
    for later in (41, 3600):
        episodes = detect(head + [frame(TA + later * S, short_("1000"))])
        assert brief(episodes) == [first, ("short", later, None, None, "1000.00000000", 1, "1000.00000000", later,
                                           "0.00000000")]
    # Data ending at TA + 10 s: the episode is still open.
    assert brief(detect(head))[0][2:4] == (None, None)


def test_quiet_end_at_exactly_the_next_frame_then_a_new_episode():
    # A long frame at exactly TA + 40 s = deadline: t >= deadline closes first (end TA + 40 s, quiet), then the
    # frame's long 1 makes W(long) = 200 + 50 + 1 = 251 > 100 (window (TA - 20 s, TA + 40 s]), which starts a new
    # episode at TA + 40 s with notional W = 251 from the 3 events in the window.
    lines = baseline() + [frame(TA, long_("200")), frame(TA + 10 * S, long_("50")), frame(TA + 40 * S, long_("1"))]
    assert brief(detect(lines)) == [
        ("long", 0, 40, "quiet", "250.00000000", 2, "250.00000000", 10, "100.00000000"),
        ("long", 40, None, None, "251.00000000", 3, "251.00000000", 40, "100.00000000")]


def test_data_end_is_the_last_line_of_any_topic():
    # Reading chosen by the reference: TA long 200 opens an episode with deadline TA + 30 s; a non-liquidation
    # line at exactly TA + 30 s is the end of the data, so the episode is closed (quiet at TA + 30 s), not open.
    ticker = f'{TA + 30 * S} {{"topic":"tickers.BTCUSDT","type":"delta","data":{{"symbol":"BTCUSDT"}},"cs":1,"ts":1}}'
    episodes = detect(baseline() + [frame(TA, long_("200")), ticker])
    assert brief(episodes)[0][2:4] == (30, "quiet")


def maxduration_run():
    # TA long 200 starts; long 30 every 20 s at TA + 20 .. TA + 280 s (14 frames) extend it:
    # notional 200 + 14 * 30 = 620, 15 events, last = TA + 280 s. W(long): TA 200, TA+20 230, TA+40 260 (peak),
    # TA+60 (window (TA, TA+60]) 90, later 90.
    return baseline() + [frame(TA, long_("200"))] + [frame(TA + k * 20 * S, long_("30")) for k in range(1, 15)]


def test_maxduration_end_and_the_next_triggering_frame():
    # TA + 300 s long 30: deadline = min(TA + 310, TA + 300) = TA + 300 -> ends at TA + 300 (maxDuration,
    # since last + 30 > start + 300); then W(long) = (TA+240, TA+300] = 260, 280, 300 = 90 <= 100: no new episode.
    # TA + 310 s long 30: W = 260, 280, 300, 310 = 120 > 100 -> a new episode at TA + 310, notional 120, 4 events.
    lines = maxduration_run() + [frame(TA + 300 * S, long_("30")), frame(TA + 310 * S, long_("30"))]
    assert brief(detect(lines)) == [
        ("long", 0, 300, "maxDuration", "620.00000000", 15, "260.00000000", 40, "100.00000000"),
        ("long", 310, None, None, "120.00000000", 4, "120.00000000", 310, "100.00000000")]
    # Without the TA + 300 s frame, a frame 700 s later still ends it at TA + 300 s.
    lines = maxduration_run() + [frame(TA + 1000 * S, long_("1"))]
    assert brief(detect(lines))[0][2:4] == (300, "maxDuration")


def test_quiet_wins_the_tie_with_maxduration():
    # Long 30 every 20 s up to TA + 260 s, then TA + 270 s: last + 30 = TA + 300 = start + 300 -> reason quiet.
    lines = (baseline() + [frame(TA, long_("200"))] + [frame(TA + k * 20 * S, long_("30")) for k in range(1, 14)]
             + [frame(TA + 270 * S, long_("30")), frame(TA + 1000 * S, long_("1"))])
    assert brief(detect(lines))[0][2:4] == (300, "quiet")


# ------------------------------------------------------------------------------------------- extension, peak, flip

def test_peak_keeps_the_first_time_it_was_reached():
    # Longs at TA 200 (W 200), TA + 20 s 50 (W 250), TA + 45 s 10 (W 260: peak), TA + 70 s 200: window
    # (TA + 10 s, TA + 70 s] = 50 + 10 + 200 = 260, equal to the peak, so peak_ns stays TA + 45 s. Gaps < 30 s keep
    # it open: notional 460, 4 events, last TA + 70 s -> quiet at TA + 100 s (closed by the frame at TA + 500 s).
    lines = baseline() + [frame(TA, long_("200")), frame(TA + 20 * S, long_("50")), frame(TA + 45 * S, long_("10")),
                          frame(TA + 70 * S, long_("200")), frame(TA + 500 * S, long_("1"))]
    assert brief(detect(lines)) == [("long", 0, 100, "quiet", "460.00000000", 4, "260.00000000", 45,
                                           "100.00000000")]


def test_side_flip():
    # TA long 200; TA + 5 s short 300: 5 * 300 = 1500 >= 3 * 500 and 300 > P(short) = 0 -> the long episode ends
    # at TA + 5 s (sideFlip) and a short one starts there (notional 300, 1 event, threshold 0).
    episodes = detect(baseline() + [frame(TA, long_("200")), frame(TA + 5 * S, short_("300"))])
    assert brief(episodes) == [
        ("long", 0, 5, "sideFlip", "200.00000000", 1, "200.00000000", 0, "100.00000000"),
        ("short", 5, None, None, "300.00000000", 1, "300.00000000", 5, "0.00000000")]
    # Short 299.988 (0.300 at 999.96): 1499.94 < 3 * 499.988 = 1499.964 -> no flip; a short event does not
    # extend the long episode, which ends quiet at TA + 30 s (closed by the long 1 at TA + 500 s, which is no
    # trigger: W(long) = 1).
    episodes = detect(baseline() + [frame(TA, long_("200")), frame(TA + 5 * S, ("Sell", "0.300", "999.96")),
                                          frame(TA + 500 * S, long_("1"))])
    assert brief(episodes) == [("long", 0, 30, "quiet", "200.00000000", 1, "200.00000000", 0, "100.00000000")]


def test_side_flip_in_a_mixed_frame_extends_first():
    # Reading chosen by the reference: TA + 5 s carries long 10 and short 400. The long episode takes its long
    # event first (notional 210, 2 events, W(long) 210 = new peak at TA + 5 s), then short flips it:
    # 5 * 400 = 2000 >= 3 * 610 = 1830.
    episodes = detect(baseline() + [frame(TA, long_("200")), frame(TA + 5 * S, long_("10"), short_("400"))])
    assert brief(episodes) == [
        ("long", 0, 5, "sideFlip", "210.00000000", 2, "210.00000000", 5, "100.00000000"),
        ("short", 5, None, None, "400.00000000", 1, "400.00000000", 5, "0.00000000")]


# ------------------------------------------------------------------------------------------- ids and sources

def test_ids_and_sources():
    # 2024 allLiquidation frames are throttled data.
    [e] = detect(baseline() + [frame(TA, long_("1000"))])
    assert e["id"] == f"BTCUSDT-throttled-long-{TA}" and e["source"] == "throttled" and e["symbol"] == "BTCUSDT"
    assert list(e) == list(ref.OUTPUT_KEYS)
    # The same timeline in March 2025: source `all`.
    t0, ta = utc_ns(2025, 3, 3), utc_ns(2025, 3, 3) + 1441 * MIN
    [e] = detect(baseline(start=t0) + [frame(ta, short_("1000"))])
    assert e["id"] == f"BTCUSDT-all-short-{ta}" and e["source"] == "all"
    # Other symbols get their own detector and id.
    [e] = detect(baseline(start=t0) + [frame(ta, short_("1000"))] + [frame(ta, short_("5"), symbol="ETHUSDT")])
    assert e["id"] == f"BTCUSDT-all-short-{ta}"


def test_sources_never_share_thresholds():
    # March 2025: a throttled baseline from the old topic. An allLiquidation frame (source `all`) at the armed
    # time is the first frame of the `all` detector: not armed, no episode. The same event on the old topic
    # goes to the armed throttled detector and opens one.
    t0, ta = utc_ns(2025, 3, 3), utc_ns(2025, 3, 3) + 1441 * MIN
    assert detect(baseline(start=t0, build=legacy) + [frame(ta, long_("1000"))]) == []
    [e] = detect(baseline(start=t0, build=legacy) + [legacy(ta, long_("1000"))])
    assert e["id"] == f"BTCUSDT-throttled-long-{ta}"


def test_old_topic_and_2024_all_liquidation_are_one_throttled_detector():
    # Both classify as (BTCUSDT, throttled): a baseline from the old topic arms the detector that a 2024
    # allLiquidation frame then triggers.
    [e] = detect(baseline(build=legacy) + [frame(TA, long_("1000"))])
    assert e["id"] == f"BTCUSDT-throttled-long-{TA}" and e["threshold"] == "100.00000000"


def test_episodes_come_in_start_order_across_detectors():
    # ETH long 1000 at TA, BTC long 1000 at TA + 1 s, ETH short 2000 at TA + 2 s flips ETH (5 * 2000 >= 3 * 3000).
    t0, ta = utc_ns(2025, 3, 3), utc_ns(2025, 3, 3) + 1441 * MIN
    eth = [frame(t0 + k * MIN, long_("100"), symbol="ETHUSDT") for k in range(1440)]
    btc = baseline(start=t0)
    lines = sorted(eth + btc, key=lambda l: int(l.split()[0])) + [
        frame(ta, long_("1000"), symbol="ETHUSDT"), frame(ta + S, long_("1000")), frame(ta + 2 * S, short_("2000"),
                                                                                          symbol="ETHUSDT")]
    assert [e["id"] for e in detect(lines)] == [
        f"ETHUSDT-all-long-{ta}", f"BTCUSDT-all-long-{ta + S}", f"ETHUSDT-all-short-{ta + 2 * S}"]


# ------------------------------------------------------------------------------------------- baseline vs the formula

def test_sliding_baseline_matches_the_formula():
    """Baseline.threshold against the doc's definition computed from scratch, over zero runs, silences just under
    and over 60 min, gaps longer than the baseline, and past 10,080 bins."""
    rng = random.Random(7)
    m0 = T0 // MIN
    minutes = sorted({0} | {rng.randrange(0, 14_000) for _ in range(3000)} | set(range(12_000, 16_000, 3))
                     | {rng.randrange(16_000, 40_000) for _ in range(400)}      # silences of ~60 min on average
                     | set(range(52_000, 60_000, 2)))                            # after a 12,000-min gap
    bins, missing = {}, set()
    b = Baseline(m0)
    checked = prev = 0
    for i, k in enumerate(minutes):
        t = (m0 + k) * MIN + rng.randrange(MIN)
        b.frame(t)
        if i and t - prev > ref.MAX_SILENCE_NS:
            missing.update(range(prev // MIN + 1, t // MIN))
        prev = t
        for _ in range(rng.randint(1, 3)):
            side, value = rng.choice(ref.SIDES), rng.choice([0, 1, 5, rng.randrange(10**12)])
            b.add(t, side, value)
            bins.setdefault(m0 + k, {"long": 0, "short": 0})[side] += value
        b.slide_to(t // MIN)
        if i % 25 == 0:
            M = t // MIN
            ks = [k for k in range(max(m0, M - 10081), M - 1) if k not in missing]
            assert b.count() == len(ks)
            for side in ref.SIDES:
                values = sorted(bins.get(k, {}).get(side, 0) for k in ks)
                if values:
                    assert b.threshold(side) == values[math.ceil(99 * len(values) / 100) - 1]
                    checked += 1
    assert checked > 200 and len(missing) > 12_000


# ------------------------------------------------------------------------------------------- the golden test

SHARED = os.environ.get("CASCADE_SHARED_DIR") or os.path.join(os.path.dirname(ROOT), "shared")
SERIES = os.path.join(SHARED, "data", "bybit-v5-frames", "liquidations", "btcusdt_2024-02-12_2024-05-13.frames.gz")
WINDOW = (utc_ns(2024, 3, 5, 4), utc_ns(2024, 3, 5, 7))    # start_ns in [04:00, 07:00) UTC
EPISODES_IN_WINDOW = 12                                    # the reference's count (pins it against drift)


@pytest.fixture(scope="module")
def shared_series(tmp_path_factory):
    """(reference episodes, cascade detect episodes with the doc's keys) over the whole shared series, each
    implementation run once for the tests below."""
    if not os.path.exists(SERIES):
        pytest.skip(f"shared liquidation series absent: {SERIES} (set CASCADE_SHARED_DIR)")
    began = time.monotonic()
    every = ref.detect_file(SERIES)
    reference_seconds = time.monotonic() - began
    began = time.monotonic()
    swift = swift_detect(SERIES, tmp_path_factory.mktemp("shared-series") / "episodes.jsonl")
    swift_seconds = time.monotonic() - began
    zero = sum(e["threshold"] == "0.00000000" for e in every)
    print(f"\nreference: {len(every)} episodes in the file, {zero} with threshold 0 ({reference_seconds:.1f} s); "
          f"cascade detect: {len(swift)} episodes ({swift_seconds:.1f} s)")
    return every, swift


def test_shared_series_swift_matches_reference(shared_series):
    every, swift = shared_series
    expected = [e for e in every if WINDOW[0] <= e["start_ns"] < WINDOW[1]]
    print(f"reference: {len(expected)} episodes start in 2024-03-05 04:00-07:00 UTC")
    assert len(expected) == EPISODES_IN_WINDOW
    got = [e for e in swift if WINDOW[0] <= e["start_ns"] < WINDOW[1]]
    print(f"cascade detect: {len(got)} in the window")
    assert got == expected


def test_shared_series_whole_file_swift_matches_reference(shared_series):
    """Every episode of the shared series, all of the doc's keys, in order (Swift's extra keys ignored)."""
    every, swift = shared_series
    print(f"whole file: cascade detect {len(swift)} episodes, reference {len(every)}")
    assert every, "the reference finds no episode in the shared series"
    assert_same(swift, every, what="whole shared series: ")
