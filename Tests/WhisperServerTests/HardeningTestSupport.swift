import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A raw TCP client on loopback for the hardening tests: sends exactly the bytes given (broken framing, trickled
/// headers) and reports what came back and when the server closed the connection. Blocking socket calls run on their
/// own thread, never on Swift's cooperative pool (which the server under test needs).
final class RawConnection: @unchecked Sendable {
    private let descriptor: Int32

    /// Opens a connection to `127.0.0.1:port`.
    ///
    /// The descriptor becomes the object's only once connected: a class whose stored properties are all set runs its
    /// `deinit` even when its initializer throws, and closing a refused socket there as well as here closed it twice,
    /// the second time closing whatever the server under test had opened meanwhile under the same number (swift-nio
    /// then stops the process on `EBADF`).
    init(port: Int) throws {
        let candidate = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard candidate >= 0 else { throw RawConnectionError("socket() failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(candidate, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(candidate)
            throw RawConnectionError("connect() failed")
        }
        descriptor = candidate
    }

    deinit { close(descriptor) }

    /// A loopback port nothing listens on right now (the kernel's pick for port 0).
    static func freePort() throws -> Int {
        let probe = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard probe >= 0 else { throw RawConnectionError("socket() failed") }
        defer { close(probe) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(probe, $0, length) == 0 && getsockname(probe, $0, &length) == 0 }
        }
        guard bound else { throw RawConnectionError("bind() failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Sends bytes; `false` once the server has closed or reset the connection.
    @discardableResult
    func send(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { buffer in
            Glibc.send(descriptor, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL)) == buffer.count
        }
    }

    /// Sends a string's UTF-8 bytes.
    @discardableResult
    func send(_ text: String) -> Bool { send(Array(text.utf8)) }

    /// Reads until the server closes the connection or `timeout` passes.
    /// - Returns: the bytes received and whether the server closed the connection.
    func readUntilClosed(timeout: Duration) async -> (bytes: [UInt8], closed: Bool) {
        await withCheckedContinuation { continuation in
            let descriptor = self.descriptor
            Thread.detachNewThread {
                let end = ContinuousClock.now + timeout
                var received: [UInt8] = []
                var chunk = [UInt8](repeating: 0, count: 65536)
                while ContinuousClock.now < end {
                    var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
                    let remaining = max(1, Int32((end - ContinuousClock.now).components.seconds * 1000 + 1))
                    guard poll(&poller, 1, min(remaining, 100)) > 0 else { continue }
                    let count = recv(descriptor, &chunk, chunk.count, 0)
                    if count <= 0 {
                        continuation.resume(returning: (received, true))
                        return
                    }
                    received += chunk[0..<count]
                }
                continuation.resume(returning: (received, false))
            }
        }
    }

    /// Sends `bytes` one at a time, `interval` apart, until the server closes the connection or they run out.
    /// - Returns: whether the server closed the connection, and after how long.
    func trickle(_ bytes: [UInt8], interval: Duration) async -> (closed: Bool, after: Duration) {
        let start = ContinuousClock.now
        for byte in bytes {
            let (_, closed) = await readUntilClosed(timeout: interval)
            if closed || !send([byte]) { return (true, ContinuousClock.now - start) }
        }
        return (false, ContinuousClock.now - start)
    }
}

/// A raw connection could not be opened.
struct RawConnectionError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// An HTTP/1.1 response read from raw bytes.
struct RawResponse {
    let status: Int
    let headers: [String: String]
    let body: String
    /// How many status lines the bytes hold: more than one means several responses.
    let responseCount: Int

    init?(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let headEnd = text.range(of: "\r\n\r\n") else { return nil }
        let lines = text[..<headEnd.lowerBound].components(separatedBy: "\r\n")
        let statusParts = lines[0].split(separator: " ")
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else { return nil }
        self.status = status
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        self.headers = headers
        body = String(text[headEnd.upperBound...])
        responseCount = text.components(separatedBy: "HTTP/1.1 ").count - 1
    }
}
