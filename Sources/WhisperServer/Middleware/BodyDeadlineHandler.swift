import NIOCore
import NIOHTTP1

/// Closes a connection whose request body does not arrive in time: it has ``ServerConfiguration/HTTP/bodyTimeout``
/// seconds from the end of the headers, plus one second for every ``ServerConfiguration/HTTP/bodyMinimumBytesPerSecond``
/// bytes received. A large upload on a slow but steady link keeps extending its deadline; a body trickled a few bytes
/// at a time is cut off (slowloris).
///
/// It sits right after NIO's HTTP/1 decoder and only watches: request parts pass through unchanged.
final class BodyDeadlineHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart

    private let timeout: TimeAmount
    private let bytesPerSecond: Int
    /// When the current request's headers ended, while its body is being read.
    private var bodyStarted: NIODeadline?
    private var received = 0
    private var timer: Scheduled<Void>?

    /// - Parameters:
    ///   - timeout: time for a body, before any extension.
    ///   - bytesPerSecond: bytes that extend the deadline by one second.
    init(timeout: TimeAmount, bytesPerSecond: Int) {
        self.timeout = timeout
        self.bytesPerSecond = max(1, bytesPerSecond)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            bodyStarted = .now()
            received = 0
            schedule(context: context, at: deadline)
        case .body(let buffer):
            received += buffer.readableBytes
        case .end:
            bodyStarted = nil
            timer?.cancel()
            timer = nil
        }
        context.fireChannelRead(data)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    private var deadline: NIODeadline {
        (bodyStarted ?? .now()) + timeout + .nanoseconds(Int64(received) * 1_000_000_000 / Int64(bytesPerSecond))
    }

    private func schedule(context: ChannelHandlerContext, at deadline: NIODeadline) {
        timer?.cancel()
        let loopBound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(deadline: deadline) {
            loopBound.value.handler.expired(context: loopBound.value.context)
        }
    }

    private func expired(context: ChannelHandlerContext) {
        timer = nil
        guard bodyStarted != nil else { return }
        let deadline = self.deadline
        if deadline > .now() {
            schedule(context: context, at: deadline)
        } else {
            context.close(promise: nil)
        }
    }
}
