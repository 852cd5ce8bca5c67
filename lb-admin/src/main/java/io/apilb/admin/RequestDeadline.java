package io.apilb.admin;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;

import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * The deadline for one request to arrive ({@code admin.requestTimeout}): armed by the first byte of
 * a request, disarmed when the whole request has been decoded, so a client that trickles one byte
 * at a time cannot hold an admin connection beyond it (an idle timer would restart on every byte).
 * On expiry the client gets a JSON 408 and the connection is closed.
 *
 * <p>Sits in front of the HTTP codec to see raw bytes; {@link #completion()} goes after the body
 * aggregator to see complete requests. While a request is served the channel does not read, so
 * the next deadline starts with the next request's bytes. One per connection, on its event loop.
 */
final class RequestDeadline extends ChannelInboundHandlerAdapter {
    private final Duration timeout;
    private ScheduledFuture<?> timer;

    RequestDeadline(Duration timeout) {
        this.timeout = timeout;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (timer == null && msg instanceof ByteBuf bytes && bytes.isReadable()) {
            timer = ctx.executor().schedule(() -> expire(ctx), timeout.toNanos(), TimeUnit.NANOSECONDS);
        }
        ctx.fireChannelRead(msg);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        disarm();
        ctx.fireChannelInactive();
    }

    /** The handler that disarms the deadline; goes right after the aggregator. */
    ChannelHandler completion() {
        return new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                if (msg instanceof FullHttpRequest) {
                    disarm();
                }
                ctx.fireChannelRead(msg);
            }
        };
    }

    /** Ends the deadline of the current request, which is complete or was answered without being read whole. */
    void disarm() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }

    private void expire(ChannelHandlerContext ctx) {
        timer = null;
        // Through the whole pipeline, so that the HTTP encoder writes it.
        ctx.channel().writeAndFlush(AdminResponse.error(HttpResponseStatus.REQUEST_TIMEOUT,
                        "request incomplete after admin.requestTimeout (expected: a whole request within "
                                + timeout.toMillis() + " ms of its first byte)")
                        .toNetty(false, false))
                .addListener(ChannelFutureListener.CLOSE);
    }
}
