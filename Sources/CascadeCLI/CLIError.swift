import BybitV5
import CascadeCore
import Foundation

/// A failure at run time (unreadable file, bad instruments file): printed as one `Error:` line, no usage text.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The bytes of a file an option names, or one readable error naming the option and the file.
func readOptionFile(_ path: String, option: String) throws -> [UInt8] {
    do { return Array(try Data(contentsOf: URL(fileURLWithPath: path))) } catch {
        throw CLIError("cannot read \(option) \(path): \(error.localizedDescription)")
    }
}

/// An `--instruments` file: its bytes and the instrument table they describe (refused when it does not decode).
func loadInstruments(_ path: String) throws -> ([UInt8], InstrumentTable) {
    let bytes = try readOptionFile(path, option: "--instruments")
    var table = InstrumentTable()
    do { _ = try BybitInstrumentsInfo.decode(bytes, table: &table) } catch { throw CLIError("--instruments \(path): \(error)") }
    return (bytes, table)
}
