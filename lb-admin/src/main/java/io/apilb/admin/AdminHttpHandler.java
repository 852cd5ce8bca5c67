package io.apilb.admin;

import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
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

import java.util.Map;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;

/**
 * Serves one aggregated request at a time: authentication, cross-site check, routing, the handler,
 * the answer. Handlers of blocking routes run on the worker executor; meanwhile the channel stops
 * reading so that pipelined requests are still answered in order.
 *
 * <p>Shared by all admin connections; runs on the admin event loop.
 */
@ChannelHandler.Sharable
final class AdminHttpHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
    private static final Logger log = LoggerFactory.getLogger(AdminHttpHandler.class);

    private final Router router;
    private final TokenAuth auth;
    private final Executor worker;

    AdminHttpHandler(Router router, TokenAuth auth, Executor worker) {
        this.router = router;
        this.auth = auth;
        this.worker = worker;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
        DecoderResult decoded = req.decoderResult();
        if (decoded.isFailure()) {
            // The decoder discards everything after a bad message: answer, then close.
            write(ctx, malformed(decoded.cause()), false, false);
            return;
        }
        if (req.protocolVersion().majorVersion() != 1) {
            write(ctx, AdminResponse.error(HttpResponseStatus.HTTP_VERSION_NOT_SUPPORTED,
                    "protocol: " + req.protocolVersion() + " (expected: HTTP/1.0 or HTTP/1.1)"), false, false);
            return;
        }
        boolean keepAlive = HttpUtil.isKeepAlive(req);
        boolean head = HttpMethod.HEAD.equals(req.method());
        String uri = req.uri();
        int query = uri.indexOf('?');
        String path = query < 0 ? uri : uri.substring(0, query);
        if (!path.startsWith("/")) {
            write(ctx, AdminResponse.error(HttpResponseStatus.BAD_REQUEST, "request target: " + uri
                    + " (expected: an absolute path)"), false, head);
            return;
        }
        AdminRequest request = new AdminRequest(req.method(), path, req.headers(),
                ByteBufUtil.getBytes(req.content()), Map.of());

        boolean mutation = !HttpMethod.GET.equals(req.method()) && !head;
        AdminResponse refused = auth.check(request, mutation);
        if (refused == null && mutation) {
            refused = CrossSiteGuard.check(request, auth.hasToken());
        }
        if (refused != null) {
            write(ctx, refused, keepAlive, head);
            return;
        }
        Router.Match match = router.route(req.method(), path);
        if (match.error() != null) {
            write(ctx, match.error(), keepAlive, head);
            return;
        }
        AdminRequest routed = request.withPathParams(match.params());
        if (!match.route().blocking()) {
            write(ctx, invoke(match.route(), routed), keepAlive, head);
            return;
        }
        ctx.channel().config().setAutoRead(false);
        try {
            worker.execute(() -> {
                AdminResponse res = invoke(match.route(), routed);
                try {
                    ctx.executor().execute(() -> {
                        write(ctx, res, keepAlive, head);
                        ctx.channel().config().setAutoRead(true);
                    });
                } catch (RejectedExecutionException e) {
                    // The server closed while the handler ran: nobody is left to answer.
                    log.debug("admin {} {} answered after close", routed.method(), routed.path());
                }
            });
        } catch (RejectedExecutionException e) {
            ctx.channel().config().setAutoRead(true);
            write(ctx, AdminResponse.error(HttpResponseStatus.SERVICE_UNAVAILABLE, "admin server is stopping"),
                    false, head);
        }
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

    static void write(ChannelHandlerContext ctx, AdminResponse res, boolean keepAlive, boolean head) {
        if (!ctx.channel().isActive()) {
            return;
        }
        if (keepAlive) {
            ctx.writeAndFlush(res.toNetty(true, head)).addListener(ChannelFutureListener.CLOSE_ON_FAILURE);
        } else {
            ctx.writeAndFlush(res.toNetty(false, head)).addListener(ChannelFutureListener.CLOSE);
        }
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
