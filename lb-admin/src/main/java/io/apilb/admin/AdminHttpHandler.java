package io.apilb.admin;

import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.handler.timeout.IdleStateEvent;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayDeque;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;

/**
 * Serves the requests of one admin connection strictly one after the other: authentication,
 * cross-site check, routing, the handler, the answer. The channel does not read on its own; the
 * next request is taken only once the answer to the last one is written. Requests that arrived
 * together (pipelined) wait here, because the HTTP decoder hands on everything a read brought in,
 * whether or not the channel reads on; a client that does not read its answers is not read either.
 *
 * <p>Where a handler runs: quick routes ({@code /healthz}, the JSON reads) on the event loop;
 * blocking reads ({@code /metrics}) on the read workers; changes (reload, state changes) on the one
 * change worker, in arrival order. So a burst of scrapes never queues ahead of a change, and a slow
 * reload or state change never delays {@code /healthz} or a scrape. Both queues hold as many tasks
 * as there may be admin connections, each with at most one request in flight: neither refuses work
 * unless the server is stopping.
 *
 * <p>One per connection; runs on the admin event loop.
 */
final class AdminHttpHandler extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(AdminHttpHandler.class);
    // More than a client pipelines in practice; a connection beyond it is abusing the port.
    static final int MAX_WAITING = 64;

    private final Router router;
    private final TokenAuth auth;
    private final CrossSiteGuard crossSite;
    private final ExecutorService reads;
    private final ExecutorService changes;
    private final ArrayDeque<FullHttpRequest> waiting = new ArrayDeque<>();
    private boolean busy;

    AdminHttpHandler(Router router, TokenAuth auth, CrossSiteGuard crossSite, ExecutorService reads,
                     ExecutorService changes) {
        this.router = router;
        this.auth = auth;
        this.crossSite = crossSite;
        this.reads = reads;
        this.changes = changes;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        ctx.read();
        ctx.fireChannelActive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof FullHttpRequest req)) {
            ctx.fireChannelRead(msg);
            return;
        }
        if (!busy) {
            serve(ctx, req);
        } else if (waiting.size() < MAX_WAITING) {
            waiting.add(req);
        } else {
            req.release();
            log.debug("admin connection {} pipelined more than {} requests, closing", ctx.channel().remoteAddress(),
                    MAX_WAITING);
            ctx.close();
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        for (FullHttpRequest req; (req = waiting.poll()) != null; ) {
            req.release();
        }
        ctx.fireChannelInactive();
    }

    private void serve(ChannelHandlerContext ctx, FullHttpRequest req) {
        busy = true;
        try {
            handle(ctx, req);
        } finally {
            req.release();
        }
    }

    /** The last answer is written: the next waiting request, or read for one. */
    private void next(ChannelHandlerContext ctx) {
        busy = false;
        FullHttpRequest req = waiting.poll();
        if (req != null) {
            serve(ctx, req);
        } else {
            ctx.read();
        }
    }

    private void handle(ChannelHandlerContext ctx, FullHttpRequest req) {
        DecoderResult decoded = req.decoderResult();
        if (decoded.isFailure()) {
            // The decoder discards everything after a bad message: answer, then close.
            respond(ctx, malformed(decoded.cause()), false, false);
            return;
        }
        if (req.protocolVersion().majorVersion() != 1) {
            respond(ctx, AdminResponse.error(HttpResponseStatus.HTTP_VERSION_NOT_SUPPORTED,
                    "protocol: " + req.protocolVersion() + " (expected: HTTP/1.0 or HTTP/1.1)"), false, false);
            return;
        }
        boolean keepAlive = HttpUtil.isKeepAlive(req);
        boolean head = HttpMethod.HEAD.equals(req.method());
        String uri = req.uri();
        int query = uri.indexOf('?');
        String path = query < 0 ? uri : uri.substring(0, query);
        if (!path.startsWith("/")) {
            respond(ctx, AdminResponse.error(HttpResponseStatus.BAD_REQUEST, "request target: " + uri
                    + " (expected: an absolute path)"), false, head);
            return;
        }
        AdminRequest request = new AdminRequest(req.method(), path, req.headers(),
                ByteBufUtil.getBytes(req.content()), Map.of());

        boolean mutation = !HttpMethod.GET.equals(req.method()) && !head;
        AdminResponse refused = auth.check(request, mutation);
        if (refused == null) {
            refused = crossSite.check(request, mutation, auth.verifies(request));
        }
        if (refused != null) {
            respond(ctx, refused, keepAlive, head);
            return;
        }
        Router.Match match = router.route(req.method(), path);
        if (match.error() != null) {
            respond(ctx, match.error(), keepAlive, head);
            return;
        }
        AdminRequest routed = request.withPathParams(match.params());
        if (!match.route().blocking()) {
            respond(ctx, invoke(match.route(), routed), keepAlive, head);
            return;
        }
        ExecutorService lane = mutation ? changes : reads;
        try {
            lane.execute(() -> {
                AdminResponse res = invoke(match.route(), routed);
                try {
                    ctx.executor().execute(() -> respond(ctx, res, keepAlive, head));
                } catch (RejectedExecutionException e) {
                    // The server closed while the handler ran: nobody is left to answer.
                    log.debug("admin {} {} answered after close", routed.method(), routed.path());
                }
            });
        } catch (RejectedExecutionException e) {
            respond(ctx, AdminResponse.error(HttpResponseStatus.SERVICE_UNAVAILABLE, lane.isShutdown()
                    ? "admin server is stopping"
                    : "too many admin requests waiting (expected: at most admin.maxConnections)"), false, head);
        }
    }

    /** Writes the answer; on a kept-alive connection, once it is written, goes on with the next request. */
    private void respond(ChannelHandlerContext ctx, AdminResponse res, boolean keepAlive, boolean head) {
        if (!ctx.channel().isActive()) {
            return;
        }
        if (!keepAlive) {
            ctx.writeAndFlush(res.toNetty(false, head)).addListener(ChannelFutureListener.CLOSE);
            return;
        }
        ctx.writeAndFlush(res.toNetty(true, head)).addListener((ChannelFutureListener) f -> {
            if (!f.isSuccess()) {
                ctx.close();
                return;
            }
            // Later, not from inside this listener: a write that completes at once would otherwise
            // serve every waiting request in one ever deeper call chain.
            ctx.executor().execute(() -> next(ctx));
        });
    }

    private static AdminResponse invoke(Router.Route route, AdminRequest request) {
        try {
            return route.handler().handle(request);
        } catch (Exception | LinkageError e) {
            log.warn("admin {} {} failed", request.method(), request.path(), e);
            return AdminResponse.error(HttpResponseStatus.INTERNAL_SERVER_ERROR, "internal error (see the apilb log)");
        }
    }

    private static AdminResponse malformed(Throwable cause) {
        if (cause instanceof TooLongHttpHeaderException) {
            return AdminResponse.error(HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
                    "request headers too large (expected: at most " + AdminChannelInitializer.MAX_HEADER_BYTES + " bytes)");
        }
        if (cause instanceof TooLongHttpLineException) {
            return AdminResponse.error(HttpResponseStatus.REQUEST_URI_TOO_LONG,
                    "request line too long (expected: at most " + AdminChannelInitializer.MAX_LINE_BYTES + " bytes)");
        }
        if (cause instanceof TooLongFrameException) {
            return AdminResponse.error(HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, "request too large");
        }
        return AdminResponse.error(HttpResponseStatus.BAD_REQUEST, "malformed request: " + cause.getMessage());
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt instanceof IdleStateEvent) {
            ctx.close();
            return;
        }
        super.userEventTriggered(ctx, evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.debug("admin connection {} failed", ctx.channel().remoteAddress(), cause);
        ctx.close();
    }
}
