import Hummingbird
import Synchronization

/// The methods each route path answers, to tell "no such path" (404) from "not with this method" (405 with `Allow`).
///
/// Filled once, after the routes are registered (the error middleware that reads it is added before them).
final class AllowedMethods: Sendable {
    private struct Route {
        let path: RouterPath
        let method: HTTPRequest.Method
    }

    private let routes = Mutex<[Route]>([])

    init() {}

    /// Records the router's routes.
    /// - Parameter routes: path and method of every route.
    func record(_ routes: [(RouterPath, HTTPRequest.Method)]) {
        self.routes.withLock { $0 = routes.map { Route(path: $0.0, method: $0.1) } }
    }

    /// The methods `path` answers, `HEAD` included with `GET`; empty when no route has this path.
    /// - Parameter path: a request path, e.g. `/v1/models/tiny.en`.
    func methods(for path: String) -> [HTTPRequest.Method] {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true)
        var methods: [HTTPRequest.Method] = routes.withLock { routes in
            routes.filter { Self.matches($0.path, segments) }.map(\.method)
        }
        if methods.contains(.get), !methods.contains(.head) { methods.append(.head) }
        return methods.sorted { $0.rawValue < $1.rawValue }
    }

    private static func matches(_ path: RouterPath, _ segments: [Substring]) -> Bool {
        guard path.components.count == segments.count else { return false }
        return zip(path.components, segments).allSatisfy { element, segment in element ~= segment }
    }
}
