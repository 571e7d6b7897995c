import CascadeCore
import Testing

@Suite struct FixedDecimalTests {
    @Test(arguments: [
        ("63943.70", 2, Int64(6_394_370)), ("0", 8, 0), ("0.001", 3, 1), ("-0.005", 10, -50_000_000),
        ("28140.10000000", 2, 2_814_010), ("1.9531", 8, 195_310_000), ("16677", 2, 1_667_700), (".5", 1, 5), ("7.", 0, 7),
    ])
    func parsesExactDecimals(text: String, digits: Int, expected: Int64) throws {
        #expect(try FixedDecimal.parse(text, digits: digits) == expected)
    }

    @Test(arguments: [
        ("", DecimalParseError.empty), ("-", .empty), (".", .empty), ("1e5", .invalidCharacter(UInt8(ascii: "e"))),
        ("1.2.3", .invalidCharacter(UInt8(ascii: "."))), (" 1", .invalidCharacter(UInt8(ascii: " "))),
        ("0.0001", .precisionExceeded(digits: 3)), ("99999999999999999999", .overflow), ("9223372036854775.808", .overflow),
    ])
    func rejectsInexactOrMalformedText(text: String, error: DecimalParseError) {
        #expect(throws: error) { try FixedDecimal.parse(text, digits: 3) }
    }

    @Test func formatsWithMinimumDigitsAndTrimsTheRest() {
        #expect(FixedDecimal.format(2_814_010, digits: 2, minimumFractionDigits: 2) == "28140.10")
        #expect(FixedDecimal.format(2_637_252_750, digits: 8) == "26.3725275")
        #expect(FixedDecimal.format(-5, digits: 3) == "-0.005")
        #expect(FixedDecimal.format(700, digits: 2) == "7")
        // Longer than a small string (15 bytes): the heap case of the stack-written text.
        #expect(FixedDecimal.format(Int64.max, digits: 2) == "92233720368547758.07")
        #expect(FixedDecimal.format(Int64.min, digits: 8) == "-92233720368.54775808")
        #expect(FixedDecimal.format(-1, digits: 18) == "-0.000000000000000001")
    }

    @Test func roundsHalfToEven() {
        #expect(FixedDecimal.divideRoundingHalfEven(25, 10) == 2)
        #expect(FixedDecimal.divideRoundingHalfEven(35, 10) == 4)
        #expect(FixedDecimal.divideRoundingHalfEven(-25, 10) == -2)
        #expect(FixedDecimal.divideRoundingHalfEven(-35, 10) == -4)
        #expect(FixedDecimal.divideRoundingHalfEven(26, 10) == 3)
        #expect(FixedDecimal.divideRoundingHalfEven(24, 10) == 2)
    }

    /// The 64-bit fast path gives the 128-bit result: ties both ways, every sign, operands at and beyond Int64's
    /// limits, and seeded random operands of every width.
    @Test func theSixtyFourBitDivisionEqualsTheWideOne() {
        var operands: [Int128] = [0, 1, -1, 2, -2, 3, 5, -5, 10, -10, 15, -15, 25, -25, 35, -35,
                                  Int128(Int64.max), Int128(Int64.max) - 1, Int128(Int64.min), Int128(Int64.min) + 1,
                                  Int128(Int64.max) + 1, Int128(Int64.min) - 1, Int128(Int64.max) / 2, Int128(Int64.min) / 2]
        var state: UInt64 = 0x5EED_D1F1
        func next() -> UInt64 {   // splitmix64: seeded, no library needed
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        for _ in 0..<400 {
            let bits = Int(next() % 70)
            let magnitude = (Int128(next() >> 1) >> max(0, 63 - bits)) << max(0, bits - 63)
            operands.append(next() & 1 == 0 ? magnitude : -magnitude)
        }
        var compared = 0
        for value in operands {
            for divisor in operands where divisor != 0 {
                #expect(FixedDecimal.divideRoundingHalfEven(value, divisor) == FixedDecimal.divideRoundingHalfEvenWide(value, divisor),
                        "\(value) / \(divisor)")
                compared += 1
            }
        }
        #expect(compared > 100_000)
    }

