
/// The version of HemoStat, reported by `hemostat --version` and in `/healthz`.
public enum HemoStatVersion {
    public static let current = "0.1.0"
}
