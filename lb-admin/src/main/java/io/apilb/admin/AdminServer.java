package io.apilb.admin;

import io.apilb.core.backend.BackendPool;
import io.apilb.core.config.AdminConfig;
import io.apilb.core.config.HostPort;
import io.apilb.core.proxy.FrontendStats;
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
 * <p>It has its own one-thread event loop, so the proxy's loops never serve it, and a small worker
 * pool for the calls that may wait (reload, state changes, scrapes). {@link #start()} reads the
 * token, refuses a port beyond loopback without one, registers the meters it exposes into the
 * registry, then binds. Public methods may be called from any thread.
 */
public final class AdminServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(AdminServer.class);
    private static final int WORKER_QUEUE = 64;

    private final AdminConfig config;
    private final BackendPool pool;
    private final FrontendStats frontend;
    private final CheckResults checks;
    private final Reloader reloader;
    private final MetricsEndpoint metrics;
    private volatile boolean shuttingDown;
    private EventLoopGroup group;
    private ThreadPoolExecutor worker;
    private Channel serverChannel;

    /**
     * @param registry where the meters are registered and scraped from; best made by {@link #newMeterRegistry()}
     * @param checks   latest probe results, or null when health checking is off
     * @param reloader applies the config file again, or null when there is none (reload answers 501)
     */
    public AdminServer(AdminConfig config, BackendPool pool, FrontendStats frontend, CheckResults checks,
                       PrometheusMeterRegistry registry, Reloader reloader) {
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
        TokenAuth auth = TokenAuth.load(config, ip.isLoopbackAddress());

        Router router = new Router();
        new DashboardPage().addTo(router);
        new BackendsApi(pool, checks).addTo(router);
        new FrontendApi(frontend, this::isShuttingDown).addTo(router);
        new ReloadApi(reloader, metrics::refresh).addTo(router);
        new HealthzEndpoint(pool, this::isShuttingDown).addTo(router);
        metrics.addTo(router);
        metrics.bind();

        worker = new ThreadPoolExecutor(2, 2, 30, TimeUnit.SECONDS, new ArrayBlockingQueue<>(WORKER_QUEUE),
                new DefaultThreadFactory("apilb-admin-worker", true));
        worker.allowCoreThreadTimeOut(true);
        group = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("apilb-admin", true),
                NioIoHandler.newFactory());
        ServerBootstrap b = new ServerBootstrap()
                .group(group)
                .channel(NioServerSocketChannel.class)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childHandler(new AdminChannelInitializer(new AdminHttpHandler(router, auth, worker)));
        ChannelFuture bound = b.bind(new InetSocketAddress(ip, config.address().port())).awaitUninterruptibly();
        if (!bound.isSuccess()) {
            stopThreads();
            throw new IllegalStateException("admin.address: " + config.address() + " cannot be bound: "
                    + bound.cause().getMessage(), bound.cause());
        }
        serverChannel = bound.channel();
        InetSocketAddress local = (InetSocketAddress) serverChannel.localAddress();
        log.info("admin server on http://{} ({})", HostPort.of(local),
                auth.hasToken() ? "token required for " + (ip.isLoopbackAddress() ? "changes" : "every call but /healthz")
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
        if (group != null) {
            group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
            group = null;
        }
        if (worker != null) {
            worker.shutdownNow();
            worker = null;
        }
    }

    private InetAddress resolve() {
        try {
            return InetAddress.getByName(config.address().host());
        } catch (UnknownHostException e) {
            throw new IllegalStateException("admin.address: " + config.address() + " does not resolve", e);
        }
    }
}