    /// Rescaling by a table of powers equals rescaling one digit at a time.
    @Test func rescalingEqualsOneDigitAtATime() {
        func reference(_ units: Int128, from: Int, to: Int) -> Int128? {
            if to >= from {
                var value = units
                for _ in 0..<(to - from) {
                    let (m, o) = value.multipliedReportingOverflow(by: 10)
                    if o { return nil }
                    value = m
                }
                return value
            }
            var value = units
            var divisor: Int128 = 1
            for _ in 0..<min(from - to, 38) { divisor *= 10 }
            value = FixedDecimal.divideRoundingHalfEvenWide(value, divisor)
            return from - to > 38 ? 0 : value
        }
        let values: [Int128] = [0, 1, -1, 5, -5, 15, 25, -25, 123_456_789, -987_654_321_987, Int128(Int64.max), Int128(Int64.min),
                                Int128.max, Int128.min + 1, Int128.max / 7, 10_000_000_000_000_000_000_000_000_000_000_000_000]
        for value in values {
            for from in [0, 2, 8, 10, 18, 30] {
                for to in [0, 1, 2, 8, 10, 18, 28, 40, 60] {
                    #expect(FixedDecimal.rescaleWide(value, from: from, to: to) == reference(value, from: from, to: to), "\(value) \(from)→\(to)")
                }
            }
        }
    }
}

@Suite struct MoneyTests {
    let btc = Instrument(id: SymbolID(index: 0), symbol: "BTCUSDT")

    /// Bybit's own arithmetic: execValue = price × qty, execFee = execValue × feeRate, to the digit.
    @Test func execValueAndFeeComeOutToTheDigit() throws {
        let value = try #require(btc.notional(price: try btc.price("95900.1"), qty: try btc.quantity("0.5")))
        #expect(value == (try USDT("47950.05")))
        #expect(value.description == "47950.05")
        let fee = try #require(value.multiplied(by: try Rate("0.00055")))
        #expect(fee == (try USDT("26.3725275")))
        #expect(fee.description == "26.3725275")
    }

    @Test func thePrecisionIsFixedAndIndependentOfTickSize() throws {
        // Off-grid recorded prices stay exact; grid conformity is a separate check.
        let coarse = Instrument(id: SymbolID(index: 1), symbol: "XRPUSDT")
        let p = try coarse.price("1.9531")
        #expect(p.units == 195_310_000 && Price.digits == 8 && Quantity.digits == 6)
        #expect(throws: DecimalParseError.precisionExceeded(digits: 8)) { try coarse.price("1.953100001") }
        let rules = InstrumentRules(tickSize: try coarse.price("0.0010"), qtyStep: try coarse.quantity("1"),
                                    minOrderQty: try coarse.quantity("1"), maxOrderQty: try coarse.quantity("1000000"),
                                    maxMarketOrderQty: try coarse.quantity("100000"), minNotional: try USDT("5"),
                                    priceDecimals: 4, qtyDecimals: 0, status: "Trading", fundingIntervalMinutes: 480,
                                    settleCoin: "USDT")
        #expect(!rules.isOnPriceGrid(p))
        #expect(rules.isOnPriceGrid(try coarse.price("1.953")))
    }

    @Test func feeRoundingFollowsHalfEvenAtTheEighthDecimal() throws {
        // 0.00000001 × 0.5 = 0.000000005 → half → even (0); 0.00000003 × 0.5 = 0.000000015 → 0.00000002.
        #expect(USDT(units: 1).multiplied(by: try Rate("0.5")) == USDT(units: 0))
        #expect(USDT(units: 3).multiplied(by: try Rate("0.5")) == USDT(units: 2))
        #expect(USDT(units: -3).multiplied(by: try Rate("0.5")) == USDT(units: -2))
    }
}

@Suite struct ClockTests {
    @Test func exchangeAndLocalTimesFormatAsUTC() {
        #expect(ExchangeTime(milliseconds: 1_721_347_022_820).description == "2024-07-18 23:57:02.820Z")
        #expect(LocalTime(nanoseconds: 1_721_347_021_346_883_114).description == "2024-07-18 23:57:01.346Z")
        #expect(ExchangeTime(milliseconds: 0).description == "1970-01-01 00:00:00.000Z")
    }

    @Test func instrumentTableAssignsDenseStableIDs() {
        var table = InstrumentTable()
        let a = table.id(for: "BTCUSDT")
        let b = table.id(for: "XRPUSDT")
        #expect(table.id(for: "BTCUSDT") == a)
        #expect(a.index == 0 && b.index == 1)
        #expect(table[b].symbol == "XRPUSDT" && table.lookup("ETHUSDT") == nil)
    }
}
