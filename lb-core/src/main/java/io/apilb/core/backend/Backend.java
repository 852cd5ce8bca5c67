package io.apilb.core.backend;

import io.apilb.core.config.BackendConfig;
import io.apilb.core.config.HostPort;

import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One API server: its identity, its two independent states (health, fed by the health checker;
 * admin state, set by an operator), its counters and its live connections.
 *
 * <p>State is changed only through {@link BackendPool}, which republishes the routable snapshot.
 * Reads are lock-free from any thread.
 */
public final class Backend {
    private final String name;
    private final HostPort address;
    private volatile int weight;
    private final BackendStats stats = new BackendStats();
    private final Set<ProxiedConnection> connections = ConcurrentHashMap.newKeySet();

    private volatile Health health = Health.UNKNOWN;
    private volatile AdminState adminState = AdminState.READY;
    private volatile long lastChangeMillis = System.currentTimeMillis();
    private volatile long downSinceMillis = -1;
    private volatile long downtimeMillis;

    Backend(BackendConfig config) {
        Objects.requireNonNull(config, "config");
        this.name = config.name();
        this.address = config.address();
        this.weight = config.weight();
    }

    public String name() {
        return name;
    }

    public HostPort address() {
        return address;
    }

    public int weight() {
        return weight;
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

    /** Takes new connections: not DOWN, READY and with a weight above zero. */
    public boolean routable() {
        return health != Health.DOWN && adminState == AdminState.READY && weight > 0;
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

    /** Live connections relayed to this backend now. */
    public int connectionCount() {
        return connections.size();
    }

    /** Registers a relayed connection. Called by the proxy once the backend leg is connected. */
    public void register(ProxiedConnection connection) {
        connections.add(connection);
    }

    /** Forgets a relayed connection. Called by the proxy when it closes. */
    public void unregister(ProxiedConnection connection) {
        connections.remove(connection);
    }

    /** Closes every live connection to this backend; returns how many were asked to close. */
    public int closeConnections(Termination why) {
        int n = 0;
        for (ProxiedConnection c : connections) {
            c.close(why);
            n++;
        }
        return n;
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

    void weight(int next) {
        weight = next;
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
