import Contracts
import Hummingbird
import NIOCore
import NIOHTTPTypes

/// Every request body must arrive in full within a time limit: a stalled or trickling body is
/// answered 408 (problem+json) and its connection closed, so no request holds a connection
/// waiting for bytes that never come. It is one timer on the connection's event loop, armed
/// only while a request is only partly read.
final class BodyDeadlineHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let timeout: Duration
    private var deadline: Scheduled<Void>?
    /// Whether a request's head arrived and its end has not, and that request's path.
    private var reading = false
    private var path = ""
    /// Requests read whose response has not ended, and whether a response has begun.
    private var unanswered = 0
    private var responding = false
    /// Once a body has expired nothing more is read or written on the connection.
    private var expired = false

    init(timeout: Duration) {
        self.timeout = timeout
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !expired else { return }
        switch unwrapInboundIn(data) {
        case .head(let head):
            unanswered += 1
            reading = true
            path = head.path ?? ""
        case .end:
            reading = false
            deadline?.cancel()
            deadline = nil
        case .body:
            break
        }
        context.fireChannelRead(data)
    }

    /// A request still being read when a read from the socket is done waits for more bytes: only
    /// then is its deadline armed (a request that arrives whole, the usual case, arms nothing).
    func channelReadComplete(context: ChannelHandlerContext) {
        if reading && deadline == nil && !expired { arm(context) }
        context.fireChannelReadComplete()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard !expired else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        switch unwrapOutboundIn(data) {
        case .head: responding = true
        case .end:
            responding = false
            unanswered -= 1
        case .body: break
        }
        context.write(data, promise: promise)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
        context.fireChannelInactive()
    }

    private func arm(_ context: ChannelHandlerContext) {
        deadline?.cancel()
        let (seconds, attoseconds) = timeout.components
        let delay = TimeAmount.nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        deadline = context.eventLoop.assumeIsolated().scheduleTask(in: delay) { [self] in expire(context) }
    }

    /// The body being read is late. When the stalled request is the only one unanswered and its
    /// answer has not begun, it is answered 408; in every case the connection closes.
    private func expire(_ context: ChannelHandlerContext) {
        deadline = nil
        expired = true
        let channel = context.channel
        guard unanswered == 1, !responding else {
            channel.close(promise: nil)
            return
        }
        let problem = Problem(FleetError(.requestTimeout, "the body did not arrive within \(timeout)"))
        let body = problem.body(instance: String(path.prefix { $0 != "?" }))
        var head = HTTPResponse(status: problem.status)
        head.headerFields[.contentType] = "application/problem+json"
        head.headerFields[.contentLength] = String(body.count)
        head.headerFields[.connection] = "close"
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(ByteBuffer(bytes: body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }
}
