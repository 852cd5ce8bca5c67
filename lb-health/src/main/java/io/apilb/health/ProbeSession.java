package io.apilb.health;

import io.apilb.core.backend.Backend;
import io.apilb.core.backend.ConnectFailure;
import io.apilb.core.backend.Health;
import io.apilb.core.config.HealthConfig;

import io.netty.channel.EventLoop;
import io.netty.util.concurrent.ScheduledFuture;

import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The health of one backend over time: runs its probes one after another on the prober's event loop,
 * {@code interval} apart (start to start, minus up to 10% jitter so sessions never probe in lock-step,
 * and never more than {@code interval} apart, so {@code interval × fall} stays a true bound); while
 * the verdict is in doubt, {@code fastInterval} after the last result; while DOWN,
 * {@code downInterval} apart. Keeps its results, feeds them and the proxy's failed dials to its {@link RiseFallTracker}, and hands every
 * flip of the verdict to the {@link VerdictPublisher}.
 *
 * <p>Everything runs on the prober's event loop, except {@link #passiveFailure} (any thread) and the
 * reads of {@link #history()} (any thread).
 */
final class ProbeSession {
    private final Backend backend;
    private final Probe probe;
    private final EventLoop loop;
    private final long intervalNanos;
    private final long fastNanos;
    private final long downNanos;
    // Written on the prober's loop, read by the admin API.
    private volatile Instant transitionSince;
    private volatile Duration lastTransition;
    private final RiseFallTracker tracker;
    private final CheckHistory history;
    private final HealthMetrics metrics;
    private final VerdictPublisher publisher;
    private final AtomicBoolean passivePending = new AtomicBoolean();
    private ScheduledFuture<?> next;
    private ProbeAttempt inFlight;
    private boolean stopped;

    /**
     * @param previous the stopped session of the same backend under the previous health settings, or
     *                 null: its verdict, rise/fall streak and results carry over, so a reload neither
     *                 resets a verdict nor lets the first result after it decide alone
     */
    ProbeSession(Backend backend, Probe probe, EventLoop loop, Duration interval, int rise, int fall,
                 HealthMetrics metrics, VerdictPublisher publisher, ProbeSession previous) {
        this(backend, probe, loop, interval, HealthConfig.defaultFastInterval(interval), interval, rise, fall, metrics,
                publisher, previous);
    }

    /**
     * @param fastInterval the interval while the verdict is in doubt
     * @param downInterval the interval while DOWN and not in doubt
     */
    ProbeSession(Backend backend, Probe probe, EventLoop loop, Duration interval, Duration fastInterval,
                 Duration downInterval, int rise, int fall, HealthMetrics metrics, VerdictPublisher publisher,
                 ProbeSession previous) {
        this.backend = backend;
        this.probe = probe;
        this.loop = loop;
        this.intervalNanos = interval.toNanos();
        this.fastNanos = fastInterval.toNanos();
        this.downNanos = downInterval.toNanos();
        this.tracker = previous == null ? new RiseFallTracker(rise, fall)
                : new RiseFallTracker(rise, fall, previous.tracker);
        this.history = previous == null ? new CheckHistory() : previous.history;
        if (previous != null) {
            this.transitionSince = previous.transitionSince;
            this.lastTransition = previous.lastTransition;
        }
        this.metrics = metrics;
        this.publisher = publisher;
    }

    Backend backend() {
        return backend;
    }

    CheckHistory history() {
        return history;
    }

    /** Schedules the first probe soon (within a tenth of the interval), so the first verdict comes quickly. */
    void start() {
        assert loop.inEventLoop();
        schedule(jitter());
    }

    /** Stops probing; a probe in flight is abandoned and its connection closed. */
    void stop() {
        assert loop.inEventLoop();
        stopped = true;
        if (next != null) {
            next.cancel(false);
        }
        if (inFlight != null) {
            inFlight.abandon();
        }
    }

    /**
     * A dial by the proxy failed: counts as a failed check. Called on a proxy event loop; never blocks.
     * While one observation waits for the prober's loop, further ones are dropped: a burst of
     * failed dials is one piece of news, and the tracker is only fed at the loop's pace.
     */
    void passiveFailure(ConnectFailure reason, Throwable cause) {
        if (!passivePending.compareAndSet(false, true)) {
            return;
        }
        loop.execute(() -> {
            passivePending.set(false);
            // Once DOWN, more failed dials say nothing new; keep the probes' results in the history.
            if (stopped || tracker.health() == Health.DOWN) {
                return;
            }
            CheckStatus status = switch (reason) {
                case CONNECT_TIMEOUT -> CheckStatus.L4TOUT;
                // Accepted, then silent through the TLS handshake: what a probe would call L6TOUT.
                case FIRST_BYTE_TIMEOUT -> CheckStatus.L6TOUT;
                default -> CheckStatus.L4CON;
            };
            String error = "proxy connect: " + reason.tag()
                    + (cause != null ? " (" + ProbeAttempt.describe(cause) + ")" : "");
            observe(new CheckResult(status, Duration.ZERO, Instant.now(), 0, error));
        });
    }

    private void schedule(long delayNanos) {
        next = loop.schedule(this::probeNow, delayNanos, TimeUnit.NANOSECONDS);
    }

    private void probeNow() {
        if (stopped) {
            return;
        }
        long started = System.nanoTime();
        inFlight = probe.run(result -> {
            inFlight = null;
            metrics.checked(backend, result);
            observe(result);
            long elapsed = System.nanoTime() - started;
            if (tracker.inTransition()) {
                // In doubt: the edge interval counts from this result, so a probe that timed out is
                // not followed at once by another that meets the same hiccup.
                schedule(fastNanos);
            } else {
                long every = tracker.health() == Health.DOWN ? downNanos : intervalNanos;
                schedule(Math.max(0, every - jitter(every) - elapsed));
            }
        });
    }

    CheckResults.Transition transition() {
        return new CheckResults.Transition(transitionSince, lastTransition);
    }

    /** Records a result and feeds the tracker; package-private so rise/fall can be driven in tests. */
    void observe(CheckResult result) {
        history.add(result);
        if (!result.status().observedMaster()) {
            // apilb's own shortage: keep the verdict and the streak, probe again at the next interval.
            return;
        }
        boolean wasInDoubt = tracker.inTransition();
        Health flipped = tracker.record(result.status().ok());
        if (flipped != null) {
            Instant since = transitionSince != null ? transitionSince : result.at();
            lastTransition = Duration.between(since, result.at());
            transitionSince = null;
            publisher.publish(backend, flipped, result);
        } else if (tracker.inTransition() && !wasInDoubt) {
            transitionSince = result.at();
            // Doubt arose between probes (a passive failure): bring the next probe forward.
            if (inFlight == null && next != null && next.getDelay(TimeUnit.NANOSECONDS) > fastNanos) {
                next.cancel(false);
                schedule(fastNanos);
            }
        } else if (!tracker.inTransition()) {
            transitionSince = null;
        }
    }

    private long jitter() {
        return jitter(intervalNanos);
    }

    private static long jitter(long every) {
        long bound = every / 10;
        return bound > 0 ? ThreadLocalRandom.current().nextLong(bound) : 0;
    }
}
