package io.apilb.app;

import io.apilb.admin.AdminServer;
import io.apilb.admin.Reloader;
import io.apilb.core.backend.AdminState;
import io.apilb.core.backend.Backend;
import io.apilb.core.backend.BackendPool;
import io.apilb.core.backend.Termination;
import io.apilb.core.config.AdminAccess;
import io.apilb.core.config.ApilbConfig;
import io.apilb.core.config.ConfigException;
import io.apilb.core.config.ConfigLoader;
import io.apilb.core.config.HostPort;
import io.apilb.core.proxy.ProxyServer;
import io.apilb.core.rebalance.RebalanceMetrics;
import io.apilb.core.rebalance.Rebalancer;
import io.apilb.health.CheckResult;
import io.apilb.health.CheckResults;
import io.apilb.health.HealthChecker;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * One running balancer: meters, backend pool, health checker, proxy and admin port wired from
 * one config, with the order of start, reload and stop in one place.
 *
 * <p>Threads: start and shutdown run on the caller (main); reload runs on the caller too (the
 * {@code apilb-control} thread for SIGHUP, the admin worker for the API) and is serialised; drain
 * timers run on {@code apilb-control}; slow-start ramps and rebalancing on {@code apilb-rebalance}.
 */
public final class ApilbRuntime implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ApilbRuntime.class);

    private final Path configFile;
    private final BackendPool pool;
    private final ProxyServer proxy;
    private final Rebalancer rebalancer;
    private PrometheusMeterRegistry registry;
    private final ScheduledExecutorService control = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "apilb-control");
        t.setDaemon(true);
        return t;
    });
    private volatile ApilbConfig config;
    private volatile HealthChecker health;
    private volatile AdminServer admin;
    private volatile boolean shuttingDown;

    private ApilbRuntime(ApilbConfig config, Path configFile) {
        this.config = config;
        this.configFile = configFile;
        this.pool = new BackendPool(config.backends());
        this.proxy = new ProxyServer(config, pool);
        this.rebalancer = new Rebalancer(pool);
    }

    /**
     * Builds and starts everything; on failure, stops what was started and rethrows.
     *
     * @param configFile the file to re-read on reload, or null (demo, tests): reload is then refused
     */
    public static ApilbRuntime start(ApilbConfig config, Path configFile) throws Exception {
        Objects.requireNonNull(config, "config");
        ApilbRuntime rt = new ApilbRuntime(config, configFile);
        try {
            rt.startParts();
        } catch (Exception | Error e) {
            rt.stopParts(Duration.ZERO);
            throw e;
        }
        log.info("apilb started: {} listeners, {} backends, balance {}, health {}, admin {}",
                config.listeners().size(), config.backends().size(), config.balance().name().toLowerCase(Locale.ROOT),
                config.health().enabled() ? config.health().mode().name().toLowerCase(Locale.ROOT) : "off",
                rt.admin == null ? "off" : HostPort.of(rt.admin.boundAddress()));
        return rt;
    }

    public static ApilbRuntime start(ApilbConfig config) throws Exception {
        return start(config, null);
    }

    private void startParts() throws Exception {
        pool.addListener((backend, oldHealth, oldState) -> scheduleDrainTimeout(backend, oldState));
        // Listeners first: until the first probe, backends are UNKNOWN and routable, as HAProxy's
        // servers start up, so traffic flows while the TLS stack and the meters load.
        proxy.start();
        registry = AdminServer.newMeterRegistry();
        health = new HealthChecker(config.health(), pool, registry);
        health.start();
        rebalancer.configure(config.slowStart(), config.rebalance());
        new RebalanceMetrics(rebalancer).bindTo(registry);
        rebalancer.start();
        startAdmin(config);
    }

    private void startAdmin(ApilbConfig c) {
        if (!c.admin().enabled()) {
            return;
        }
        AdminServer a = new AdminServer(c.admin(), pool, proxy.stats(), checks, registry,
                configFile == null ? null : this::reload, rebalancer);
        a.start();
        admin = a;
    }

    /** Results of whichever health checker is current: reload may replace it. */
    private final CheckResults checks = new CheckResults() {
        @Override
        public CheckResult last(String backend) {
            HealthChecker h = health;
            return h == null ? null : h.last(backend);
        }

        @Override
        public List<CheckResult> history(String backend) {
            HealthChecker h = health;
            return h == null ? List.of() : h.history(backend);
        }
    };

    public ApilbConfig config() {
        return config;
    }

    public BackendPool pool() {
        return pool;
    }

    public ProxyServer proxy() {
        return proxy;
    }

    public CheckResults checks() {
        return checks;
    }

    public PrometheusMeterRegistry registry() {
        return registry;
    }

    public List<InetSocketAddress> listenerAddresses() {
        return proxy.boundAddresses();
    }

    /** The admin port's address, or null when it is off. */
    public InetSocketAddress adminAddress() {
        AdminServer a = admin;
        return a == null ? null : a.boundAddress();
    }

    public boolean shuttingDown() {
        return shuttingDown;
    }

    /**
     * Re-reads the config file and applies it. An invalid file, or one whose new listener cannot be
     * bound, changes nothing and comes back as the errors. Unchanged backends keep their
     * connections, counters and health; removed ones take no new connections and their open ones
     * are closed after {@code drainTimeout}.
     */
    public synchronized Reloader.Result reload() {
        if (configFile == null) {
            return Reloader.Result.refused(List.of("reload: no config file (the demo and embedded runs have none)"));
        }
        if (shuttingDown) {
            return Reloader.Result.refused(List.of("reload: shutting down"));
        }
        ApilbConfig next;
        try {
            next = ConfigLoader.load(configFile);
        } catch (ConfigException e) {
            log.warn("reload refused, the running config stays: {}", e.getMessage());
            return Reloader.Result.refused(e.errors());
        }
        ApilbConfig old = config;
        HealthChecker nextHealth = null;
        if (!next.health().equals(old.health())) {
            // The TLS files are loaded before anything changes, so a bad CA or key refuses the reload.
            try {
                HealthChecker.checkTls(next.health());
            } catch (Exception e) {
                String error = "health.tls: " + e.getMessage();
                log.warn("reload refused, the running config stays: {}", error);
                return Reloader.Result.refused(List.of(error));
            }
            nextHealth = new HealthChecker(next.health(), pool, registry);
        }
        if (next.admin().enabled() && !next.admin().equals(old.admin())) {
            // The admin port restarts after the reload is applied; a token it cannot read must refuse it now.
            try {
                AdminAccess.readToken(next.admin());
            } catch (IllegalStateException e) {
                log.warn("reload refused, the running config stays: {}", e.getMessage());
                return Reloader.Result.refused(List.of(e.getMessage()));
            }
        }
        try {
            proxy.reconfigure(next);
        } catch (IllegalStateException e) {
            log.warn("reload refused, the running config stays: {}", e.getMessage());
            return Reloader.Result.refused(List.of(e.getMessage()));
        }
        BackendPool.Change change = pool.reconfigure(next.backends(), next.health().enabled());
        rebalancer.configure(next.slowStart(), next.rebalance());
        for (Backend removed : change.removed()) {
            closeLater(removed, next.drainTimeout(), Termination.BACKEND_REMOVED);
        }
        if (nextHealth != null) {
            health.close();
            health = nextHealth;
            try {
                nextHealth.start();
            } catch (Exception e) {
                log.error("health checks could not start after reload: {}", e.getMessage());
            }
        } else {
            health.backendsChanged();
        }
        LogSetup.apply(next.logging());
        config = next;
        AdminServer a = admin;
        if (!next.admin().equals(old.admin())) {
            // The reply to a reload through the admin API must leave before its server restarts.
            control.schedule(() -> restartAdmin(next), 200, TimeUnit.MILLISECONDS);
        } else if (a != null) {
            a.refreshMetrics();
        }
        log.info("reloaded {}: +{} -{} backends, {} kept", configFile, change.added().size(),
                change.removed().size(), change.kept().size());
        return Reloader.Result.applied();
    }

    /** Runs {@link #reload()} on the control thread, as SIGHUP does; logs the outcome. */
    public void reloadInBackground() {
        control.execute(() -> {
            Reloader.Result r = reload();
            if (!r.ok()) {
                log.warn("reload on SIGHUP refused: {}", String.join("; ", r.errors()));
            }
        });
    }

    private synchronized void restartAdmin(ApilbConfig c) {
        AdminServer old = admin;
        if (old != null) {
            old.close();
            admin = null;
        }
        try {
            startAdmin(c);
            log.info("admin port restarted for the new admin settings");
        } catch (RuntimeException e) {
            log.error("admin port could not start with the new settings: {}", e.getMessage());
        }
    }

    private void scheduleDrainTimeout(Backend backend, AdminState oldState) {
        Duration timeout = config.drainTimeout();
        if (backend.adminState() == AdminState.DRAIN && oldState != AdminState.DRAIN && !timeout.isZero()) {
            control.schedule(() -> {
                if (backend.adminState() == AdminState.DRAIN) {
                    int n = backend.closeConnections(Termination.DRAIN_TIMEOUT);
                    log.info("backend={} drain timeout: closed {} connections", backend.name(), n);
                }
            }, timeout.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    private void closeLater(Backend backend, Duration after, Termination why) {
        if (after.isZero()) {
            backend.closeConnections(why);
        } else {
            control.schedule(() -> backend.closeConnections(why), after.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    /**
     * Graceful stop: {@code /healthz} turns 503 first (so a VIP moves away), then the listeners stop
     * accepting, open connections get {@code shutdownGrace}, the rest are closed. Blocks until done.
     */
    public void shutdown() {
        synchronized (this) {
            if (shuttingDown) {
                return;
            }
            shuttingDown = true;
        }
        ApilbConfig c = config;
        AdminServer a = admin;
        if (a != null) {
            a.setShuttingDown(true);
        }
        if (!c.shutdownDelay().isZero()) {
            log.info("shutting down: /healthz 503, still accepting for {} ms so the VIP can move",
                    c.shutdownDelay().toMillis());
            try {
                Thread.sleep(c.shutdownDelay().toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        log.info("shutting down: no new connections, {} open get up to {} s", proxy.stats().active(),
                c.shutdownGrace().toSeconds());
        stopParts(c.shutdownGrace());
        log.info("apilb stopped");
    }

    private void stopParts(Duration grace) {
        AdminServer a = admin;
        if (a != null) {
            a.setShuttingDown(true);
        }
        rebalancer.close();
        proxy.shutdown(grace);
        HealthChecker h = health;
        if (h != null) {
            h.close();
        }
        if (a != null) {
            a.close();
        }
        control.shutdownNow();
        if (registry != null) {
            registry.close();
        }
    }

    @Override
    public void close() {
        shutdown();
    }
}
