import Foundation
import HTTPTypes
import Hummingbird

/// Answers 400 (OpenAI shape, `code` `invalid_host`) to requests whose `Host` is not on an allow-list,
/// which defeats DNS-rebinding attacks on a server bound to localhost.
///
/// Entries are host names or IP addresses without port (`api.example.com`, `10.0.0.5`, `::1`), a
/// leading-wildcard suffix (`*.example.com`), or `*` for any host. Matching ignores case, the port and a
/// trailing dot.
///
/// ```swift
/// let hosts = TrustedHostMiddleware<AppRequestContext>.defaultHosts(bindHost: "127.0.0.1")
/// router.add(middleware: TrustedHostMiddleware<AppRequestContext>(allowedHosts: hosts))
/// ```
public struct TrustedHostMiddleware<Context: RequestContext>: RouterMiddleware {
    let exact: Set<String>
    let suffixes: [String]
    let allowAll: Bool
    let exemptPaths: Set<String>

    /// Creates the middleware.
    /// - Parameters:
    ///   - allowedHosts: accepted hosts (see the type's documentation).
    ///   - exemptPaths: paths answered whatever the host (default `/health`, `/ready`, for orchestrator probes that use the pod IP).
    public init(allowedHosts: [String], exemptPaths: Set<String> = ["/health", "/ready"]) {
        var exact = Set<String>()
        var suffixes: [String] = []
        var allowAll = false
        for entry in allowedHosts.map({ Self.normalizeHost($0) }) where !entry.isEmpty {
            if entry == "*" {
                allowAll = true
            } else if entry.hasPrefix("*.") {
                suffixes.append(String(entry.dropFirst(1)))
            } else {
                exact.insert(entry)
            }
        }
        self.exact = exact
        self.suffixes = suffixes
        self.allowAll = allowAll
        self.exemptPaths = exemptPaths
    }

    /// The default allow-list: the bound host (unless it is a wildcard address), `localhost`, `127.0.0.1` and `::1`.
    public static func defaultHosts(bindHost: String) -> [String] {
        var hosts = ["localhost", "127.0.0.1", "::1"]
        let bound = normalizeHost(bindHost)
        if !["0.0.0.0", "::", ""].contains(bound), !hosts.contains(bound) { hosts.insert(bound, at: 0) }
        return hosts
    }

    /// Whether a `Host` header value is allowed.
    public func isAllowed(host value: String) -> Bool {
        if allowAll { return true }
        guard let host = Self.hostPart(of: value) else { return false }
        return exact.contains(host) || suffixes.contains { host.hasSuffix($0) && host.count > $0.count }
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if allowAll || exemptPaths.contains(request.uri.path) {
            return try await next(request, context)
        }
        guard let authority = request.head.authority ?? request.headers[HTTPField.Name("Host")!], isAllowed(host: authority) else {
            throw RequestRejection(
                status: .badRequest,
                message: "Invalid Host header: this server does not answer for that host name.",
                type: "invalid_request_error",
                code: "invalid_host"
            )
        }
        return try await next(request, context)
    }

    /// The host part of a `Host` value without port, lower-cased, without brackets or trailing dot; `nil` if malformed.
    static func hostPart(of value: String) -> String? {
        var text = Substring(value.trimmingCharacters(in: .whitespaces))
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            let rest = text[text.index(after: close)...]
            guard rest.isEmpty || (rest.hasPrefix(":") && rest.dropFirst().allSatisfy(\.isNumber)) else { return nil }
            text = text[text.index(after: text.startIndex)..<close]
            return normalizeHost(String(text))
        }
        if let colon = text.lastIndex(of: ":") {
            let port = text[text.index(after: colon)...]
            guard port.allSatisfy(\.isNumber), !text[..<colon].contains(":") else { return nil }
            text = text[..<colon]
        }
        guard !text.isEmpty else { return nil }
        return normalizeHost(String(text))
    }

    static func normalizeHost(_ host: String) -> String {
        var value = host.trimmingCharacters(in: .whitespaces).lowercased()
        if value.hasPrefix("["), value.hasSuffix("]") { value = String(value.dropFirst().dropLast()) }
        if value.count > 1, value.hasSuffix(".") { value.removeLast() }
        if let address = IPAddress(value) { return address.description }
        return value
    }
}
