package io.apilb.core.proxy;

import io.apilb.core.backend.BackendPool;
import io.apilb.core.backend.Termination;
import io.apilb.core.balance.Selector;
import io.apilb.core.config.ApilbConfig;
import io.apilb.core.config.ListenerConfig;
import io.apilb.core.resource.AcceptErrors;
import io.apilb.core.resource.DescriptorBudget;
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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
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
 * <p>{@link #start()}, {@link #reconfigure(ApilbConfig)} and {@link #shutdown(Duration)} block and
 * must not be called from an event loop; they are serialised by the caller (the launcher's main or
 * control thread).
 */
public final class ProxyServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ProxyServer.class);

    private final BackendPool pool;
    private final Transport transport;
    private final FrontendStats stats = new FrontendStats();
    private final Set<FrontendHandler> connections = ConcurrentHashMap.newKeySet();
    private final AtomicLong ids = new AtomicLong();
    private final BackendResolver resolver = new BackendResolver();
    private final Map<ListenerConfig, Channel> listeners = new LinkedHashMap<>();
    private final EventLoopGroup group;
    private volatile ApilbConfig config;
    private volatile ProxyContext context;

    public ProxyServer(ApilbConfig config, BackendPool pool) {
        this(config, pool, Transport.detect(), 0);
    }

    /**
     * @param ioThreads event loop threads; 0 means one per available core
     */
    public ProxyServer(ApilbConfig config, BackendPool pool, Transport transport, int ioThreads) {
        this.config = Objects.requireNonNull(config, "config");
        this.pool = Objects.requireNonNull(pool, "pool");
        this.transport = Objects.requireNonNull(transport, "transport");
        int threads = ioThreads > 0 ? ioThreads : Runtime.getRuntime().availableProcessors();
        this.group = transport.newGroup(threads, new DefaultThreadFactory("apilb-io", true));
        this.context = newContext(config);
    }

    private ProxyContext newContext(ApilbConfig c) {
        BackendConnector connector = new SocketConnector(transport, c.tcp(), c.timeouts(), resolver);
        return new ProxyContext(pool, Selector.of(c.balance()), connector, stats, c.retries(), c.health().failOpen(),
                DescriptorBudget.process().apply(c.limits().maxConnections()), c.timeouts().idle().toMillis(),
                connections, ids);
    }

    /** Binds every listener. On any failure, whatever was bound is closed again and the threads released. */
    public synchronized void start() {
        try {
            listeners.putAll(bind(config, config.listeners()));
        } catch (IllegalStateException e) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            resolver.close();
            throw e;
        }
    }

    /**
     * Applies a reloaded config: new connections use the new policy, timeouts and limits (open
     * ones keep theirs); listeners that are new are bound, those gone are closed, unchanged ones
     * keep accepting throughout. Binds first: if a new listener cannot bind, nothing changes and
     * the exception says which.
     */
    public synchronized void reconfigure(ApilbConfig next) {
        Objects.requireNonNull(next, "next");
        List<ListenerConfig> toBind = new ArrayList<>();
        for (ListenerConfig l : next.listeners()) {
            if (!listeners.containsKey(l)) {
                toBind.add(l);
            }
        }
        Map<ListenerConfig, Channel> bound = bind(next, toBind);
        context = newContext(next);
        config = next;
        listeners.entrySet().removeIf(e -> {
            if (next.listeners().contains(e.getKey())) {
                return false;
            }
            log.info("listener={} closed ({})", e.getKey().name(), e.getKey().address());
            e.getValue().close().syncUninterruptibly();
            return true;
        });
        listeners.putAll(bound);
    }

    private Map<ListenerConfig, Channel> bind(ApilbConfig c, List<ListenerConfig> toBind) {
        Map<ListenerConfig, Channel> bound = new LinkedHashMap<>();
        for (ListenerConfig l : toBind) {
            ServerBootstrap b = new ServerBootstrap()
                    .group(group)
                    .channel(transport.serverChannelClass())
                    .option(ChannelOption.SO_BACKLOG, 4096)
                    .option(ChannelOption.SO_REUSEADDR, true)
                    .handler(new AcceptErrors(l.name()))
                    .childOption(ChannelOption.AUTO_READ, false)
                    .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                    .childHandler(new ProxyInitializer(l.name(), () -> context));
            transport.configureChildren(b, c.tcp());
            ChannelFuture f = b.bind(l.address().host(), l.address().port()).awaitUninterruptibly();
            if (!f.isSuccess()) {
                bound.values().forEach(ch -> ch.close().syncUninterruptibly());
                int index = c.listeners().indexOf(l);
                throw new IllegalStateException("listeners[" + index + "].address: cannot listen on " + l.address()
                        + ": " + f.cause().getMessage(), f.cause());
            }
            bound.put(l, f.channel());
            log.info("listener={} listening on {} ({})", l.name(), AccessLog.format(f.channel().localAddress()),
                    transport.name().toLowerCase(Locale.ROOT));
        }
        return bound;
    }

    /** The bound addresses, in listener order (resolves port 0). */
    public synchronized List<InetSocketAddress> boundAddresses() {
        List<InetSocketAddress> out = new ArrayList<>();
        for (Channel ch : listeners.values()) {
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
        for (Channel ch : listeners.values()) {
            ch.close().syncUninterruptibly();
        }
        listeners.clear();
    }

    /**
     * Stops accepting, lets open connections finish for up to {@code grace}, closes what is left,
     * then releases the threads. Blocks for at most about {@code grace} plus two seconds.
     */
    public void shutdown(Duration grace) {
        stopAccepting();
        int open = stats.active();
        if (open > 0) {
            log.info("waiting up to {} ms for {} open connections", grace.toMillis(), open);
        }
        if (!stats.awaitNoActive(grace)) {
            log.warn("shutdown grace over: closing {} connections", stats.active());
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
}
