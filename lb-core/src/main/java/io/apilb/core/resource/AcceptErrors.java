package io.apilb.core.resource;

import io.netty.channel.ChannelConfig;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;

import java.util.concurrent.TimeUnit;

/**
 * The handler of a listening channel: a failed {@code accept} surfaces here as
 * {@code exceptionCaught}. A local shortage (no descriptor for the new socket, mostly) is counted
 * and logged by {@link LocalResources}, and accepting pauses for {@value #PAUSE_MILLIS} ms so that a
 * listener does not spin on a backlog it cannot take; the connections wait in the backlog and are
 * taken once descriptors are free. Netty's own acceptor pauses a second on any error; descriptors
 * come back as soon as connections close, so the pause here is short and new clients are served
 * again promptly. Other errors go on down the pipeline as before. Open connections are never touched.
 *
 * <p>Runs on the listener's event loop.
 */
public final class AcceptErrors extends ChannelInboundHandlerAdapter {
    static final long PAUSE_MILLIS = 50;

    private final String where;

    /** @param listener the listener's name, for the log */
    public AcceptErrors(String listener) {
        this.where = "accept listener=" + listener;
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (LocalResources.process().record(cause, where) == null) {
            ctx.fireExceptionCaught(cause);
            return;
        }
        ChannelConfig config = ctx.channel().config();
        if (config.isAutoRead()) {
            config.setAutoRead(false);
            ctx.executor().schedule(() -> config.setAutoRead(true), PAUSE_MILLIS, TimeUnit.MILLISECONDS);
        }
    }
}
