package io.apilb.core.rebalance;

import io.apilb.core.backend.Backend;
import io.apilb.core.backend.BackendPool;
import io.apilb.core.backend.ProxiedConnection;
import io.apilb.core.backend.Termination;
import io.apilb.core.config.RebalanceConfig;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;

/**
 * Evens out long-lived connections over time, on its own thread ({@code apilb-rebalance}), never
 * on an event loop. Every {@value #TICK_MILLIS} ms it:
 * <ol>
 *   <li>republishes the pool's effective weights while a slow-start ramp runs (every
 *       {@value #RAMP_EVERY_TICKS} ticks: a new snapshot costs each round-robin wheel a rebuild);</li>
 *   <li>measures the spread ({@link LoadSpread}) and, when rebalancing is on ({@code rebalance.enabled})
 *       or a pass was asked for ({@link #requestPass()}), closes at most one connection, and none
 *       sooner than {@code 1 / maxClosesPerSecond} after the last one, across the whole balancer.</li>
 * </ol>
 *
 * <p>The connection closed is the oldest one, on the most over-loaded master that has one, that is
 * all of: older than {@code minAge}; silent from the client for {@code clientQuietFor} (no request
 * started since); silent from the master for {@value #BURST_GAP_MILLIS} ms and with nothing waiting
 * in apilb's buffers (not a response being streamed: the bytes of one arrive in back-to-back reads
 * well under that apart, while watch events come hundreds of milliseconds or more apart, so a busy
 * watch still offers gaps). The choice is made from times read on this thread, then checked again
 * on the connection's event loop just before the close ({@link ProxiedConnection#closeIf}), once
 * bytes that had arrived meanwhile (or during a pause of the whole process) have been relayed and
 * stamped. Its client sees a clean close between two messages and reconnects once,
 * to a less loaded master; client-go resumes its watches from their resource version.
 *
 * <p>A pass on demand ends when the spread is within tolerance, or after {@value #PASS_IDLE_SECONDS} s
 * in which nothing could be closed. {@link #tick()} is synchronized; the other public methods may
 * be called from any thread.
 */
