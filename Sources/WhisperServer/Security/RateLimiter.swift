import Foundation

/// Limits for one identity (an API key's name or a client IP), refilled continuously over a window.
public struct RateLimitPolicy: Sendable, Equatable {
    /// Requests allowed per window (bucket capacity); `nil` for no request limit.
    public var requestsPerWindow: Int?
    /// Seconds of audio allowed per window; `nil` for no audio limit.
    public var audioSecondsPerWindow: Double?
    /// Length of the window in seconds; both buckets refill completely over it.
    public var windowSeconds: Double

    /// Creates a policy.
    /// - Parameters:
    ///   - requestsPerWindow: requests per window, `nil` for unlimited (default 60).
    ///   - audioSecondsPerWindow: audio seconds per window, `nil` for unlimited (default 3600).
    ///   - windowSeconds: window length in seconds (default 60).
    public init(requestsPerWindow: Int? = 60, audioSecondsPerWindow: Double? = 3600, windowSeconds: Double = 60) {
        self.requestsPerWindow = requestsPerWindow
        self.audioSecondsPerWindow = audioSecondsPerWindow
        self.windowSeconds = windowSeconds
    }

    /// Whether any limit is configured.
    public var isEnabled: Bool { requestsPerWindow != nil || audioSecondsPerWindow != nil }
}

/// The outcome of ``RateLimiter/consume(identity:)``, with everything the response headers need.
public struct RateLimitDecision: Sendable, Equatable {
    /// Which bucket refused the request.
    public enum Reason: String, Sendable {
        case requests
        case audioSeconds = "audio_seconds"
    }

    /// Whether the request may proceed.
    public var allowed: Bool
    /// Why it was refused, if it was.
    public var reason: Reason?
    /// Request capacity per window (`x-ratelimit-limit-requests`), `nil` when requests are unlimited.
    public var requestLimit: Int?
    /// Whole requests left (`x-ratelimit-remaining-requests`).
    public var remainingRequests: Int?
    /// Seconds until the request bucket is full again (`x-ratelimit-reset-requests`).
    public var requestsResetSeconds: Double?
    /// Audio-seconds capacity per window, `nil` when audio is unlimited.
    public var audioLimit: Double?
    /// Audio seconds left (may be negative after a long file was charged).
    public var remainingAudioSeconds: Double?
    /// Seconds until the audio bucket is full again.
    public var audioResetSeconds: Double?
    /// Seconds the client should wait before retrying (`Retry-After`), when refused.
    public var retryAfterSeconds: Double?
}

