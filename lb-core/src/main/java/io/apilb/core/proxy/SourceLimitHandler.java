package io.apilb.core.proxy;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;

import java.net.InetAddress;
import java.net.InetSocketAddress;

/**
 * Holds a client connection's slot in the {@link SourceLimiter} and gives it back when the
 * connection closes. {@link #admit} runs when the channel is set up, before any other handler is
 * added: a refused connection is closed there and never reaches {@link FrontendHandler}, so it
 * never dials a master or takes a slot of {@code limits.maxConnections}. Runs on the channel's
 * event loop.
 */
final class SourceLimitHandler extends ChannelInboundHandlerAdapter {
    private final SourceLimiter limiter;
    private final InetAddress key;

    private SourceLimitHandler(SourceLimiter limiter, InetAddress key) {
        this.limiter = limiter;
        this.key = key;
    }

    /**
     * Admits {@code ch} under the per-source limits: adds the handler that gives its slot back on
     * close (none for an exempt client), or closes and counts a refused connection.
     *
     * @return true when the connection may go on to the next handler
     */
    static boolean admit(Channel ch, FrontendStats stats) {
        if (!(ch.remoteAddress() instanceof InetSocketAddress remote)) {
            // Not IP (a test's embedded channel): nothing to key on.
            return true;
        }
        SourceLimiter limiter = stats.sources();
        SourceLimiter.Admission a = limiter.admit(remote.getAddress());
        if (a.refused() != null) {
            stats.rejectedAtAccept(a.refused());
            ch.close();
            return false;
        }
        if (a.key() != null) {
            ch.pipeline().addLast("source-limit", new SourceLimitHandler(limiter, a.key()));
        }
        return true;
    }

    @Override
    public void channelInactive(ChannelHandlerContext c) {
        limiter.release(key);
        c.fireChannelInactive();
    }
}
