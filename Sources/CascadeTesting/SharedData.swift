public import Foundation

/// Locates `../shared` (real recordings and reference tools) next to the package checkout.
///
/// Users will not have it; tests that need it are skipped with a message when it is absent. CI has it.
public enum SharedData {
    /// The package root, found from this file's compile-time path.
    public static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `<package>/../shared`, or `CASCADE_SHARED_DIR` when set.
    public static let root: URL = {
        if let override = ProcessInfo.processInfo.environment["CASCADE_SHARED_DIR"], !override.isEmpty {
            return URL(fileURLWithPath: override)
        }
        return packageRoot.deletingLastPathComponent().appendingPathComponent("shared")
    }()

    /// True when the shared recordings are present.
    public static var isAvailable: Bool {
        FileManager.default.fileExists(atPath: root.appendingPathComponent("data/bybit-v5-frames").path)
    }

    /// True when `python3` can run the reference tools.
    public static var hasPython: Bool { executable("python3") != nil }

    /// Every `*.frames.gz` under `data/bybit-v5-frames`, sorted by path.
    public static var frameFiles: [URL] {
        let base = root.appendingPathComponent("data/bybit-v5-frames")
        guard let e = FileManager.default.enumerator(at: base, includingPropertiesForKeys: nil) else { return [] }
        return e.compactMap { $0 as? URL }.filter { $0.lastPathComponent.hasSuffix(".frames.gz") }
            .sorted { $0.path < $1.path }
    }

    /// Finds an executable on `PATH`.
    public static func executable(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Runs a program and returns its standard output (standard error is discarded). Throws on a non-zero exit.
    public static func run(_ executable: String, _ arguments: [String]) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw NSError(domain: "SharedData.run", code: Int(process.terminationStatus),
                          userInfo: [NSLocalizedDescriptionKey: "\(executable) \(arguments) exited \(process.terminationStatus)"])
        }
        return data
    }
}
