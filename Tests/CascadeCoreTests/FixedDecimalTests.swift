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
    }

    @Test func roundsHalfToEven() {
        #expect(FixedDecimal.divideRoundingHalfEven(25, 10) == 2)
        #expect(FixedDecimal.divideRoundingHalfEven(35, 10) == 4)
        #expect(FixedDecimal.divideRoundingHalfEven(-25, 10) == -2)
        #expect(FixedDecimal.divideRoundingHalfEven(-35, 10) == -4)
        #expect(FixedDecimal.divideRoundingHalfEven(26, 10) == 3)
        #expect(FixedDecimal.divideRoundingHalfEven(24, 10) == 2)
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
