package io.apilb.admin;

import io.apilb.core.backend.BackendPool;
import io.apilb.core.config.AdminAccess;
import io.apilb.core.config.AdminConfig;
import io.apilb.core.config.HostPort;
import io.apilb.core.proxy.FrontendStats;
import io.apilb.core.rebalance.Rebalancer;
import io.apilb.health.CheckResults;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.Objects;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * The embedded admin HTTP server: dashboard ({@code GET /}), JSON API ({@code /api/v1/...}),
 * Prometheus metrics ({@code GET /metrics}) and {@code GET /healthz}, on {@code admin.address}
 * (default {@code 127.0.0.1:8404}).
 *
 * <p>Threads, none shared with the proxy: one accept thread ({@code apilb-admin-accept}, which also
 * turns away connections over {@code admin.maxConnections}, see {@link ConnectionLimit}); one event
 * loop ({@code apilb-admin}: I/O, {@code /healthz} and the JSON reads); two read workers
 * ({@code apilb-admin-read}: scrapes); one change worker ({@code apilb-admin-change}: reload and
 * state changes, in arrival order). See {@link AdminHttpHandler} for why these are separate, and
 * {@link RequestDeadline} for {@code admin.requestTimeout}.
 *
 * <p>{@link #start()} reads the token, refuses a port beyond loopback without one (the rules are
 * {@link AdminAccess}'s), registers the meters it exposes into the registry, then binds. Public
 * methods may be called from any thread.
 */
public final class AdminServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(AdminServer.class);
    private static final int READ_WORKERS = 2;

    private final AdminConfig config;
    private final BackendPool pool;
    private final FrontendStats frontend;
    private final CheckResults checks;
    private final Reloader reloader;
    private final Rebalancer rebalancer;
    private final MetricsEndpoint metrics;
    private volatile boolean shuttingDown;
    private EventLoopGroup acceptor;
    private EventLoopGroup group;
    private ThreadPoolExecutor reads;
    private ThreadPoolExecutor changes;
    private Channel serverChannel;

    /**
     * @param registry where the meters are registered and scraped from; best made by {@link #newMeterRegistry()}
     * @param checks   latest probe results, or null when health checking is off
     * @param reloader applies the config file again, or null when there is none (reload answers 501)
     */
    public AdminServer(AdminConfig config, BackendPool pool, FrontendStats frontend, CheckResults checks,
                       PrometheusMeterRegistry registry, Reloader reloader) {
        this(config, pool, frontend, checks, registry, reloader, null);
    }

    /** @param rebalancer runs passes asked for through {@code POST /api/v1/rebalance}, or null (501) */
    public AdminServer(AdminConfig config, BackendPool pool, FrontendStats frontend, CheckResults checks,
                       PrometheusMeterRegistry registry, Reloader reloader, Rebalancer rebalancer) {
        this.rebalancer = rebalancer;
        this.config = Objects.requireNonNull(config, "config");
        this.pool = Objects.requireNonNull(pool, "pool");
        this.frontend = Objects.requireNonNull(frontend, "frontend");
        this.checks = checks;
        this.reloader = reloader;
        this.metrics = new MetricsEndpoint(Objects.requireNonNull(registry, "registry"), pool, frontend);
    }

    /**
     * A Prometheus registry for the whole process, set up so that {@code /metrics} passes
     * {@code promtool check metrics}. Create it first and hand it to every module that registers
     * meters (the health checker, this server): its meter filters only apply to meters registered
     * after them.
     */
    public static PrometheusMeterRegistry newMeterRegistry() {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        ExpositionFilters.all().forEach(registry.config()::meterFilter);
        return registry;
    }

    /**
     * Checks the token rules, binds and serves. Port 0 picks a free port.
     *
     * @return the bound address
     * @throws IllegalStateException when the admin port must not or cannot start, with a message naming
     *                               the {@code admin.*} key at fault; nothing is bound then
     */
    public synchronized InetSocketAddress start() {
        if (serverChannel != null) {
            throw new IllegalStateException("admin server already started on " + serverChannel.localAddress());
        }
        if (!config.enabled()) {
            throw new IllegalStateException("admin.enabled: false (expected: true to start the admin server)");
        }
        InetAddress ip = resolve();
        TokenAuth auth = TokenAuth.load(config);

        Router router = new Router();
        new DashboardPage().addTo(router);
        new BackendsApi(pool, checks).addTo(router);
        new FrontendApi(frontend, this::isShuttingDown).addTo(router);
        new ReloadApi(reloader, metrics::refresh).addTo(router);
        new RebalanceApi(rebalancer).addTo(router);
        new HealthzEndpoint(pool, this::isShuttingDown).addTo(router);
        metrics.addTo(router);
        metrics.bind();

        reads = worker("apilb-admin-read", READ_WORKERS);
        changes = worker("apilb-admin-change", 1);
        acceptor = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("apilb-admin-accept", true),
                NioIoHandler.newFactory());
        group = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("apilb-admin", true),
                NioIoHandler.newFactory());
        CrossSiteGuard crossSite = new CrossSiteGuard(config.address().host());
        ThreadPoolExecutor readLane = reads;
        ThreadPoolExecutor changeLane = changes;
        ServerBootstrap b = new ServerBootstrap()
                .group(acceptor, group)
                .channel(NioServerSocketChannel.class)
                .option(ChannelOption.SO_REUSEADDR, true)
                .handler(new ConnectionLimit(config.maxConnections()))
                .childOption(ChannelOption.AUTO_READ, false)
                .childHandler(new AdminChannelInitializer(
                        () -> new AdminHttpHandler(router, auth, crossSite, readLane, changeLane),
                        config.requestTimeout()));
        ChannelFuture bound = b.bind(new InetSocketAddress(ip, config.address().port())).awaitUninterruptibly();
        if (!bound.isSuccess()) {
            stopThreads();
            throw new IllegalStateException("admin.address: " + config.address() + " cannot be bound: "
                    + bound.cause().getMessage(), bound.cause());
        }
        serverChannel = bound.channel();
        InetSocketAddress local = (InetSocketAddress) serverChannel.localAddress();
        log.info("admin server on http://{} ({})", HostPort.of(local),
                auth.hasToken() ? "token required for " + (auth.everyCall() ? "every call but /healthz" : "changes")
                        : "no token: loopback only, changes open to local users");
        return local;
    }

    /** The bound address, or null before {@link #start()} succeeded. */
    public synchronized InetSocketAddress boundAddress() {
        return serverChannel == null ? null : (InetSocketAddress) serverChannel.localAddress();
    }

    /**
     * Turns {@code /healthz} to 503 at once (true) so that a VIP moves away while the listeners drain,
     * or back (false).
     */
    public void setShuttingDown(boolean shuttingDown) {
        this.shuttingDown = shuttingDown;
    }

    public boolean isShuttingDown() {
        return shuttingDown;
    }

    /** Brings the backend meters in line with the pool after a reload that did not go through the API. */
    public void refreshMetrics() {
        metrics.refresh();
    }

    /** Stops serving and releases the threads. Idempotent. */
    @Override
    public synchronized void close() {
        if (serverChannel != null) {
            serverChannel.close().awaitUninterruptibly();
            serverChannel = null;
        }
        stopThreads();
        metrics.close();
    }

    private void stopThreads() {
        if (acceptor != null) {
            acceptor.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
            acceptor = null;
        }
        if (group != null) {
            group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
            group = null;
        }
        if (reads != null) {
            reads.shutdownNow();
            reads = null;
        }
        if (changes != null) {
            changes.shutdownNow();
            changes = null;
        }
    }

    // One request in flight per connection: a queue of maxConnections never refuses a live one.
    private ThreadPoolExecutor worker(String name, int threads) {
        ThreadPoolExecutor pool = new ThreadPoolExecutor(threads, threads, 30, TimeUnit.SECONDS,
                new ArrayBlockingQueue<>(config.maxConnections()), new DefaultThreadFactory(name, true));
        pool.allowCoreThreadTimeOut(true);
        return pool;
    }

    private InetAddress resolve() {
        try {
            return InetAddress.getByName(config.address().host());
        } catch (UnknownHostException e) {
            throw new IllegalStateException("admin.address: " + config.address() + " does not resolve", e);
        }
    }
}
