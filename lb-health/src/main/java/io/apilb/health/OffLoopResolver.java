package io.apilb.health;

import io.netty.resolver.AddressResolver;
import io.netty.resolver.AddressResolverGroup;
import io.netty.resolver.DefaultNameResolver;
import io.netty.util.concurrent.DefaultEventExecutor;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.EventExecutor;

import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

/**
 * Resolves backend names with the JVM's resolver (hosts file, cache, system DNS) on a thread of its
 * own. Netty's default resolver blocks the channel's event loop while it looks a name up, which would
 * stall every probe behind a slow DNS server and make their timeouts lie. IP literals resolve at once.
 */
final class OffLoopResolver extends AddressResolverGroup<InetSocketAddress> {
    private final EventExecutor executor = new DefaultEventExecutor(new DefaultThreadFactory("apilb-health-dns", true));

    @Override
    protected AddressResolver<InetSocketAddress> newResolver(EventExecutor ignored) {
        return new DefaultNameResolver(executor).asAddressResolver();
    }

    @Override
    public void close() {
        super.close();
        executor.shutdownGracefully(0, 0, TimeUnit.SECONDS);
    }
}
