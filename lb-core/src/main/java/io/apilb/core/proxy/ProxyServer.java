package io.apilb.core.proxy;

import io.apilb.core.backend.BackendPool;
import io.apilb.core.backend.Termination;
import io.apilb.core.balance.Selector;
import io.apilb.core.config.ApilbConfig;
import io.apilb.core.config.HostPort;
import io.apilb.core.config.Limits;
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
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
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
 * <p>The settings come from the caller, which owns the config: {@link #start(ApilbConfig)} binds the
 * first listeners, a reload {@link #prepare prepares} the next config (its new listeners bound but not
 * accepting) and then {@link #commit commits} or {@link #rollback rolls back} it. Listeners are known by
 * address: one whose address stays keeps its socket (and its open connections) through a reload, even
 * when renamed.
 *
 * <p>{@link #start}, {@link #prepare}, {@link #commit}, {@link #rollback} and {@link #shutdown(Duration)}
 * block and must not be called from an event loop; they are serialised by the caller (the launcher's
 * main or control thread).
 */
public final class ProxyServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ProxyServer.class);

    private final BackendPool pool;
    private final Transport transport;
    private final FrontendStats stats = new FrontendStats();
    private final Set<FrontendHandler> connections = ConcurrentHashMap.newKeySet();
    private final AtomicLong ids = new AtomicLong();
    private final BackendResolver resolver = new BackendResolver();
    private final List<Listener> listeners = new ArrayList<>();
    private final EventLoopGroup group;
    private volatile ProxyContext context;

    public ProxyServer(BackendPool pool) {
        this(pool, Transport.detect(), 0);
    }

    /**
     * @param ioThreads event loop threads; 0 means one per available core
     */
    public ProxyServer(BackendPool pool, Transport transport, int ioThreads) {
        this.pool = Objects.requireNonNull(pool, "pool");
        this.transport = Objects.requireNonNull(transport, "transport");
        int threads = ioThreads > 0 ? ioThreads : Runtime.getRuntime().availableProcessors();
        this.group = transport.newGroup(threads, new DefaultThreadFactory("apilb-io", true));
    }

    private ProxyContext newContext(ApilbConfig c) {
        BackendConnector connector = new SocketConnector(transport, c.tcp(), c.timeouts(), resolver);
        return new ProxyContext(pool, Selector.of(c.balance()), connector, stats, c.retries(), c.health().failOpen(),
                DescriptorBudget.process().apply(c.limits().maxConnections()), c.timeouts().idle().toMillis(),
                c.timeouts().clientHello().toMillis(), c.timeouts().firstByte().toMillis(), connections, ids);
    }

    /**
     * Binds every listener of {@code config} and starts accepting. On any failure, whatever was bound
     * is closed again and the threads released.
     */
    public synchronized void start(ApilbConfig config) {
        Objects.requireNonNull(config, "config");
        if (context != null) {
            throw new IllegalStateException("already started");
        }
        try {
            commit(prepare(config));
        } catch (RuntimeException | Error e) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            resolver.close();
            throw e;
        }
    }

    /**
     * Prepares {@code next} without changing what runs: builds its connection settings and binds the
     * listeners whose address is new, with accepting off (the kernel queues connections on them until
     * {@link #commit}, and {@link #rollback} resets those). If one cannot bind, the others bound here
     * are closed again and the exception names the listener.
     *
     * @throws IllegalStateException {@code listeners[i].address: cannot listen on ...}
     */
    public synchronized Prepared prepare(ApilbConfig next) {
        Objects.requireNonNull(next, "next");
        List<Listener> unmatched = new ArrayList<>(listeners);
        List<Listener> order = new ArrayList<>();
        List<String> names = new ArrayList<>();
        List<Listener> bound = new ArrayList<>();
        try {
            for (int i = 0; i < next.listeners().size(); i++) {
                ListenerConfig l = next.listeners().get(i);
                Listener same = take(unmatched, l.address());
                if (same == null) {
                    same = bind(next, l, i);
                    bound.add(same);
                }
                order.add(same);
                names.add(l.name());
            }
            return new Prepared(newContext(next), next.limits().perSource(), order, names, bound, unmatched);
        } catch (RuntimeException | Error e) {
            bound.forEach(b -> b.channel.close().syncUninterruptibly());
            throw e;
        }
    }

    private static Listener take(List<Listener> from, HostPort address) {
        for (Iterator<Listener> it = from.iterator(); it.hasNext(); ) {
            Listener l = it.next();
            if (l.address.equals(address)) {
                it.remove();
                return l;
            }
        }
        return null;
    }

    /**
     * Switches to a prepared config: new connections use its policy, timeouts and limits (open ones keep
     * theirs), its new listeners start accepting, those gone are closed; listeners whose address stayed
     * kept accepting throughout. Does no I/O that can fail.
     */
    public synchronized void commit(Prepared p) {
        context = p.context;
        stats.sources().configure(p.perSource);
        for (Listener gone : p.closed) {
            log.info("listener={} closed ({})", gone.name, gone.address);
            gone.channel.close().syncUninterruptibly();
        }
        for (int i = 0; i < p.order.size(); i++) {
            Listener l = p.order.get(i);
            String name = p.names.get(i);
            if (p.bound.contains(l)) {
                l.channel.config().setAutoRead(true);
                log.info("listener={} listening on {} ({})", name, AccessLog.format(l.channel.localAddress()),
                        transport.name().toLowerCase(Locale.ROOT));
            } else if (!l.name.equals(name)) {
                log.info("listener={} renamed from {}, still listening on {}", name, l.name, l.address);
            }
            l.name = name;
        }
        listeners.clear();
        listeners.addAll(p.order);
    }

    /** Undoes {@link #prepare}: closes the listeners it bound, which never accepted; nothing else changed. */
    public synchronized void rollback(Prepared p) {
        for (Listener l : p.bound) {
            l.channel.close().syncUninterruptibly();
        }
    }

    /** {@link #prepare} then {@link #commit}: a reload of the proxy alone. */
    public synchronized void reconfigure(ApilbConfig next) {
        commit(prepare(next));
    }

    private Listener bind(ApilbConfig c, ListenerConfig l, int index) {
        Listener listener = new Listener(l.name(), l.address());
        ServerBootstrap b = new ServerBootstrap()
                .group(group)
                .channel(transport.serverChannelClass())
                .option(ChannelOption.SO_BACKLOG, 4096)
                .option(ChannelOption.SO_REUSEADDR, true)
                .handler(new AcceptErrors(l.name()))
                // Accepting starts at commit: a prepared reload that is rolled back has served no one.
                .option(ChannelOption.AUTO_READ, false)
                .childOption(ChannelOption.AUTO_READ, false)
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .childHandler(new ProxyInitializer(() -> listener.name, () -> context));
        transport.configureChildren(b, c.tcp());
        ChannelFuture f = b.bind(l.address().host(), l.address().port()).awaitUninterruptibly();
        if (!f.isSuccess()) {
            throw new IllegalStateException("listeners[" + index + "].address: cannot listen on " + l.address()
                    + ": " + f.cause().getMessage(), f.cause());
        }
        listener.channel = f.channel();
        return listener;
    }

    /** The bound addresses, in listener order (resolves port 0). */
    public synchronized List<InetSocketAddress> boundAddresses() {
        List<InetSocketAddress> out = new ArrayList<>();
        for (Listener l : listeners) {
            out.add((InetSocketAddress) l.channel.localAddress());
        }
        return out;
    }

    public FrontendStats stats() {
        return stats;
    }

    /** Stops accepting new connections; established ones carry on. */
    public synchronized void stopAccepting() {
        for (Listener l : listeners) {
            l.channel.close().syncUninterruptibly();
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

    /** One listening socket; its name may change on reload, its address never. */
    private static final class Listener {
        final HostPort address;
        volatile String name;
        Channel channel;

        Listener(String name, HostPort address) {
            this.name = name;
            this.address = address;
        }
    }

    /**
     * A config prepared by {@link #prepare}: its connection settings and listeners, the new ones bound
     * but not accepting, waiting for {@link #commit} or {@link #rollback}. Use once.
     */
    public static final class Prepared {
        private final ProxyContext context;
        private final Limits.PerSource perSource;
        private final List<Listener> order;
        private final List<String> names;
        private final List<Listener> bound;
        private final List<Listener> closed;

        private Prepared(ProxyContext context, Limits.PerSource perSource, List<Listener> order, List<String> names,
                         List<Listener> bound, List<Listener> closed) {
            this.context = context;
            this.perSource = perSource;
            this.order = order;
            this.names = names;
            this.bound = bound;
            this.closed = closed;
        }
    }
}
