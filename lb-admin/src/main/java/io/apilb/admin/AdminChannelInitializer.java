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
import io.netty.handler.timeout.IdleStateHandler;

import java.util.concurrent.TimeUnit;

/**
 * The pipeline of one admin connection: idle timeout, HTTP/1.1 codec with size limits, body
 * aggregation with a JSON 413, then {@link AdminHttpHandler}. Limits: request line 4 KiB, headers
 * 8 KiB (431 beyond), body 64 KiB (413 beyond); an idle connection closes after 60 s.
 *
 * <p>Runs on the admin event loop when a connection is accepted.
 */
final class AdminChannelInitializer extends ChannelInitializer<SocketChannel> {
    static final int MAX_LINE_BYTES = 4 * 1024;
    static final int MAX_HEADER_BYTES = 8 * 1024;
    static final int MAX_BODY_BYTES = 64 * 1024;
    static final int IDLE_SECONDS = 60;

    private final AdminHttpHandler handler;

    AdminChannelInitializer(AdminHttpHandler handler) {
        this.handler = handler;
    }

    @Override
    protected void initChannel(SocketChannel ch) {
        ch.pipeline()
                .addLast(new IdleStateHandler(0, 0, IDLE_SECONDS, TimeUnit.SECONDS))
                .addLast(new HttpServerCodec(new HttpDecoderConfig()
                        .setMaxInitialLineLength(MAX_LINE_BYTES)
                        .setMaxHeaderSize(MAX_HEADER_BYTES)))
                .addLast(new BodyLimit())
                .addLast(handler);
    }

    /**
     * Aggregates bodies up to the limit; beyond it answers a JSON 413. On a kept-alive connection the
     * aggregator then reads and drops the rest of the body and the connection serves the next request:
     * closing at once would make the client's kernel reset the connection while it is still sending,
     * and the client would never see the 413.
     */
    private static final class BodyLimit extends HttpObjectAggregator {
        BodyLimit() {
            super(MAX_BODY_BYTES);
        }

        @Override
        protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized) {
            boolean keepAlive = HttpUtil.isKeepAlive(oversized);
            ctx.writeAndFlush(AdminResponse.error(HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE,
                                    "request body too large (expected: at most " + MAX_BODY_BYTES + " bytes)")
                            .toNetty(keepAlive, false))
                    .addListener(keepAlive ? ChannelFutureListener.CLOSE_ON_FAILURE : ChannelFutureListener.CLOSE);
        }
    }
}
