public import HemoStatModel

extension ContainerRef: ExpressibleByStringInterpolation {
    /// `"host/name"`, or a bare name on the harnesses' host (`test-host`).
    public init(stringLiteral value: String) {
        self = ContainerRef(value) ?? ContainerRef(host: "test-host", name: value)
    }
}
