package io.apilb.core.backend;

import java.util.Collection;
import java.util.Collections;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * The connections of one backend: the one place that knows how many are being dialled, how many
 * are established, and which ones, so the API, the metrics, the selectors and the code that closes
 * them all read the same fact.
 *
 * <p>Two counts, kept apart because they mean different things:
 * <ul>
 *   <li>{@link #dialsInFlight()}: dials started and not yet finished (connected, failed or abandoned);</li>
 *   <li>{@link #active()}: established connections relaying bytes now, registered by the proxy once
 *       the backend leg is connected and kept until the connection closes.</li>
 * </ul>
 *
 * <p>Registration and closing race safely: the pool first {@linkplain #refuse(Termination) refuses}
 * new registrations, then closes what is registered; a connection registers first, then checks
 * the refusal. Either the sweep sees the connection or the connection sees the refusal, so a dial
 * that completes just as its backend goes into maintenance, dies or is removed never slips through.
 *
 * <p>Thread-safe and lock-free: written from every proxy event loop, read from anywhere.
 */
public final class BackendConnections {
    private final Set<ProxiedConnection> live = ConcurrentHashMap.newKeySet();
    private final AtomicInteger dialsInFlight = new AtomicInteger();
    private final AtomicInteger peak = new AtomicInteger();
    private final LongAdder total = new LongAdder();
    private volatile Termination refusing;

    BackendConnections() {
    }

    /** A dial to this backend started. Must be matched by one {@link #dialEnded()}. */
    public void dialStarted() {
        dialsInFlight.incrementAndGet();
    }

    /** A dial started by {@link #dialStarted()} finished, whatever its outcome. */
    public void dialEnded() {
        dialsInFlight.decrementAndGet();
    }

    /**
     * Registers an established connection, unless the backend refuses new ones (maintenance, dead
     * or removed since the dial started).
     *
     * @return null when registered; otherwise why the backend refuses it (the connection is not
     *         registered and the caller must not relay through it)
     */
    public Termination register(ProxiedConnection connection) {
        if (refusing != null) {
            return refusing;
        }
        live.add(connection);
        // Re-checked after the add: a refusal published between the first check and the add may
        // have swept the set before this connection was in it.
        Termination why = refusing;
        if (why != null) {
            live.remove(connection);
            return why;
        }
        total.increment();
        int now = live.size();
        int max;
        while (now > (max = peak.get())) {
            if (peak.compareAndSet(max, now)) {
                break;
            }
        }
        return null;
    }

    /** Forgets an established connection when it closes. */
    public void unregister(ProxiedConnection connection) {
        live.remove(connection);
    }

    /**
     * The established connections, as a live read-only view: iteration is weakly consistent
     * (it never fails, and may or may not show connections registered or closed meanwhile).
     */
    public Collection<ProxiedConnection> live() {
        return Collections.unmodifiableSet(live);
    }

    /** Established connections now. */
    public int active() {
        return live.size();
    }

    /** Dials started and not yet finished. */
    public int dialsInFlight() {
        return dialsInFlight.get();
    }

    /** The most established connections at once since the backend was configured. */
    public int peak() {
        return peak.get();
    }

    /** Connections established since the backend was configured. */
    public long total() {
        return total.sum();
    }

    /** Why new registrations are refused, or null while they are accepted. */
    public Termination refusing() {
        return refusing;
    }

    // Only BackendPool changes refusal and closes, under its lock, in that order.
    void refuse(Termination why) {
        refusing = why;
    }

    int closeAll(Termination why) {
        int n = 0;
        for (ProxiedConnection c : live) {
            c.closeFor(this, why);
            n++;
        }
        return n;
    }
}
