import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Finds the client's IP address: the socket peer, or the `X-Forwarded-For` chain when the peer is a
/// trusted proxy.
///
/// With trusted proxies, the chain is read from the right, skipping addresses that are themselves
/// trusted proxies; the first untrusted address is the client. A spoofed left-most entry is therefore
/// ignored. Without trusted proxies `X-Forwarded-For` is never read.
///
/// ```swift
/// let resolver = ClientAddressResolver(trustedProxies: ["10.0.0.0/8"])
/// let ip = resolver.clientAddress(peer: "10.1.2.3", forwardedFor: "203.0.113.9") // "203.0.113.9"
/// ```
public struct ClientAddressResolver: Sendable {
    /// Proxies whose `X-Forwarded-For` is believed.
    public let trustedProxies: [IPAddressRange]

    /// Creates a resolver from ranges.
    public init(trustedProxies: [IPAddressRange] = []) {
        self.trustedProxies = trustedProxies
    }

    /// Creates a resolver from strings (addresses or CIDR blocks); unparseable entries are skipped
    /// (``ConfigurationValidator`` reports them at start).
    public init(trustedProxies: [String]) {
        self.trustedProxies = trustedProxies.compactMap(IPAddressRange.init)
    }

    /// Whether `address` is a trusted proxy.
    public func isTrusted(_ address: IPAddress) -> Bool {
        trustedProxies.contains { $0.contains(address) }
    }

    /// Resolves the client address from the socket peer and an optional `X-Forwarded-For` value.
    /// - Parameters:
    ///   - peer: the socket peer's IP address text, or `nil` if unknown.
    ///   - forwardedFor: the `X-Forwarded-For` header value(s), comma-separated.
    /// - Returns: the client's address text, or `"unknown"`.
    public func clientAddress(peer: String?, forwardedFor: String?) -> String {
        guard let peer, let peerAddress = IPAddress(peer) else { return peer ?? "unknown" }
        guard isTrusted(peerAddress), let forwardedFor, !trustedProxies.isEmpty else { return peerAddress.description }
        let hops = forwardedFor.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        var client = peerAddress
        for hop in hops.reversed() {
            guard let address = IPAddress(hop) else { break }
            client = address
            if !isTrusted(address) { break }
        }
        return client.description
    }

    /// Resolves the client address of a request; the peer comes from a ``RemoteAddressRequestContext`` when the context is one.
    public func clientAddress(request: Request, context: some RequestContext) -> String {
        let peer = (context as? any RemoteAddressRequestContext)?.remoteAddress?.ipAddress
        let forwarded = request.headers[values: WhisperHTTPHeader.forwardedFor]
        return clientAddress(peer: peer, forwardedFor: forwarded.isEmpty ? nil : forwarded.joined(separator: ","))
    }
}
