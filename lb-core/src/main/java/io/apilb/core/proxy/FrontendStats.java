package io.apilb.core.proxy;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * Counters of the client side, all listeners together. Updated from the proxy event loops
 * without locks; read by metrics and the admin API.
 */
public final class FrontendStats {
    private final AtomicInteger active = new AtomicInteger();
    private final LongAdder accepted = new LongAdder();
    private final LongAdder[] rejected = new LongAdder[RejectReason.values().length];
    private final LongAdder noBackend = new LongAdder();
    private final LongAdder failOpen = new LongAdder();
    private final LongAdder clientHelloTimeouts = new LongAdder();
    private final SourceLimiter sources;

    public FrontendStats() {
        this(new SourceLimiter());
    }

    FrontendStats(SourceLimiter sources) {
        this.sources = sources;
        for (int i = 0; i < rejected.length; i++) {
            rejected[i] = new LongAdder();
        }
    }

    /** The per-address connection table, which outlives reloads like these counters. */
    public SourceLimiter sources() {
        return sources;
    }

    /** Client connections open now. */
    public int active() {
        return active.get();
    }

    /** Client connections accepted since start, including those rejected at once. */
    public long accepted() {
        return accepted.sum();
    }

    /** Client connections closed at once because a limit was reached, whichever. */
    public long rejected() {
        long sum = 0;
        for (LongAdder r : rejected) {
            sum += r.sum();
        }
        return sum;
    }

    /** Client connections closed at once because of {@code reason}. */
    public long rejected(RejectReason reason) {
        return rejected[reason.ordinal()].sum();
    }

    /** Client connections closed because no backend could be dialled. */
    public long noBackend() {
        return noBackend.sum();
    }

    /** Connections routed while no backend was routable (health checks failing everywhere). */
    public long failOpen() {
        return failOpen.sum();
    }

    /** Client connections closed because they sent nothing within {@code timeouts.clientHello}. */
    public long clientHelloTimeouts() {
        return clientHelloTimeouts.sum();
    }

    int opened() {
        accepted.increment();
        return active.incrementAndGet();
    }

    void closed() {
        if (active.decrementAndGet() == 0) {
            synchronized (this) {
                notifyAll();
            }
        }
    }

    /**
     * Waits until no client connection is open, for at most {@code timeout}. Blocks the caller:
     * never call it from an event loop.
     *
     * @return true when none is open
     */
    boolean awaitNoActive(java.time.Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (this) {
            while (active.get() > 0) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                try {
                    // Bounded wait: a close between the check and the wait is seen within 100 ms.
                    wait(Math.max(1, Math.min(100, left / 1_000_000)));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return active.get() == 0;
                }
            }
        }
        return true;
    }

    void rejectedByLimit() {
        rejected[RejectReason.MAX_CONNECTIONS.ordinal()].increment();
    }

    /** A connection refused before {@link #opened()}: still one accepted. */
    void rejectedAtAccept(RejectReason reason) {
        accepted.increment();
        rejected[reason.ordinal()].increment();
    }

    void noBackendFound() {
        noBackend.increment();
    }

    void routedFailOpen() {
        failOpen.increment();
    }

    void clientHelloTimedOut() {
        clientHelloTimeouts.increment();
    }
}
