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

import javax.net.ssl.SSLException;

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
    /** How long an admin port replaced by a reload keeps serving, so the reply to that reload leaves. */
    private static final Duration ADMIN_HANDOVER = Duration.ofMillis(200);

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
    /** An admin server replaced by a reload, serving until the reply to that reload has left. */
    private volatile AdminServer retiringAdmin;
    private volatile boolean shuttingDown;
    /** Test seam: called after each preparation step of a reload, so a test can make any of them fail. */
    volatile PreparedStep preparedStep = step -> { };

    /** A hook between the preparation steps of a reload. */
    @FunctionalInterface
    interface PreparedStep {
        void reached(String step) throws Exception;
    }

    private ApilbRuntime(ApilbConfig config, Path configFile) {
        this.config = config;
        this.configFile = configFile;
        this.pool = new BackendPool(config.backends());
        this.proxy = new ProxyServer(pool);
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
        registry = AdminServer.newMeterRegistry();
        health = new HealthChecker(config.health(), pool, registry);
        health.start();
        rebalancer.configure(config.slowStart(), config.rebalance());
        new RebalanceMetrics(rebalancer).bindTo(registry);
        rebalancer.start();
        // The admin port before the listeners: whoever sees the proxy port accept (Keepalived, a
        // container runtime, a deploy script) asks /healthz next, and must get an answer, if only 503.
        admin = startAdmin(config);
        proxy.start(config);
    }

    /** An admin server for {@code c}, bound and serving; null when the admin port is off. */
    private AdminServer startAdmin(ApilbConfig c) {
        if (!c.admin().enabled()) {
            return null;
        }
        AdminServer a = new AdminServer(c.admin(), pool, proxy.stats(), checks, registry,
                configFile == null ? null : this::reload, rebalancer);
        try {
            a.start();
        } catch (RuntimeException | Error e) {
            // What a failed start may have set up (its meters) goes with it.
            a.close();
            throw e;
        }
        return a;
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

    /** The current health checker (tests: a refused reload keeps it). */
    HealthChecker health() {
        return health;
    }

    public boolean shuttingDown() {
        return shuttingDown;
    }

    /**
     * Re-reads the config file and applies it, all or nothing. First everything the new config
     * needs is built and checked while the old one keeps running: the file is loaded and validated,
     * the admin token file read, new listeners bound (not yet accepting), a new health checker
     * prepared (TLS files loaded, prober thread started) and a new admin address bound. Any failure
     * there, of any kind, undoes what was prepared and comes back as the errors; the running config
     * is untouched. Only then is it committed, in steps that cannot fail: proxy (new connections'
     * settings, new listeners accept, removed ones close), backend pool, health checker (the old one
     * stops, the new one continues each remaining master's rise/fall state and verdict), logging,
     * config, admin port (the old one closes once this reply has left).
     *
     * <p>Unchanged backends keep their connections, counters and health; removed ones take no new
     * connections and their open ones are closed after {@code drainTimeout}.
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
        if (next.admin().enabled() && !next.admin().equals(old.admin())) {
            // A token file the admin port cannot read refuses the reload before anything is prepared.
            try {
                AdminAccess.readToken(next.admin());
            } catch (IllegalStateException e) {
                log.warn("reload refused, the running config stays: {}", e.getMessage());
                return Reloader.Result.refused(List.of(e.getMessage()));
            }
        }
        Staged staged = new Staged();
        try {
            prepare(old, next, staged);
        } catch (Exception | Error e) {
            staged.rollBack();
            if (e instanceof VirtualMachineError fatal) {
                throw fatal;
            }
            // Anything else, a class that fails to load (a TLS provider) included, is a refused reload.
            String error = e instanceof IllegalStateException ? e.getMessage() : "reload: " + e;
            if (e instanceof IllegalStateException) {
                log.warn("reload refused, the running config stays: {}", error);
            } else {
                log.warn("reload refused, the running config stays: {}", error, e);
            }
            return Reloader.Result.refused(List.of(error));
        }
        BackendPool.Change change = commit(old, next, staged);
        log.info("reloaded {}: +{} -{} backends, {} kept", configFile, change.added().size(),
                change.removed().size(), change.kept().size());
        return Reloader.Result.applied();
    }

    /** What a reload built before switching: undone on failure, committed otherwise. */
    private final class Staged {
        ProxyServer.Prepared listeners;
        HealthChecker health;
        boolean adminRebinds;
        AdminServer admin;

        void rollBack() {
            // Each undo on its own: one that fails must not leave the others' threads or sockets behind.
            undo("admin", () -> {
                if (admin != null) {
                    admin.close();
                }
            });
            undo("health", () -> {
                if (health != null) {
                    health.close();
                }
            });
            undo("listeners", () -> {
                if (listeners != null) {
                    proxy.rollback(listeners);
                }
            });
        }

        private void undo(String what, Runnable action) {
            try {
                action.run();
            } catch (RuntimeException e) {
                log.error("reload: undoing the prepared {} failed", what, e);
            }
        }
    }

    /** Builds and checks everything {@code next} needs without switching anything; records it in {@code staged}. */
    private void prepare(ApilbConfig old, ApilbConfig next, Staged staged) throws Exception {
        staged.listeners = proxy.prepare(next);
        preparedStep.reached("listeners");
        if (!next.health().equals(old.health())) {
            staged.health = new HealthChecker(next.health(), pool, registry);
            try {
                staged.health.prepare();
            } catch (SSLException | IllegalArgumentException e) {
                // What loading the CA, certificate or key throws: a file that is missing or not what it should be.
                throw new IllegalStateException("health.tls: " + e.getMessage(), e);
            }
        }
        preparedStep.reached("health");
        // A new address is bound now, beside the old one; the same address cannot be, and restarts after commit.
        staged.adminRebinds = !next.admin().equals(old.admin())
                && (!next.admin().enabled() || !old.admin().enabled() || !next.admin().address().equals(old.admin().address()));
        if (staged.adminRebinds) {
            staged.admin = startAdmin(next);
        }
        preparedStep.reached("admin");
    }

    /** Switches to {@code next}; every step here only swaps what {@link #prepare} built. */
    private BackendPool.Change commit(ApilbConfig old, ApilbConfig next, Staged staged) {
        proxy.commit(staged.listeners);
        BackendPool.Change change = pool.reconfigure(next.backends(), next.health().enabled());
        rebalancer.configure(next.slowStart(), next.rebalance());
        for (Backend removed : change.removed()) {
            closeLater(removed, next.drainTimeout(), Termination.BACKEND_REMOVED);
        }
        if (staged.health != null) {
            staged.health.startAfter(health);
            health = staged.health;
        } else {
            health.backendsChanged();
        }
        LogSetup.apply(next.logging());
        config = next;
        AdminServer a = admin;
        if (staged.adminRebinds) {
            admin = staged.admin;
            if (a != null) {
                // A reload through the API runs on the old server's worker: its reply must leave first.
                retiringAdmin = a;
                control.schedule(() -> closeRetiringAdmin(a), ADMIN_HANDOVER.toMillis(), TimeUnit.MILLISECONDS);
            }
        } else if (!next.admin().equals(old.admin())) {
            control.schedule(() -> restartAdmin(next, old), ADMIN_HANDOVER.toMillis(), TimeUnit.MILLISECONDS);
        } else if (a != null) {
            a.refreshMetrics();
        }
        return change;
    }

    /**
     * Runs {@link #reload()} on the control thread, as SIGHUP does; logs the outcome, including a
     * failure the reload did not turn into errors (the executor would drop it silently).
     */
    public void reloadInBackground() {
        control.execute(() -> {
            try {
                Reloader.Result r = reload();
                if (!r.ok()) {
                    log.warn("reload on SIGHUP refused: {}", String.join("; ", r.errors()));
                }
            } catch (RuntimeException | Error e) {
                log.error("reload on SIGHUP failed", e);
            }
        });
    }

    /**
     * The admin port on the same address with other settings (token): it cannot be bound twice, so
     * it restarts; should the new settings not bind after all, the old ones come back.
     */
    private synchronized void restartAdmin(ApilbConfig c, ApilbConfig previous) {
        AdminServer old = admin;
        if (old != null) {
            old.close();
            admin = null;
        }
        try {
            admin = startAdmin(c);
            log.info("admin port restarted for the new admin settings");
        } catch (RuntimeException e) {
            log.error("admin port could not start with the new settings, back to the old ones: {}", e.getMessage());
            try {
                admin = startAdmin(previous);
            } catch (RuntimeException again) {
                log.error("admin port could not start again with the old settings either: {}", again.getMessage());
            }
        }
    }

    private synchronized void closeRetiringAdmin(AdminServer a) {
        a.close();
        if (retiringAdmin == a) {
            retiringAdmin = null;
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
        AdminServer retiring = retiringAdmin;
        if (retiring != null) {
            retiring.close();
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
