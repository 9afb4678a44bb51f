import Foundation

/// Reads `*.lua` files from a rules directory.
enum RuleFiles {
    struct Stamp: Hashable {
        var modified: Date
        var size: Int
    }

    /// The `.lua` files directly in `directory`, sorted by name, as `directory/name`.
    static func list(_ directory: String) throws(RuleError) -> [String] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw RuleError(code: .io, message: "cannot read rules directory '\(directory)'")
        }
        return names.filter { $0.hasSuffix(".lua") && !$0.hasPrefix(".") }.sorted().map { join(directory, $0) }
    }

    static func join(_ directory: String, _ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    static func stamp(_ path: String) -> Stamp? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else { return nil }
        let modified = attributes[.modificationDate] as? Date ?? .distantPast
        let size = (attributes[.size] as? NSNumber)?.intValue ?? 0
        return Stamp(modified: modified, size: size)
    }

    static func read(_ path: String) throws(RuleError) -> RuleSource {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RuleError(code: .io, message: "cannot read rule file", location: SourceLocation(file: path, line: 0))
        }
        return RuleSource(path: path, text: String(decoding: data, as: UTF8.self))
    }

    /// Every rule file in `directory`; unreadable files become errors.
    static func readAll(_ directory: String) throws(RuleError) -> (sources: [RuleSource], errors: [RuleError]) {
        var sources: [RuleSource] = []
        var errors: [RuleError] = []
        for path in try list(directory) {
            do { sources.append(try read(path)) } catch { errors.append(error) }
        }
        return (sources, errors)
    }
}
