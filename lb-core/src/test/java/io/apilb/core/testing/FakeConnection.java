package io.apilb.core.testing;

import io.apilb.core.backend.ProxiedConnection;
import io.apilb.core.backend.Termination;

/**
 * A stand-in for a proxied connection, for tests that count or close a backend's connections
 * without relaying bytes. Each instance is distinct (a lambda without captures would be one shared
 * instance, and a set of connections would hold it once); it remembers why it was closed.
 */
public final class FakeConnection implements ProxiedConnection {
    private volatile Termination closedWith;

    @Override
    public void close(Termination why) {
        closedWith = why;
    }

    /** Why it was closed, or null. */
    public Termination closedWith() {
        return closedWith;
    }
}
