import Foundation

/// The `hemostat` executable the tests run, and the package it was built from.
public enum HemoStatBinary {
    /// The package root: this file is `Sources/HemoStatTestSupport/HemoStatBinary.swift`.
    public static let packageRoot: String = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// The debug binary `swift build --build-tests` leaves beside the test bundle, else in the
    /// package's `.build/debug`.
    public static func path() throws -> String {
        var candidates: [String] = []
        if let bundle = Bundle.allBundles.first(where: { $0.bundlePath.hasSuffix(".xctest") }) {
            candidates.append(URL(fileURLWithPath: bundle.bundlePath).deletingLastPathComponent().appendingPathComponent("hemostat").path)
        }
        var directory = Bundle.main.bundleURL
        for _ in 0..<4 {
            candidates.append(directory.appendingPathComponent("hemostat").path)
            directory = directory.deletingLastPathComponent()
        }
        candidates.append(URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("hemostat").path)
        candidates.append(packageRoot + "/.build/debug/hemostat")
        if let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) { return found }
        throw TestEnvironmentError(message: "the hemostat binary was not found (tried \(candidates.joined(separator: ", "))); run `swift build --build-tests`")
    }
}
