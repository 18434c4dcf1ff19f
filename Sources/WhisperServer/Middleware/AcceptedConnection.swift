import HummingbirdCore
import NIOCore

/// An accepted HTTP/1.1 connection on its way to ``TimedHTTP1Channel/handle(value:logger:)``: Hummingbird's async
/// channel, and a ``DroppedConnectionCloser`` that closes the connection if it never gets there.
struct AcceptedConnection: ServerChildChannelValue {
    let asyncChannel: HTTP1Channel.Value
    let closer: DroppedConnectionCloser

    var channel: any Channel { asyncChannel.channel }
}

/// Closes a connection once nothing refers to it any more, finishing its outbound writer first.
///
/// swift-nio stops the process when the last reference to an async channel's writer goes before the writer is
/// finished. Hummingbird finishes it when it handles a connection, but a connection accepted while the server stops
/// (the listener closes while the connection is being set up, e.g. one queued behind the connection limit) is dropped
/// before it is handled: the process used to crash, and the connection would have stayed open with nobody reading it.
/// This object holds the writer for as long as the connection is referred to; when it goes, it finishes the writer
/// and closes the connection. Both are harmless for a connection that was handled (Hummingbird has already done them).
final class DroppedConnectionCloser: Sendable {
    private let finishWriter: @Sendable () -> Void
    private let channel: any Channel

    /// - Parameters:
    ///   - writer: the async channel's outbound writer.
    ///   - channel: the connection.
    init<Outbound: Sendable>(writer: NIOAsyncChannelOutboundWriter<Outbound>, channel: any Channel) {
        self.finishWriter = { writer.finish() }
        self.channel = channel
    }

    deinit {
        finishWriter()
        channel.close(promise: nil)
    }
}
