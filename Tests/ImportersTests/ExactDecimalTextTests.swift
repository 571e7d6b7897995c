import CascadeCore
import Importers
import Testing

/// Vendor numbers are parsed digit for digit, scientific notation included, and never rounded.
@Suite struct ExactDecimalTextTests {
    @Test func plainDecimalsParseExactly() throws {
        #expect(try ExactDecimalText.units("63950.5", digits: 8) == 6_395_050_000_000)
        #expect(try ExactDecimalText.units("0.001", digits: 6) == 1_000)
        #expect(try ExactDecimalText.units("64000", digits: 2) == 6_400_000)
        #expect(try ExactDecimalText.units("-0.005", digits: 10) == -50_000_000)
    }

    @Test func scientificNotationOnlyMovesTheDecimalPoint() throws {
        #expect(try ExactDecimalText.units("1e-05", digits: 8) == 1_000)
        #expect(try ExactDecimalText.units("1e-3", digits: 6) == 1_000)
        #expect(try ExactDecimalText.units("1.5e-7", digits: 8) == 15)
        #expect(try ExactDecimalText.units("1.5E-05", digits: 10) == 150_000)
        #expect(try ExactDecimalText.units("6.39505e4", digits: 2) == 6_395_050)
        #expect(try ExactDecimalText.units("6.39505e+4", digits: 2) == 6_395_050)
        #expect(try ExactDecimalText.units("-2.5e-4", digits: 10) == -2_500_000)
        #expect(try ExactDecimalText.units("12e2", digits: 0) == 1_200)
    }

    @Test func digitsFinerThanTheScaleAreRefusedNotRounded() throws {
        #expect(throws: ExactDecimalText.Failure.tooPrecise(digits: 8)) { try ExactDecimalText.units("1e-9", digits: 8) }
        #expect(throws: ExactDecimalText.Failure.tooPrecise(digits: 6)) { try ExactDecimalText.units("0.0000001", digits: 6) }
        #expect(throws: ExactDecimalText.Failure.tooPrecise(digits: 8)) { try ExactDecimalText.units("1.23456789e-1", digits: 8) }
        // Trailing zeros beyond the scale carry no information and are accepted.
        #expect(try ExactDecimalText.units("1.000000000e0", digits: 2) == 100)
    }

    @Test func garbageIsNotANumber() {
        for text in ["", "abc", "1e", "e5", "1.2.3", "1,5", "NaN", "Infinity", "1e5.5", "--1"] {
            #expect(throws: ExactDecimalText.Failure.self, "\(text)") { try ExactDecimalText.units(text, digits: 8) }
        }
        #expect(throws: ExactDecimalText.Failure.outOfRange) { try ExactDecimalText.units("1e999", digits: 8) }
        #expect(throws: ExactDecimalText.Failure.outOfRange) { try ExactDecimalText.units("1e30", digits: 8) }
    }
}
