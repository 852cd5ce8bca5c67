package io.apilb.core.proxy;

import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;

import java.util.function.Supplier;

/**
 * Sets up each accepted client channel: the per-source limits first ({@link SourceLimitHandler},
 * which closes a refused connection at once), then its {@link FrontendHandler}, which also keeps
 * the idle timer. Reads the current {@link ProxyContext} per connection, so a reload applies to
 * new connections only.
 */
final class ProxyInitializer extends ChannelInitializer<Channel> {
    private final Supplier<String> listener;
    private final Supplier<ProxyContext> context;

    /** @param listener the listener's name, read per connection because a reload may rename it */
    ProxyInitializer(Supplier<String> listener, Supplier<ProxyContext> context) {
        this.listener = listener;
        this.context = context;
    }

    @Override
    protected void initChannel(Channel ch) {
        ProxyContext ctx = context.get();
        if (SourceLimitHandler.admit(ch, ctx.stats)) {
            ch.pipeline().addLast("frontend", new FrontendHandler(ctx, listener.get()));
        }
    }
}
