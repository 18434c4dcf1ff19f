import Foundation

/// The set of API keys the server accepts, each with a name that logs and metrics may show.
///
/// Keys come from a file (one per line, optionally `name:key`; `#` starts a comment; blank lines are
/// ignored) and/or from a comma-separated string such as the `WHISPER_API_KEYS` environment variable.
/// A key without a name is called `key-N` (N counts keys in load order from 1). The key itself is never
/// logged, printed or returned: ``description`` shows names only.
///
/// ```swift
/// let store = try APIKeyStore(file: "/etc/whisper/keys", environment: ProcessInfo.processInfo.environment["WHISPER_API_KEYS"])
/// if let name = store.name(forKey: presented) { … }
/// ```
public struct APIKeyStore: Sendable, CustomStringConvertible {
    /// One accepted key.
    struct Entry: Sendable {
        let name: String
        let key: [UInt8]
    }

    private let entries: [Entry]

    /// An empty store: authentication is off.
    public init() {
        self.entries = []
    }

    /// Creates a store from already-parsed `(name, key)` pairs.
    /// - Parameter keys: pairs of a display name and the secret key.
    public init(keys: [(name: String, key: String)]) {
        self.entries = keys.map { Entry(name: $0.name, key: Array($0.key.utf8)) }
    }

    /// Loads keys from a file and/or a comma-separated string.
    /// - Parameters:
    ///   - file: path of a keys file, or `nil`.
    ///   - environment: the value of `WHISPER_API_KEYS` (comma-separated, each optionally `name:key`), or `nil`.
    /// - Throws: ``APIKeyStoreError`` if the file cannot be read or an entry is malformed; messages never contain key material.
    public init(file: String? = nil, environment: String? = nil) throws(APIKeyStoreError) {
        var pairs: [(name: String?, key: String)] = []
        if let file {
            let text: String
            do {
                text = try String(contentsOfFile: file, encoding: .utf8)
            } catch {
                throw .unreadableFile(file)
            }
            pairs += try Self.parse(lines: text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).map(String.init), source: "API key file", lineNumbers: true)
        }
        if let environment {
            pairs += try Self.parse(lines: environment.split(separator: ",").map(String.init), source: "WHISPER_API_KEYS", lineNumbers: false)
        }
        var named: [(name: String, key: String)] = []
        var seenNames = Set<String>()
        for (index, pair) in pairs.enumerated() {
            let name = pair.name ?? "key-\(index + 1)"
            guard seenNames.insert(name).inserted else { throw .duplicateName(name) }
            named.append((name, pair.key))
        }
        self.init(keys: named)
    }

    /// Parses `name:key` / `key` lines; comments and blank lines are skipped.
    static func parse(lines: [String], source: String, lineNumbers: Bool) throws(APIKeyStoreError) -> [(name: String?, key: String)] {
        var result: [(name: String?, key: String)] = []
        for (index, raw) in lines.enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let location = lineNumbers ? "\(source) line \(index + 1)" : "\(source) entry \(index + 1)"
            var name: String?
            var key = line
            if let colon = line.firstIndex(of: ":") {
                let candidate = line[..<colon].trimmingCharacters(in: .whitespaces)
                key = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                if !candidate.isEmpty {
                    guard candidate.allSatisfy({ $0.isLetter || $0.isNumber || "._-".contains($0) }), candidate.count <= 64 else {
                        throw .malformedEntry(location, reason: "the name may only contain letters, digits, '.', '_' and '-' (at most 64)")
                    }
                    name = candidate
                }
            }
            guard !key.isEmpty else { throw .malformedEntry(location, reason: "the key is empty") }
            guard !key.contains(where: { $0.isWhitespace }) else { throw .malformedEntry(location, reason: "the key contains whitespace") }
            result.append((name, key))
        }
        return result
    }

    /// Whether no key is configured (authentication disabled).
    public var isEmpty: Bool { entries.isEmpty }
    /// Number of configured keys.
    public var count: Int { entries.count }
    /// Names of the configured keys, in load order.
    public var names: [String] { entries.map(\.name) }

    /// Looks a presented key up and returns its name.
    ///
    /// Every configured key is compared, each in time that depends only on the lengths involved,
    /// so neither which key matched nor how many leading bytes are right shows in the timing.
    /// - Parameter key: the key the client presented.
    /// - Returns: the key's name, or `nil` if it is not accepted.
    public func name(forKey key: String) -> String? {
        lookup(key, onCompare: { _ in })
    }

    /// ``name(forKey:)`` with a hook called once per configured key (tests count comparisons).
    func lookup(_ key: String, onCompare: (Int) -> Void) -> String? {
        let presented = Array(key.utf8)
        var match: Int = -1
        for (index, entry) in entries.enumerated() {
            onCompare(index)
            let equal = Self.constantTimeEquals(presented, entry.key)
            // Branch-free selection: keep the first match without stopping the loop.
            let isFirst = equal && match < 0
            match = isFirst ? index : match
        }
        return match >= 0 ? entries[match].name : nil
    }

    /// Compares two byte strings in time that depends only on their lengths, not their contents.
    static func constantTimeEquals(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        let length = max(lhs.count, rhs.count)
        var difference: UInt = UInt(truncatingIfNeeded: lhs.count ^ rhs.count)
        lhs.withUnsafeBufferPointer { a in
            rhs.withUnsafeBufferPointer { b in
                for i in 0..<length {
                    let x: UInt8 = i < a.count ? a[i] : 0
                    let y: UInt8 = i < b.count ? b[i] : 0
                    difference |= UInt(x ^ y)
                }
            }
        }
        return difference == 0
    }

    public var description: String {
        "APIKeyStore(\(entries.count) keys: \(names.joined(separator: ", ")))"
    }
}

/// Why API keys could not be loaded. Messages name the source and line, never the key.
public struct APIKeyStoreError: Error, Equatable, CustomStringConvertible {
    private enum Code: Equatable {
        case unreadableFile(String)
        case malformedEntry(String, String)
        case duplicateName(String)
    }

    private let code: Code

    /// The keys file does not exist or cannot be read.
    public static func unreadableFile(_ path: String) -> Self { .init(code: .unreadableFile(path)) }
    /// A line or entry is malformed.
    public static func malformedEntry(_ location: String, reason: String) -> Self { .init(code: .malformedEntry(location, reason)) }
    /// Two keys share a name.
    public static func duplicateName(_ name: String) -> Self { .init(code: .duplicateName(name)) }

    public var description: String {
        switch code {
        case .unreadableFile(let path): "API key file '\(path)' does not exist or is not readable"
        case .malformedEntry(let location, let reason): "\(location): \(reason)"
        case .duplicateName(let name): "API key name '\(name)' is used more than once"
        }
    }
}
