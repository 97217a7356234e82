import Foundation

/// A fresh directory under the system temp directory, removed when the value is released.
public final class TemporaryDirectory: Sendable {
    /// The directory.
    public let path: String

    /// Creates the directory; `label` (the calling function by default) becomes part of its name.
    public init(_ label: String = #function) {
        let safe = label.filter { $0.isLetter || $0.isNumber }
        path = NSTemporaryDirectory() + "durable-test-\(safe.prefix(40))-\(UUID().uuidString.prefix(8))"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// A data directory inside it (not created: the store creates it).
    public var data: String { path + "/data" }
}

/// The path of an executable built beside the running test binary (the package's own tools).
public func builtExecutable(_ name: String) -> String {
    var directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
    while !FileManager.default.fileExists(atPath: directory.appendingPathComponent(name).path), directory.path != "/" {
        directory = directory.deletingLastPathComponent()
    }
    return directory.appendingPathComponent(name).path
}
