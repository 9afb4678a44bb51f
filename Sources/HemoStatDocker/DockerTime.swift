public import Foundation

/// Docker's RFC 3339 timestamps with nanoseconds (`2024-05-01T10:00:00.123456789Z`).
public enum DockerTime {
    /// The date, or nil for an empty string or Go's zero time (`0001-01-01T00:00:00Z`,
    /// which the engine uses for "never").
    public static func parse(_ text: String?) -> Date? {
        guard var text, !text.isEmpty, !text.hasPrefix("0001-01-01") else { return nil }
        var fraction = 0.0
        if let dot = text.firstIndex(of: ".") {
            let digitsEnd = text[dot...].dropFirst().firstIndex { !$0.isNumber } ?? text.endIndex
            fraction = Double("0" + text[dot..<digitsEnd]) ?? 0
            text.removeSubrange(dot..<digitsEnd)
        }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text).map { $0.addingTimeInterval(fraction) }
    }
}
