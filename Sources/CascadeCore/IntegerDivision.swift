/// Division rounded towards negative infinity (Swift's `/` truncates towards zero): the minute or second a receive
/// time falls in, and a price rounded down to its tick, for any sign.
@inlinable public func floorDivide<T: BinaryInteger>(_ a: T, _ b: T) -> T {
    let q = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
}
