package io.apilb.admin;

import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.timeout.IdleStateHandler;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The pipeline of one admin connection: request deadline, idle timeout, HTTP/1.1 codec with size
 * limits, body aggregation with a JSON 413, then {@link AdminHttpHandler}. Limits:
 * {@code admin.requestTimeout} for a request to arrive ({@link RequestDeadline}), request line
 * 4 KiB, headers 8 KiB (431 beyond), body 64 KiB (413 beyond); a connection idle between requests
 * closes after 60 s. ({@code admin.maxConnections} is {@link ConnectionLimit}'s, before this.)
 *
 * <p>Runs on the admin event loop when a connection is registered.
 */
final class AdminChannelInitializer extends ChannelInitializer<SocketChannel> {
    static final int MAX_LINE_BYTES = 4 * 1024;
    static final int MAX_HEADER_BYTES = 8 * 1024;
    static final int MAX_BODY_BYTES = 64 * 1024;
    static final int IDLE_SECONDS = 60;

    private final Supplier<AdminHttpHandler> handlers;
    private final Duration requestTimeout;

    AdminChannelInitializer(Supplier<AdminHttpHandler> handlers, Duration requestTimeout) {
        this.handlers = handlers;
        this.requestTimeout = requestTimeout;
    }

    @Override
    protected void initChannel(SocketChannel ch) {
        RequestDeadline deadline = new RequestDeadline(requestTimeout);
        ch.pipeline()
                .addLast(deadline)
                .addLast(new IdleStateHandler(0, 0, IDLE_SECONDS, TimeUnit.SECONDS))
                .addLast(new HttpServerCodec(new HttpDecoderConfig()
                        .setMaxInitialLineLength(MAX_LINE_BYTES)
                        .setMaxHeaderSize(MAX_HEADER_BYTES)))
                .addLast(new BodyLimit(deadline))
                .addLast(deadline.completion())
                .addLast(handlers.get());
    }

    /**
     * Aggregates bodies up to the limit; beyond it answers a JSON 413. On a kept-alive connection the
     * aggregator then reads and drops the rest of the body and the connection serves the next request:
     * closing at once would make the client's kernel reset the connection while it is still sending,
     * and the client would never see the 413. The channel reads only when asked and no request comes
     * out of a dropped one, so this asks for reads itself until the body is gone, and once more for
     * the next request; the dropped request's deadline ends with it.
     */
    private static final class BodyLimit extends HttpObjectAggregator {
        private final RequestDeadline deadline;
        private boolean dropping;
        private boolean readOn;

        BodyLimit(RequestDeadline deadline) {
            super(MAX_BODY_BYTES);
            this.deadline = deadline;
        }

        @Override
        protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized) {
            boolean keepAlive = HttpUtil.isKeepAlive(oversized);
            dropping = keepAlive;
            readOn = keepAlive;
            ctx.writeAndFlush(AdminResponse.error(HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE,
                                    "request body too large (expected: at most " + MAX_BODY_BYTES + " bytes)")
                            .toNetty(keepAlive, false))
                    .addListener(keepAlive ? ChannelFutureListener.CLOSE_ON_FAILURE : ChannelFutureListener.CLOSE);
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
            if (dropping && msg instanceof LastHttpContent) {
                dropping = false;
                deadline.disarm();
            }
            super.channelRead(ctx, msg);
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) throws Exception {
            if (readOn) {
                readOn = dropping;
                ctx.read();
            }
            super.channelReadComplete(ctx);
        }
    }
}
