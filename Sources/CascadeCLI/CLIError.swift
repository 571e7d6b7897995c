/// A failure at run time (unreadable file, bad instruments file): printed as one `Error:` line, no usage text.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
