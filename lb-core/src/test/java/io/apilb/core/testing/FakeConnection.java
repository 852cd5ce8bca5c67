package io.apilb.core.testing;

import io.apilb.core.backend.ProxiedConnection;
import io.apilb.core.backend.Termination;

import java.util.function.Predicate;

/**
 * A stand-in for a proxied connection, for tests that count or close a backend's connections
 * without relaying bytes. Each instance is distinct (a lambda without captures would be one shared
 * instance, and a set of connections would hold it once); it remembers why it was closed. Its
 * times (nanos on whatever clock the test drives) default to 0 and can be set.
 */
public final class FakeConnection implements ProxiedConnection {
    private volatile Termination closedWith;
    private volatile long establishedAt;
    private volatile long lastClientByte;
    private volatile long lastBackendByte;
    private volatile boolean backlogged;
    private volatile Runnable beforeCheck = () -> { };

    public FakeConnection() {
    }

    /** A connection established at {@code establishedAt} with no byte either way since. */
    public FakeConnection(long establishedAt) {
        this.establishedAt = establishedAt;
        this.lastClientByte = establishedAt;
        this.lastBackendByte = establishedAt;
    }

    @Override
    public void close(Termination why) {
        closedWith = why;
    }

    /** Tests {@code stillTrue} at once, as if on the connection's own thread, after {@link #beforeCheck}. */
    @Override
    public void closeIf(Predicate<ProxiedConnection> stillTrue, Termination why) {
        beforeCheck.run();
        if (closedWith == null && stillTrue.test(this)) {
            close(why);
        }
    }

    /** Why it was closed, or null. */
    public Termination closedWith() {
        return closedWith;
    }

    /** The client sent bytes at {@code nanos}. */
    public FakeConnection clientSentAt(long nanos) {
        lastClientByte = nanos;
        return this;
    }

    /** The backend sent bytes at {@code nanos}. */
    public FakeConnection backendSentAt(long nanos) {
        lastBackendByte = nanos;
        return this;
    }

    /** Runs {@code r} when a conditional close reaches the connection's thread, e.g. bytes arriving just then. */
    public FakeConnection beforeCheck(Runnable r) {
        beforeCheck = r;
        return this;
    }

    public FakeConnection backlogged(boolean on) {
        backlogged = on;
        return this;
    }

    @Override
    public long establishedAtNanos() {
        return establishedAt;
    }

    @Override
    public long lastClientByteNanos() {
        return lastClientByte;
    }

    @Override
    public long lastBackendByteNanos() {
        return lastBackendByte;
    }

    @Override
    public boolean backlogged() {
        return backlogged;
    }
}
