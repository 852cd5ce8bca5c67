package io.apilb.health;

import io.apilb.core.backend.Backend;
import io.apilb.core.backend.BackendPool;
import io.apilb.core.backend.ConnectFailure;
import io.apilb.core.backend.ConnectObserver;
import io.apilb.core.config.HealthConfig;
import io.apilb.core.config.HealthMode;

import io.micrometer.core.instrument.MeterRegistry;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslProvider;
import io.netty.util.concurrent.DefaultThreadFactory;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.SSLException;

/**
 * The active health checker: one {@link ProbeSession} per backend of the pool, all on one event-loop
 * thread of its own ({@code apilb-health}), so probe timeouts do not depend on proxy load. Receives
 * the proxy's failed dials as passive observations, and publishes verdicts to the pool with
 * {@link BackendPool#setHealth}. Also the read side of the latest results ({@link CheckResults}).
 *
 * <p>With {@code health.enabled: false} nothing is probed, backends stay UNKNOWN (routable), and the
 * proxy's failed dials are not tracked either: with no probe to bring a backend back, one failed dial
 * would keep it DOWN for good.
 *
 * <p>Lifecycle: construct, {@link #start()} once (or, on reload, {@link #prepare()} while the old
 * checker runs, then {@link #startAfter} it, which stops the old one and carries its state over),
 * {@link #backendsChanged()} after the pool's backend set changed (reload), {@link #close()} once. Methods are thread-safe; none blocks except
 * {@link #close()}, which waits for the prober thread to stop.
 */
