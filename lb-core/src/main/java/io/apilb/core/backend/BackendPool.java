package io.apilb.core.backend;

import io.apilb.core.config.BackendConfig;
import io.apilb.core.resource.LocalResourceError;
import io.apilb.core.resource.LocalResources;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The set of backends and their states. Writers (health checker, admin API, reload) go through
 * the synchronized mutators, which republish an immutable {@link Snapshot}; the proxy reads
 * {@link #snapshot()} without locking.
 */
public final class BackendPool {
    private static final Logger log = LoggerFactory.getLogger(BackendPool.class);

    private final Map<String, Backend> byName = new LinkedHashMap<>();
    private final List<BackendListener> listeners = new CopyOnWriteArrayList<>();
    private volatile Snapshot snapshot;
    private volatile ConnectObserver connectObserver = ConnectObserver.NONE;

    public BackendPool(List<BackendConfig> configs) {
        Objects.requireNonNull(configs, "configs");
        for (BackendConfig c : configs) {
            if (byName.putIfAbsent(c.name(), new Backend(c)) != null) {
                throw new IllegalArgumentException("backends: duplicate name \"" + c.name() + '"');
            }
        }
        publish();
    }

    /** The current view; cheap, lock-free. */
    public Snapshot snapshot() {
        return snapshot;
    }

    /** Every backend, in config order. */
    public List<Backend> all() {
        return snapshot.all();
    }

    /** The backend with this name, or null. */
    public synchronized Backend get(String name) {
        return byName.get(name);
    }

    public void addListener(BackendListener listener) {
        listeners.add(Objects.requireNonNull(listener, "listener"));
    }

    public void removeListener(BackendListener listener) {
        listeners.remove(listener);
    }

    /** Installs the receiver of passive observations (the health checker). */
    public void setConnectObserver(ConnectObserver observer) {
        this.connectObserver = Objects.requireNonNull(observer, "observer");
    }

    /**
     * Records a new health verdict: the one narrow way health reaches the data plane.
     *
     * @param closeWith when not null and the backend turned DOWN, its live connections are closed
     *                  with this reason; null leaves them to finish (a master that answers but is
     *                  not ready closes them itself)
     */
    public void setHealth(Backend backend, Health health, Termination closeWith) {
        Objects.requireNonNull(health, "health");
        Health old;
        AdminState state;
        synchronized (this) {
            checkMember(backend);
            old = backend.health();
            if (old == health) {
                return;
            }
            state = backend.adminState();
            backend.health(health);
            publish();
        }
        fire(backend, old, state);
        if (health == Health.DOWN && closeWith != null) {
            int n = backend.closeConnections(closeWith);
            if (n > 0) {
                log.warn("backend={} closed {} connections ({})", backend.name(), n, closeWith.tag());
            }
        }
    }

    /** Sets the operator's state. {@code MAINT} closes the backend's live connections; {@code DRAIN} keeps them. */
    public void setAdminState(Backend backend, AdminState state) {
        Objects.requireNonNull(state, "state");
        AdminState old;
        Health health;
        synchronized (this) {
            checkMember(backend);
            old = backend.adminState();
            if (old == state) {
                return;
            }
            health = backend.health();
            backend.adminState(state);
            publish();
        }
        log.info("backend={} state {} -> {}", backend.name(), old, state);
        fire(backend, health, old);
        if (state == AdminState.MAINT) {
            backend.closeConnections(Termination.BACKEND_MAINT);
        }
    }

    /**
     * Counts a failed dial and passes it on as a passive health observation, unless apilb itself ran
     * short ({@link ConnectFailure#LOCAL_RESOURCE}): that is counted and logged as local, and the
     * backend, never reached, is not blamed.
     */
    public void connectFailed(Backend backend, ConnectFailure reason, Throwable cause) {
        backend.stats().connectFailed(reason);
        if (reason == ConnectFailure.LOCAL_RESOURCE) {
            LocalResourceError kind = LocalResourceError.of(cause);
            if (kind != null) {
                LocalResources.process().record(kind, "dial backend=" + backend.name());
            }
            return;
        }
        connectObserver.connectFailed(backend, reason, cause);
    }

    /** Passes a successful dial on as a passive health observation. */
    public void connectSucceeded(Backend backend) {
        connectObserver.connectSucceeded(backend);
    }

    /**
     * What a reload did to the pool.
     *
     * @param added   new backends (new name, or a known name at a new address), health UNKNOWN
     * @param removed backends no longer configured: out of the snapshot, connections still open
     * @param kept    backends whose name and address are unchanged: same object, same counters,
     *                health, admin state and connections (weight updated in place)
     */
    public record Change(List<Backend> added, List<Backend> removed, List<Backend> kept) {
    }

    /** Applies a new backend list atomically and republishes the snapshot. */
    public Change reconfigure(List<BackendConfig> configs) {
        Objects.requireNonNull(configs, "configs");
        List<Backend> added = new ArrayList<>();
        List<Backend> removed = new ArrayList<>();
        List<Backend> kept = new ArrayList<>();
        synchronized (this) {
            Map<String, Backend> next = new LinkedHashMap<>();
            for (BackendConfig c : configs) {
                Backend old = byName.get(c.name());
                Backend b;
                if (old != null && old.address().equals(c.address())) {
                    old.weight(c.weight());
                    kept.add(old);
                    b = old;
                } else {
                    b = new Backend(c);
                    added.add(b);
                }
                if (next.putIfAbsent(c.name(), b) != null) {
                    throw new IllegalArgumentException("backends: duplicate name \"" + c.name() + '"');
                }
            }
            for (Backend old : byName.values()) {
                if (next.get(old.name()) != old) {
                    removed.add(old);
                }
            }
            byName.clear();
            byName.putAll(next);
            publish();
        }
        if (!added.isEmpty() || !removed.isEmpty()) {
            log.info("backends reconfigured: added {}, removed {}, kept {}", names(added), names(removed), names(kept));
        }
        return new Change(List.copyOf(added), List.copyOf(removed), List.copyOf(kept));
    }

    private static List<String> names(List<Backend> backends) {
        List<String> out = new ArrayList<>(backends.size());
        for (Backend b : backends) {
            out.add(b.name());
        }
        return out;
    }

    private void checkMember(Backend backend) {
        if (byName.get(backend.name()) != backend) {
            throw new IllegalArgumentException("backend: " + backend.name() + " (expected: a member of this pool)");
        }
    }

    private void fire(Backend backend, Health oldHealth, AdminState oldState) {
        for (BackendListener l : listeners) {
            try {
                l.stateChanged(backend, oldHealth, oldState);
            } catch (RuntimeException e) {
                log.warn("backend listener failed on {}", backend.name(), e);
            }
        }
    }

    private void publish() {
        List<Backend> all = new ArrayList<>(byName.values());
        List<Backend> routable = new ArrayList<>();
        List<Backend> failOpen = new ArrayList<>();
        for (Backend b : all) {
            if (b.routable()) {
                routable.add(b);
            }
            if (b.adminState() == AdminState.READY && b.weight() > 0) {
                failOpen.add(b);
            }
        }
        snapshot = new Snapshot(all, routable, failOpen);
    }
}
