public import Foundation

/// Which containers the monitor alerts on.
///
/// A container is excluded, in this order, when:
/// 1. it is HemoStat's own: it carries the label `hemostat.role` (any value; the shipped
///    deployment labels HemoStat and its Redis with it), its id is ``ownContainerID`` (the
///    container this process runs in), or its name matches one of `monitor.own_containers`
///    (default `hemostat*`, which covers `hemostat`, `hemostat-redis`, `hemostat-redis-1`);
/// 2. it carries the label `hemostat.enable=false`;
/// 3. its name matches one of `monitor.exclude`;
/// 4. `monitor.include` is not empty and its name matches none of them.
///
/// Excluded containers are still sampled and written to `hemostat:stats:<container>` (with
/// `excluded: true`), never alerted on.
public struct ContainerScope: Sendable, Hashable {
    public var include: [String]
    public var exclude: [String]
    public var ownPatterns: [String]
    public var ownContainerID: String?

    public static let roleLabel = "hemostat.role"
    public static let enableLabel = "hemostat.enable"

    public init(include: [String] = [], exclude: [String] = [], ownPatterns: [String] = ["hemostat*"], ownContainerID: String? = nil) {
        self.include = include
        self.exclude = exclude
        self.ownPatterns = ownPatterns
        self.ownContainerID = ownContainerID
    }

    public init(configuration: MonitorConfiguration, ownContainerID: String? = nil) {
        self.init(include: configuration.include, exclude: configuration.exclude, ownPatterns: configuration.ownContainers, ownContainerID: ownContainerID)
    }

    /// Why the container is excluded, or nil when it is watched.
    public func exclusion(id: String, name: String, labels: [String: String]) -> String? {
        if labels[Self.roleLabel] != nil { return "hemostat's own container (label \(Self.roleLabel))" }
        if let own = ownContainerID, !own.isEmpty, id.hasPrefix(own) { return "hemostat's own container" }
        if let p = ownPatterns.first(where: { Glob.matches($0, name) }) { return "hemostat's own container (name matches \(p))" }
        if labels[Self.enableLabel]?.lowercased() == "false" { return "label \(Self.enableLabel)=false" }
        if let p = exclude.first(where: { Glob.matches($0, name) }) { return "name matches exclude pattern \(p)" }
        if !include.isEmpty, !include.contains(where: { Glob.matches($0, name) }) { return "name matches no include pattern" }
        return nil
    }
}

/// Shell-style name patterns: `*` any run of characters, `?` one character.
public enum Glob {
    public static func matches(_ pattern: String, _ text: String) -> Bool {
        let p = Array(pattern.unicodeScalars), t = Array(text.unicodeScalars)
        var pi = 0, ti = 0, star = -1, mark = 0
        while ti < t.count {
            if pi < p.count, p[pi] == "?" || p[pi] == t[ti] {
                pi += 1; ti += 1
            } else if pi < p.count, p[pi] == "*" {
                star = pi; mark = ti; pi += 1
            } else if star >= 0 {
                pi = star + 1; mark += 1; ti = mark
            } else {
                return false
            }
        }
        while pi < p.count, p[pi] == "*" { pi += 1 }
        return pi == p.count
    }
}

extension ContainerScope {
    /// `HOSTNAME` when it looks like a container id (12 or 64 hex characters), which is what
    /// Docker sets inside a container unless told otherwise.
    public static func ownContainerIDFromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        guard let name = environment["HOSTNAME"], name.count == 12 || name.count == 64,
              name.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else { return nil }
        return name
    }
}
