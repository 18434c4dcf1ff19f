import Hummingbird

extension ResponseBody {
    /// This body, calling `completion` once it has been written (or failed), so durations include
    /// streaming. `completion` receives whether the write succeeded.
    func onCompletion(_ completion: @escaping @Sendable (Bool) async -> Void) -> ResponseBody {
        let original = self
        return ResponseBody(contentLength: original.contentLength) { writer in
            do {
                try await original.write(writer)
                await completion(true)
            } catch {
                await completion(false)
                throw error
            }
        }
    }
}

/// Small helpers shared by the observability middleware.
enum ObservabilityTiming {
    /// The status an error will be answered with: its own for ``HTTPResponseError``s, 500 otherwise.
    static func status(for error: any Error) -> HTTPResponse.Status {
        (error as? any HTTPResponseError)?.status ?? .internalServerError
    }

    /// Seconds elapsed since `start` on the continuous clock.
    static func secondsSince(_ start: ContinuousClock.Instant) -> Double {
        let components = start.duration(to: .now).components
        return Double(components.seconds) + Double(components.attoseconds) * 1e-18
    }
}