public final class HealthChecker implements CheckResults, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(HealthChecker.class);

    private final HealthConfig config;
    private final BackendPool pool;
    private final HealthMetrics metrics;
    private final SslProvider provider;
    private final Map<String, ProbeSession> sessions = new ConcurrentHashMap<>();
    private boolean prepared;
    private boolean running;
    private EventLoopGroup group;
    private EventLoop loop;
    private OffLoopResolver resolver;
    private ProbeSettings settings;
    private VerdictPublisher publisher;

    /** A checker using BoringSSL when available, the JDK's TLS otherwise. */
    public HealthChecker(HealthConfig config, BackendPool pool, MeterRegistry registry) {
        this(config, pool, registry, ProbeSslContexts.defaultProvider());
    }

    /** A checker using the given TLS provider for its probes. */
    public HealthChecker(HealthConfig config, BackendPool pool, MeterRegistry registry, SslProvider provider) {
        this.config = Objects.requireNonNull(config, "config");
        this.pool = Objects.requireNonNull(pool, "pool");
        this.metrics = new HealthMetrics(Objects.requireNonNull(registry, "registry"));
        this.provider = Objects.requireNonNull(provider, "provider");
    }

    /**
     * Starts probing every backend of the pool and listening to the proxy's dials:
     * {@link #prepare()} then {@link #startAfter startAfter(null)}.
     *
     * @throws SSLException             when the TLS files of {@code health.tls} cannot be used
     * @throws IllegalStateException    when already started
     */
    public synchronized void start() throws SSLException {
        prepare();
        startAfter(null);
    }

    /**
     * Does everything of starting that can fail, without probing or touching the pool: loads the TLS
     * files and starts the prober thread. A reload prepares the next checker while the old one still
     * runs; {@link #close()} undoes this without disturbing the running one.
     *
     * @throws SSLException          when the TLS files of {@code health.tls} cannot be used
     * @throws IllegalStateException when already prepared
     */
    public synchronized void prepare() throws SSLException {
        if (prepared) {
            throw new IllegalStateException("already started");
        }
        prepared = true;
        if (!config.enabled()) {
            return;
        }
        SslContext ssl = config.mode() == HealthMode.TCP ? null : ProbeSslContexts.build(config.tls(), provider);
        settings = ProbeSettings.of(config, ssl);
        publisher = new VerdictPublisher(pool, config.onDown(), config.failOpen(), metrics);
        resolver = new OffLoopResolver();
        group = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("apilb-health", true),
                NioIoHandler.newFactory());
        loop = group.next();
    }

    /**
     * Stops {@code previous} (when not null), then starts probing where it left off: a backend it
     * probed keeps its rise/fall streak, its verdict and its recent results, so a changed
     * {@code health} section neither resets a verdict nor lets one result skip {@code fall}. Does
     * nothing that can fail: that was {@link #prepare()}.
     *
     * @throws IllegalStateException when not prepared, or already started
     */
    public synchronized void startAfter(HealthChecker previous) {
        if (!prepared || running) {
            throw new IllegalStateException(prepared ? "already started" : "not prepared");
        }
        Map<Backend, ProbeSession> handedOver = previous == null ? Map.of() : previous.stop();
        running = true;
        if (!config.enabled()) {
            log.info("health checking disabled: backends stay UNKNOWN (routable), failed dials are not tracked");
            return;
        }
        if (config.mode() != HealthMode.TCP && config.tls().insecure()) {
            log.warn("health.tls.insecure: probes do not verify the API servers' certificates; "
                    + "use only while bootstrapping, then set health.tls.ca");
        }
        metrics.start();
        if (previous != null && previous.publisher != null) {
            publisher.continueFrom(previous.publisher);
        }
        log.info("health checking: mode={} path={} interval={}ms timeout={}ms rise={} fall={} onDown={} tls={}",
                config.mode(), config.path(), config.interval().toMillis(), config.timeout().toMillis(), config.rise(),
                config.fall(), config.onDown(), config.mode() == HealthMode.TCP ? "-" : provider);
        loop.execute(() -> syncSessions(handedOver));
        pool.setConnectObserver(new PassiveObserver());
    }

    /** Re-reads {@link BackendPool#all()}: starts sessions for new backends, stops those of removed ones. */
    public synchronized void backendsChanged() {
        if (loop != null && running) {
            loop.execute(() -> syncSessions(Map.of()));
        }
    }

    @Override
    public CheckResult last(String backend) {
        ProbeSession s = sessions.get(backend);
        return s == null ? null : s.history().last();
    }

    @Override
    public List<CheckResult> history(String backend) {
        ProbeSession s = sessions.get(backend);
        return s == null ? List.of() : s.history().all();
    }

    @Override
    public Transition transition(String backend) {
        ProbeSession s = sessions.get(backend);
        return s == null ? null : s.transition();
    }

    /** Stops every probe and the prober thread; waits up to a few seconds for it. Idempotent. */
    @Override
    public synchronized void close() {
        stop();
    }

    /** Closes, and returns the stopped sessions by backend for a successor to continue from. */
    private synchronized Map<Backend, ProbeSession> stop() {
        if (loop == null) {
            return Map.of();
        }
        if (running) {
            pool.setConnectObserver(ConnectObserver.NONE);
        }
        Map<Backend, ProbeSession> stopped = new IdentityHashMap<>();
        // Probes in flight close their connections (TLS close_notify included) before the loop goes away.
        loop.submit(() -> sessions.values().forEach(s -> {
            s.stop();
            stopped.put(s.backend(), s);
        })).awaitUninterruptibly(1, TimeUnit.SECONDS);
        group.shutdownGracefully(50, 1000, TimeUnit.MILLISECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
        resolver.close();
        if (running) {
            // Only a checker that ran registered meters; a prepared one must not remove its predecessor's.
            for (ProbeSession s : sessions.values()) {
                metrics.backendRemoved(s.backend());
            }
            metrics.close();
        }
        sessions.clear();
        loop = null;
        return stopped;
    }

    /** Runs on the prober's loop; {@code handedOver}: a predecessor's stopped sessions to continue from. */
    private void syncSessions(Map<Backend, ProbeSession> handedOver) {
        Set<String> present = new HashSet<>();
        for (Backend b : pool.all()) {
            present.add(b.name());
            ProbeSession old = sessions.get(b.name());
            if (old != null && old.backend() == b) {
                continue;
            }
            if (old != null) {
                retire(old);
            }
            Probe probe = new Probe(b, settings, loop, resolver);
            ProbeSession s = new ProbeSession(b, probe, loop, config.interval(), config.fastInterval(),
                    config.downInterval(), config.rise(), config.fall(), metrics, publisher, handedOver.get(b));
            sessions.put(b.name(), s);
            metrics.backendAdded(b);
            s.start();
            log.debug("backend={} probing {} every {}ms", b.name(), probe.target(), config.interval().toMillis());
        }
        for (ProbeSession s : List.copyOf(sessions.values())) {
            if (!present.contains(s.backend().name())) {
                sessions.remove(s.backend().name());
                retire(s);
            }
        }
        publisher.checkAllDown();
    }

    private void retire(ProbeSession s) {
        s.stop();
        metrics.backendRemoved(s.backend());
    }

    /** Feeds the proxy's failed dials to the backend's session; successes are not evidence of readiness. */
    private final class PassiveObserver implements ConnectObserver {
        @Override
        public void connectFailed(Backend backend, ConnectFailure reason, Throwable cause) {
            ProbeSession s = sessions.get(backend.name());
            if (s != null && s.backend() == backend) {
                s.passiveFailure(reason, cause);
            }
        }

        @Override
        public void connectSucceeded(Backend backend) {
            // A TCP connect says nothing of /readyz, and in fail-open it would lift DOWN masters back UP.
        }
    }
}
