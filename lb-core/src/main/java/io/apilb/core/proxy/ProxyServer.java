package io.apilb.core.proxy;

import io.apilb.core.backend.BackendPool;
import io.apilb.core.backend.Termination;
import io.apilb.core.balance.Selector;
import io.apilb.core.config.ApilbConfig;
import io.apilb.core.config.ListenerConfig;
import io.apilb.core.transport.Transport;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.DefaultThreadFactory;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The data plane: binds every listener and proxies accepted connections to the pool's backends.
 * Accepting and relaying share one event loop group of one thread per core; each connection's
 * two legs live on one loop.
 *
 * <p>{@link #start()} and {@link #shutdown(Duration)} block and must not be called from an event loop.
 */
public final class ProxyServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ProxyServer.class);

    private final ApilbConfig config;
    private final Transport transport;
    private final FrontendStats stats = new FrontendStats();
    private final Set<FrontendHandler> connections = ConcurrentHashMap.newKeySet();
    private final AtomicLong ids = new AtomicLong();
    private final BackendResolver resolver = new BackendResolver();
    private final List<Channel> serverChannels = new ArrayList<>();
    private final EventLoopGroup group;
    private volatile ProxyContext context;

    public ProxyServer(ApilbConfig config, BackendPool pool) {
        this(config, pool, Transport.detect(), 0);
    }

    /**
     * @param ioThreads event loop threads; 0 means one per available core
     */
    public ProxyServer(ApilbConfig config, BackendPool pool, Transport transport, int ioThreads) {
        this.config = Objects.requireNonNull(config, "config");
        this.transport = Objects.requireNonNull(transport, "transport");
        Objects.requireNonNull(pool, "pool");
        int threads = ioThreads > 0 ? ioThreads : Runtime.getRuntime().availableProcessors();
        this.group = transport.newGroup(threads, new DefaultThreadFactory("apilb-io", true));
        BackendConnector connector = new SocketConnector(transport, config.tcp(), config.timeouts(), resolver);
        this.context = new ProxyContext(pool, Selector.of(config.balance()), connector, stats, config.retries(),
                config.health().failOpen(), config.limits().maxConnections(), connections, ids);
    }

    /** Binds every listener. On any failure, whatever was bound is closed again. */
    public synchronized void start() {
        for (int i = 0; i < config.listeners().size(); i++) {
            ListenerConfig l = config.listeners().get(i);
            ServerBootstrap b = new ServerBootstrap()
                    .group(group)
                    .channel(transport.serverChannelClass())
                    .option(ChannelOption.SO_BACKLOG, 4096)
                    .option(ChannelOption.SO_REUSEADDR, true)
                    .childOption(ChannelOption.AUTO_READ, false)
                    .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                    .childHandler(new ProxyInitializer(l.name(), () -> context, config.timeouts().idle()));
            transport.configureChildren(b, config.tcp());
            ChannelFuture bound = b.bind(l.address().host(), l.address().port()).awaitUninterruptibly();
            if (!bound.isSuccess()) {
                closeListeners();
                group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
                resolver.close();
                Throwable cause = bound.cause();
                throw new IllegalStateException("listeners[" + i + "].address: cannot listen on " + l.address() + ": "
                        + cause.getMessage(), cause);
            }
            Channel ch = bound.channel();
            serverChannels.add(ch);
            log.info("listener={} listening on {} ({})", l.name(), ch.localAddress(),
                    transport.name().toLowerCase(java.util.Locale.ROOT));
        }
    }

    /** The bound addresses, in listener order (resolves port 0). */
    public synchronized List<InetSocketAddress> boundAddresses() {
        List<InetSocketAddress> out = new ArrayList<>();
        for (Channel ch : serverChannels) {
            out.add((InetSocketAddress) ch.localAddress());
        }
        return out;
    }

    public FrontendStats stats() {
        return stats;
    }

    public Transport transport() {
        return transport;
    }

    /** Stops accepting new connections; established ones carry on. */
    public synchronized void stopAccepting() {
        closeListeners();
    }

    /**
     * Stops accepting, lets open connections finish for up to {@code grace}, closes what is left,
     * then releases the threads. Blocks for at most about {@code grace} plus a second.
     */
    public void shutdown(Duration grace) {
        stopAccepting();
        long deadline = System.nanoTime() + grace.toNanos();
        int open = stats.active();
        if (open > 0) {
            log.info("waiting up to {} ms for {} open connections", grace.toMillis(), open);
        }
        while (stats.active() > 0 && System.nanoTime() < deadline) {
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        int left = stats.active();
        if (left > 0) {
            log.warn("shutdown grace over: closing {} connections", left);
            for (FrontendHandler c : connections) {
                c.close(Termination.SHUTDOWN);
            }
        }
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        resolver.close();
    }

    @Override
    public void close() {
        shutdown(Duration.ZERO);
    }

    private void closeListeners() {
        for (Channel ch : serverChannels) {
            ch.close().syncUninterruptibly();
        }
        serverChannels.clear();
    }
}
