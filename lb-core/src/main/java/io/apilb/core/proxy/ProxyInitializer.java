package io.apilb.core.proxy;

import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.handler.timeout.IdleStateHandler;

import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Sets up each accepted client channel: an idle timer over both directions, then the
 * {@link FrontendHandler}. Reads the current {@link ProxyContext} per connection, so a reload
 * applies to new connections only.
 */
final class ProxyInitializer extends ChannelInitializer<Channel> {
    private final String listener;
    private final Supplier<ProxyContext> context;

    ProxyInitializer(String listener, Supplier<ProxyContext> context) {
        this.listener = listener;
        this.context = context;
    }

    @Override
    protected void initChannel(Channel ch) {
        ProxyContext ctx = context.get();
        if (ctx.idleMillis > 0) {
            // Reads and writes on the client leg are exactly the bytes of both directions.
            ch.pipeline().addLast("idle", new IdleStateHandler(0, 0, ctx.idleMillis, TimeUnit.MILLISECONDS));
        }
        ch.pipeline().addLast("frontend", new FrontendHandler(ctx, listener));
    }
}
