package io.apilb.core.backend;

import io.apilb.core.config.BackendConfig;
import io.apilb.core.config.HostPort;

import java.util.Objects;

/**
 * One API server: its identity, its two independent states (health, fed by the health checker;
 * admin state, set by an operator), its counters and its connections.
 *
 * <p>State is changed only through {@link BackendPool}, which republishes the routable snapshot.
 * Its weight is not here: it is part of what selection reads, so it lives in the {@link Snapshot}.
 * Reads are lock-free from any thread.
 */
public final class Backend {
    private final String name;
    private final HostPort address;
    private final BackendStats stats = new BackendStats();
    private final BackendConnections connections = new BackendConnections();

    private volatile Health health = Health.UNKNOWN;
    private volatile AdminState adminState = AdminState.READY;
    private volatile long lastChangeMillis = System.currentTimeMillis();
    private volatile long downSinceMillis = -1;
    private volatile long downtimeMillis;

    Backend(BackendConfig config) {
        Objects.requireNonNull(config, "config");
        this.name = config.name();
        this.address = config.address();
    }

    public String name() {
        return name;
    }

    public HostPort address() {
        return address;
    }

    public Health health() {
        return health;
    }

    public AdminState adminState() {
        return adminState;
    }

    public BackendStats stats() {
        return stats;
    }

    /** Its dials in flight and established connections. */
    public BackendConnections connections() {
        return connections;
    }

    /** Healthy enough and allowed to take new connections: not DOWN and READY (weight aside). */
    boolean eligible() {
        return health != Health.DOWN && adminState == AdminState.READY;
    }

    /** Wall-clock millis of the last health or admin-state change (or of creation). */
    public long lastChangeMillis() {
        return lastChangeMillis;
    }

    /** Total time spent DOWN, including the current spell if it is down now. */
    public long downtimeMillis() {
        long since = downSinceMillis;
        return downtimeMillis + (since >= 0 ? System.currentTimeMillis() - since : 0);
    }

    /** Closes every live connection to this backend; returns how many were asked to close. */
    public int closeConnections(Termination why) {
        return connections.closeAll(why);
    }

    // Only BackendPool mutates state, under its lock, so the snapshot and the fields agree.
    void health(Health next) {
        long now = System.currentTimeMillis();
        if (next == Health.DOWN && downSinceMillis < 0) {
            downSinceMillis = now;
        } else if (next != Health.DOWN && downSinceMillis >= 0) {
            downtimeMillis += now - downSinceMillis;
            downSinceMillis = -1;
        }
        health = next;
        lastChangeMillis = now;
    }

    void adminState(AdminState next) {
        adminState = next;
        lastChangeMillis = System.currentTimeMillis();
    }

    @Override
    public String toString() {
        return name + "(" + address + ")";
    }
}
