package io.apilb.admin;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * {@code admin.maxConnections}: on the admin server channel, before a new connection is registered,
 * closes it when the limit is reached. A flood of connections then costs an accept and a close each,
 * never a pipeline or a turn of the loop that serves the connections already open.
 *
 * <p>Runs on the admin accept thread; connections are counted off from the admin event loop.
 */
@ChannelHandler.Sharable
final class ConnectionLimit extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(ConnectionLimit.class);
    private static final long WARN_EVERY_NANOS = TimeUnit.MINUTES.toNanos(1);

    private final int max;
    private final AtomicInteger open = new AtomicInteger();
    private long lastWarning = System.nanoTime() - WARN_EVERY_NANOS;

    ConnectionLimit(int max) {
        this.max = max;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        Channel child = (Channel) msg;
        if (open.get() >= max) {
            long now = System.nanoTime();
            if (now - lastWarning >= WARN_EVERY_NANOS) {
                lastWarning = now;
                log.warn("admin.maxConnections: {} admin connections open, closing new ones (logged once a minute)",
                        max);
            }
            child.unsafe().closeForcibly();
            return;
        }
        // Only this thread adds, so the count cannot overshoot between the check and here.
        open.incrementAndGet();
        child.closeFuture().addListener(f -> open.decrementAndGet());
        ctx.fireChannelRead(child);
    }
}