public final class Rebalancer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Rebalancer.class);
    static final long TICK_MILLIS = 50;
    static final int RAMP_EVERY_TICKS = 5;
    static final long BURST_GAP_MILLIS = 50;
    static final long PASS_IDLE_SECONDS = 60;
    private static final long BURST_GAP_NANOS = TimeUnit.MILLISECONDS.toNanos(BURST_GAP_MILLIS);
    private static final long PASS_IDLE_NANOS = TimeUnit.SECONDS.toNanos(PASS_IDLE_SECONDS);

    /** What {@link #requestPass()} did. */
    public enum PassState {
        /** A pass started now. */
        STARTED,
        /** A pass was already running. */
        RUNNING,
        /** Rebalancing is on: it runs all the time, no pass is needed. */
        CONTINUOUS,
        /** The spread is within tolerance: there is nothing to do. */
        BALANCED;

        public String tag() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    private final BackendPool pool;
    private final LongSupplier nanoClock;
    private final LongAdder closes = new LongAdder();
    private volatile RebalanceConfig config = RebalanceConfig.DEFAULTS;
    private volatile double spread;
    private ScheduledExecutorService thread;
    // Confined to tick() and requestPass(), under this object's lock.
    private boolean closedBefore;
    private long lastCloseAt;
    private boolean passRunning;
    private long passProgressAt;
    private boolean acting;
    private long actingClosesBefore;
    private long ticks;

    public Rebalancer(BackendPool pool) {
        this(pool, System::nanoTime);
    }

    /** @param nanoClock the clock of the connections' times ({@link System#nanoTime()}; tests pass a fake one) */
    public Rebalancer(BackendPool pool, LongSupplier nanoClock) {
        this.pool = Objects.requireNonNull(pool, "pool");
        this.nanoClock = Objects.requireNonNull(nanoClock, "nanoClock");
    }

    /** Applies {@code slowStart} (to the pool) and the {@code rebalance} section; at start and on reload. */
    public void configure(Duration slowStart, RebalanceConfig rebalance) {
        pool.setSlowStart(slowStart);
        config = Objects.requireNonNull(rebalance, "rebalance");
    }

    /** Starts the thread. */
    public synchronized void start() {
        if (thread != null) {
            return;
        }
        thread = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "apilb-rebalance");
            t.setDaemon(true);
            return t;
        });
        thread.scheduleWithFixedDelay(() -> {
            try {
                tick();
            } catch (RuntimeException e) {
                log.warn("rebalance tick failed", e);
            }
        }, TICK_MILLIS, TICK_MILLIS, TimeUnit.MILLISECONDS);
    }

    /** Starts one pass now, unless one runs, rebalancing is continuous, or the spread is fair. */
    public synchronized PassState requestPass() {
        RebalanceConfig c = config;
        if (c.enabled()) {
            return PassState.CONTINUOUS;
        }
        if (passRunning) {
            return PassState.RUNNING;
        }
        LoadSpread now = LoadSpread.of(pool.snapshot());
        spread = now.spread();
        if (now.sources(c.tolerance()).isEmpty()) {
            return PassState.BALANCED;
        }
        passRunning = true;
        passProgressAt = nanoClock.getAsLong();
        log.info("rebalance pass started: spread {}", format(spread));
        return PassState.STARTED;
    }

    /** Whether a pass asked for through {@link #requestPass()} is running. */
    public synchronized boolean passRunning() {
        return passRunning;
    }

    /** Connections closed by rebalancing since start. */
    public long closes() {
        return closes.sum();
    }

    /** The spread measured last: the most loaded master's excess over its fair share (0.25 = 25 % over). */
    public double spread() {
        return spread;
    }

    /** The settings in force. */
    public RebalanceConfig config() {
        return config;
    }

    /** One round of work; runs on the rebalance thread, or on a test's thread with a fake clock. */
    synchronized void tick() {
        if (ticks++ % RAMP_EVERY_TICKS == 0) {
            pool.refreshSlowStart();
        }
        RebalanceConfig c = config;
        long now = nanoClock.getAsLong();
        LoadSpread load = LoadSpread.of(pool.snapshot());
        spread = load.spread();
        if (!c.enabled() && !passRunning) {
            acting = false;
            return;
        }
        List<Backend> sources = load.sources(c.tolerance());
        if (sources.isEmpty()) {
            // Only episodes that moved something are worth a line: new connections alone push the
            // spread over and back all the time.
            long moved = closes.sum() - actingClosesBefore;
            if (acting && moved > 0 || passRunning) {
                log.info("rebalance: spread {} within tolerance {} after {} closes", format(spread), c.tolerance(),
                        moved);
            }
            acting = false;
            passRunning = false;
            return;
        }
        if (!acting) {
            acting = true;
            actingClosesBefore = closes.sum();
            log.debug("rebalance: spread {} over tolerance {}, moving connections off {}", format(spread),
                    c.tolerance(), sources.stream().map(Backend::name).toList());
        }
        if (passRunning && now - passProgressAt >= PASS_IDLE_NANOS) {
            log.info("rebalance pass ended: nothing quiet and old enough to move for {} s", PASS_IDLE_SECONDS);
            passRunning = false;
            return;
        }
        if (closedBefore && now - lastCloseAt < (long) (1e9 / c.maxClosesPerSecond())) {
            return;
        }
        for (Backend b : sources) {
            ProxiedConnection victim = oldestQuiet(b, now, c);
            if (victim != null) {
                // The pace counts the attempt: a connection that turns out busy on its own thread
                // stays, and the next one is tried at the next slot.
                closedBefore = true;
                lastCloseAt = now;
                passProgressAt = now;
                victim.closeIf(p -> closing(p, b, c), Termination.REBALANCE);
                return;
            }
        }
    }

    // On the connection's event loop: quiet still, with the stamps of every byte it has read.
    private boolean closing(ProxiedConnection p, Backend b, RebalanceConfig c) {
        long now = nanoClock.getAsLong();
        if (!quiet(p, now, c)) {
            log.debug("backend={} rebalance spared a connection that turned busy", b.name());
            return false;
        }
        closes.increment();
        log.debug("backend={} rebalance closed a connection {} s old (spread {})", b.name(),
                (now - p.establishedAtNanos()) / 1_000_000_000L, format(spread));
        return true;
    }

    private static boolean quiet(ProxiedConnection p, long now, RebalanceConfig c) {
        return now - p.establishedAtNanos() >= c.minAge().toNanos()
                && now - p.lastClientByteNanos() >= c.clientQuietFor().toNanos()
                && now - p.lastBackendByteNanos() >= BURST_GAP_NANOS
                && !p.backlogged();
    }

    /** The oldest connection of {@code backend} that may be closed without cutting a request short, or null. */
    static ProxiedConnection oldestQuiet(Backend backend, long now, RebalanceConfig c) {
        ProxiedConnection oldest = null;
        for (ProxiedConnection p : backend.connections().live()) {
            if (quiet(p, now, c) && (oldest == null || p.establishedAtNanos() - oldest.establishedAtNanos() < 0)) {
                oldest = p;
            }
        }
        return oldest;
    }

    private static String format(double spread) {
        return String.format(Locale.ROOT, "%.2f", spread);
    }

    /** Stops the thread; open connections are left alone. */
    @Override
    public synchronized void close() {
        if (thread != null) {
            thread.shutdownNow();
            thread = null;
        }
    }
}
