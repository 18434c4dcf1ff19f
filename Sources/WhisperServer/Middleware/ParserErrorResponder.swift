import Hummingbird
import NIOCore
import NIOHTTP1

/// Decides who answers a request that is not valid HTTP/1.1, so that every request gets exactly one answer in OpenAI's
/// error shape and the connection is closed after it.
///
/// It sits right after NIO's HTTP/1 decoder and sees each parse error first:
/// - in a request's head (bad request line, conflicting `Content-Length` and `Transfer-Encoding`, invalid header
///   names…): it answers 400 itself (Hummingbird would answer an empty 400) and closes the connection;
/// - in the body of a request not answered yet (a broken chunk): it passes the error on (a handler reading the body
///   throws it and ``OpenAIError/from(_:)`` answers 400) and closes the connection once that request's answer has been
///   written, so that Hummingbird, meeting the error again while it drains the body, cannot write a second answer;
/// - in the body of a request already answered (e.g. refused before its body was read): it closes the connection
///   without a second answer.
final class ParserErrorResponder: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// Whether a request's head has arrived and its end has not.
    private var readingRequest = false
    /// Requests whose head arrived and whose response has not ended.
    private var responsesPending = 0
    /// Whether a parse error was passed on: the connection closes after the answer being written.
    private var closeAfterAnswer = false

    init() {}

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            readingRequest = true
            responsesPending += 1
        case .body:
            break
        case .end:
            readingRequest = false
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .end = unwrapOutboundIn(data) else {
            context.write(data, promise: promise)
            return
        }
        responsesPending = max(0, responsesPending - 1)
        if closeAfterAnswer {
            context.writeAndFlush(data).assumeIsolated().whenComplete { result in
                promise?.completeWith(result)
                context.close(promise: nil)
            }
        } else {
            context.write(data, promise: promise)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        if responsesPending > 0 {
            closeAfterAnswer = true
            context.fireErrorCaught(error)
            return
        }
        if readingRequest {
            context.close(promise: nil)
            return
        }
        let answer = OpenAIError(status: .badRequest, message: "the request is not valid HTTP/1.1: \(parserError)", code: "invalid_http")
        let body = context.channel.allocator.buffer(bytes: answer.jsonBytes)
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Content-Length", value: String(body.readableBytes))
        headers.add(name: "Connection", value: "close")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .badRequest, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }
}
