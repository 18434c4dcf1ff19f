/// The wall-clock instant by which one decode must finish.
struct DecodeDeadline: Sendable {
    private static let longest = 1e9

    /// The timeout it was made from, for error messages.
    let timeout: Double
    private let end: ContinuousClock.Instant

    /// A deadline `timeout` seconds from now; a timeout that is not positive has already passed.
    init(timeout: Double) {
        self.timeout = timeout
        let seconds = timeout > 0 ? min(timeout, Self.longest) : 0
        end = .now + .seconds(seconds)
    }

    /// Whether the deadline has passed.
    var hasPassed: Bool { ContinuousClock.now >= end }

    /// Throws ``AudioDecodingError/Kind/timedOut`` once the deadline has passed.
    func check() throws(AudioDecodingError) {
        if hasPassed { throw .timedOut(limit: timeout) }
    }
}
