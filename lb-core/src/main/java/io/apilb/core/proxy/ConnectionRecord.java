package io.apilb.core.proxy;

import io.apilb.core.backend.Backend;
import io.apilb.core.backend.Termination;

import java.net.SocketAddress;

/**
 * What one connection's access-log line says: when it was accepted, how long its backend took,
 * the bytes each way, how many dials it took and why it ended (the first cause wins; later ones
 * are its consequences). Byte counts also feed the backend's counters as they happen. Confined to
 * the connection's event loop.
 */
final class ConnectionRecord {
    private final long id;
    private final long acceptedAt = System.nanoTime();
    private long connectMillis = -1;
    private long bytesIn;
    private long bytesOut;
    private int attempts;
    private String moved;
    private Termination termination;

    ConnectionRecord(long id) {
        this.id = id;
    }

    long id() {
        return id;
    }

    /** A dial started. */
    void attempted() {
        attempts++;
    }

    int attempts() {
        return attempts;
    }

    /** The backend leg is connected; returns the time since accept. */
    long connected() {
        connectMillis = (System.nanoTime() - acceptedAt) / 1_000_000;
        return connectMillis;
    }

    /** Bytes read from the client, counted once whichever backends they go to. */
    void fromClient(int n) {
        bytesIn += n;
    }

    /** Bytes written to {@code backend}: relayed, or the first flight replayed to a new backend. */
    static void sentTo(Backend backend, int n) {
        backend.stats().addBytesIn(n);
    }

    /** The connection left a backend before its first byte, for this reason (a tag). */
    void moved(String why) {
        moved = why;
    }

    /** Bytes relayed from {@code backend} to the client. */
    void toClient(Backend backend, int n) {
        bytesOut += n;
        backend.stats().addBytesOut(n);
    }

    /** Records why the connection ends, unless a cause is already recorded. */
    void terminate(Termination why) {
        if (termination == null) {
            termination = why;
        }
    }

    /** The recorded cause, or null. */
    Termination termination() {
        return termination;
    }

    /** Queues the access-log line; call once, when the connection is closed. */
    void log(SocketAddress client, String listener, Backend backend) {
        if (AccessLog.enabled()) {
            long duration = (System.nanoTime() - acceptedAt) / 1_000_000;
            AccessLog.write(id, AccessLog.format(client), listener, backend == null ? null : backend.name(),
                    connectMillis, duration, bytesIn, bytesOut, attempts, moved, termination);
        }
    }
}
