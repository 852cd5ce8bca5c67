package io.apilb.core.backend;

import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * Traffic counters of one backend: bytes each way and failed dials by reason. Written from every
 * proxy event loop without locks ({@link LongAdder}s), read by metrics and the admin API.
 * Connection counts are {@link BackendConnections}'.
 */
public final class BackendStats {
    private final LongAdder bytesIn = new LongAdder();
    private final LongAdder bytesOut = new LongAdder();
    private final EnumMap<ConnectFailure, LongAdder> connectFailures = new EnumMap<>(ConnectFailure.class);
    private final EnumMap<ConnectFailure, AtomicLong> lastConnectFailure = new EnumMap<>(ConnectFailure.class);

    BackendStats() {
        for (ConnectFailure f : ConnectFailure.values()) {
            connectFailures.put(f, new LongAdder());
            lastConnectFailure.put(f, new AtomicLong(-1));
        }
    }

    /** Bytes sent from clients to this backend. */
    public void addBytesIn(long n) {
        bytesIn.add(n);
    }

    /** Bytes sent from this backend to clients. */
    public void addBytesOut(long n) {
        bytesOut.add(n);
    }

    void connectFailed(ConnectFailure reason) {
        connectFailures.get(reason).increment();
        lastConnectFailure.get(reason).set(System.currentTimeMillis());
    }

    /** Wall-clock millis of the last failed dial for {@code reason}, or -1 if none. */
    public long lastConnectFailureMillis(ConnectFailure reason) {
        return lastConnectFailure.get(reason).get();
    }

    /** Bytes from clients to the backend. */
    public long bytesIn() {
        return bytesIn.sum();
    }

    /** Bytes from the backend to clients. */
    public long bytesOut() {
        return bytesOut.sum();
    }

    /** Failed dials for one reason. */
    public long connectFailures(ConnectFailure reason) {
        return connectFailures.get(reason).sum();
    }

    /** Failed dials, all reasons. */
    public long connectFailures() {
        long sum = 0;
        for (LongAdder a : connectFailures.values()) {
            sum += a.sum();
        }
        return sum;
    }

    /** Failed dials by reason, a copy. */
    public Map<ConnectFailure, Long> connectFailuresByReason() {
        EnumMap<ConnectFailure, Long> copy = new EnumMap<>(ConnectFailure.class);
        connectFailures.forEach((k, v) -> copy.put(k, v.sum()));
        return copy;
    }
}