/// Token-bucket rate limiter keyed by identity: one bucket of requests and one of audio seconds.
///
/// A request takes one request token and needs a positive audio balance; the audio actually decoded is
/// charged afterwards with ``chargeAudio(identity:seconds:)`` and may drive the balance negative (a long
/// file is served, later requests wait until the balance refills). Idle full buckets are dropped so the
/// table stays bounded under many client IPs.
///
/// ```swift
/// let limiter = RateLimiter(policy: RateLimitPolicy(requestsPerWindow: 60, audioSecondsPerWindow: 3600, windowSeconds: 60))
/// let decision = await limiter.consume(identity: "key:alice")
/// ```
public actor RateLimiter {
    struct Bucket {
        var requests: Double
        var audio: Double
        var updated: Double
    }

    /// The configured limits.
    public nonisolated let policy: RateLimitPolicy
    private let now: @Sendable () -> Double
    private var buckets: [String: Bucket] = [:]
    private let maxIdentities: Int

    /// Creates a limiter.
    /// - Parameters:
    ///   - policy: the limits.
    ///   - maxIdentities: table size after which full (idle) buckets are dropped (default 10,000).
    ///   - now: monotonic time in seconds (tests inject a manual clock).
    public init(policy: RateLimitPolicy, maxIdentities: Int = 10_000, now: @escaping @Sendable () -> Double = RateLimiter.monotonicSeconds) {
        self.policy = policy
        self.now = now
        self.maxIdentities = maxIdentities
    }

    /// Seconds from an arbitrary fixed point, from the continuous clock.
    @Sendable public static func monotonicSeconds() -> Double {
        let components = referenceInstant.duration(to: ContinuousClock.now).components
        return Double(components.seconds) + Double(components.attoseconds) * 1e-18
    }
    private static let referenceInstant = ContinuousClock.now

    private var requestRate: Double? { policy.requestsPerWindow.map { Double($0) / policy.windowSeconds } }
    private var audioRate: Double? { policy.audioSecondsPerWindow.map { $0 / policy.windowSeconds } }

    /// Refills and returns the bucket for `identity`.
    private func refilled(_ identity: String, at time: Double) -> Bucket {
        guard let bucket = buckets[identity] else {
            return Bucket(requests: Double(policy.requestsPerWindow ?? 0), audio: policy.audioSecondsPerWindow ?? 0, updated: time)
        }
        return refilledValue(bucket, at: time)
    }

    /// Takes one request token for `identity` if its buckets allow it.
    /// - Parameter identity: `key:NAME` or `ip:ADDRESS`.
    /// - Returns: whether the request may proceed, and the header values.
    public func consume(identity: String) -> RateLimitDecision {
        let time = now()
        var bucket = refilled(identity, at: time)
        var reason: RateLimitDecision.Reason?
        if policy.requestsPerWindow != nil, bucket.requests < 1 {
            reason = .requests
        } else if policy.audioSecondsPerWindow != nil, bucket.audio <= 0 {
            reason = .audioSeconds
        }
        if reason == nil, policy.requestsPerWindow != nil {
            bucket.requests -= 1
        }
        store(bucket, for: identity)
        var decision = makeDecision(bucket)
        decision.allowed = reason == nil
        decision.reason = reason
        if let reason {
            switch reason {
            case .requests:
                decision.retryAfterSeconds = (1 - bucket.requests) / (requestRate ?? 1)
            case .audioSeconds:
                decision.retryAfterSeconds = max(0.001, -bucket.audio) / (audioRate ?? 1)
            }
        }
        return decision
    }

    /// Gives a request token back (for example when the request was refused later for reasons that are not the client's).
    public func refund(identity: String) {
        guard let capacity = policy.requestsPerWindow else { return }
        var bucket = refilled(identity, at: now())
        bucket.requests = min(Double(capacity), bucket.requests + 1)
        store(bucket, for: identity)
    }

    /// Charges seconds of decoded audio to `identity`; the balance may go negative.
    /// - Returns: the state after the charge.
    @discardableResult
    public func chargeAudio(identity: String, seconds: Double) -> RateLimitDecision {
        var bucket = refilled(identity, at: now())
        if policy.audioSecondsPerWindow != nil, seconds.isFinite, seconds > 0 {
            bucket.audio -= seconds
        }
        store(bucket, for: identity)
        return makeDecision(bucket)
    }

    /// The current state for `identity` without consuming anything.
    public func status(identity: String) -> RateLimitDecision {
        makeDecision(refilled(identity, at: now()))
    }

    /// Number of identities currently tracked.
    public var trackedIdentities: Int { buckets.count }

    private func store(_ bucket: Bucket, for identity: String) {
        buckets[identity] = bucket
        if buckets.count > maxIdentities {
            let time = bucket.updated
            buckets = buckets.filter { entry in
                entry.key == identity || !isFull(refilledValue(entry.value, at: time))
            }
        }
    }

    private func refilledValue(_ bucket: Bucket, at time: Double) -> Bucket {
        var copy = bucket
        let elapsed = max(0, time - copy.updated)
        if let capacity = policy.requestsPerWindow, let rate = requestRate { copy.requests = min(Double(capacity), copy.requests + elapsed * rate) }
        if let capacity = policy.audioSecondsPerWindow, let rate = audioRate { copy.audio = min(capacity, copy.audio + elapsed * rate) }
        copy.updated = time
        return copy
    }

    private func isFull(_ bucket: Bucket) -> Bool {
        (policy.requestsPerWindow.map { bucket.requests >= Double($0) } ?? true)
            && (policy.audioSecondsPerWindow.map { bucket.audio >= $0 } ?? true)
    }

    private func makeDecision(_ bucket: Bucket) -> RateLimitDecision {
        var decision = RateLimitDecision(allowed: true)
        if let capacity = policy.requestsPerWindow, let rate = requestRate {
            decision.requestLimit = capacity
            decision.remainingRequests = max(0, Int(bucket.requests.rounded(.down)))
            decision.requestsResetSeconds = max(0, Double(capacity) - bucket.requests) / rate
        }
        if let capacity = policy.audioSecondsPerWindow, let rate = audioRate {
            decision.audioLimit = capacity
            decision.remainingAudioSeconds = bucket.audio
            decision.audioResetSeconds = max(0, capacity - bucket.audio) / rate
        }
        return decision
    }
}

extension RateLimitDecision {
    init(allowed: Bool) {
        self.allowed = allowed
    }
}
