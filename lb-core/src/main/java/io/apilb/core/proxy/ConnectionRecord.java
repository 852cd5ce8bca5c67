package io.apilb.core.proxy;

import io.apilb.core.backend.Backend;
import io.apilb.core.backend.Termination;

import java.net.SocketAddress;

/**
 * What one connection's access-log line says: when it was accepted, how long its backend took,
 * the bytes each way, how many dials it took and why it ended (the first cause wins; later ones
 * are its consequences). Byte counts also feed the backend's counters as they happen. Confined to
 * the connection's event loop, except the three times rebalancing reads (see below).
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
    // Read by the rebalancer's thread to judge whether a request may be in flight. Volatile so that
    // a read there is never torn and at most one relay old: the event loop stamps them as bytes
    // arrive, and a stamp seen a moment late only makes a connection look quiet a moment longer,
    // the same instant a client may pick to send anyway, which the close cannot rule out.
    private volatile long establishedAt;
    private volatile long lastFromClient;
    private volatile long lastFromBackend;

    ConnectionRecord(long id) {
        this.id = id;
        this.establishedAt = acceptedAt;
        this.lastFromClient = acceptedAt;
        this.lastFromBackend = acceptedAt;
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
        long now = System.nanoTime();
        establishedAt = now;
        lastFromBackend = now;
        connectMillis = (now - acceptedAt) / 1_000_000;
        return connectMillis;
    }

    /** When the backend leg was connected ({@link System#nanoTime()}); any thread. */
    long establishedAt() {
        return establishedAt;
    }

    /** When the client's bytes were last relayed; any thread. */
    long lastFromClient() {
        return lastFromClient;
    }

    /** When the backend's bytes were last relayed; any thread. */
    long lastFromBackend() {
        return lastFromBackend;
    }

    /** Bytes read from the client, counted once whichever backends they go to. */
    void fromClient(int n) {
        lastFromClient = System.nanoTime();
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
        lastFromBackend = System.nanoTime();
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
