package io.apilb.core.backend;

import io.apilb.core.config.BackendConfig;
import io.apilb.core.resource.LocalResourceError;
import io.apilb.core.resource.LocalResources;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.time.Duration;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.LongSupplier;

/**
 * The set of backends, their weights and their states. Writers (health checker, admin API, reload)
 * go through the synchronized mutators, which republish an immutable {@link Snapshot}; the proxy
 * reads {@link #snapshot()} without locking.
 *
 * <p>A backend that must lose its connections (maintenance, found dead, removed) first refuses new
 * registrations, then has its registered connections closed, so that a dial completing at that
 * moment cannot slip past the sweep ({@link BackendConnections}).
 *
 * <p>Slow start ({@link #setSlowStart}, off by default): a backend that turns UP after being DOWN
 * gets an effective weight that grows linearly from 10 % to 100 % of its weight over the window,
 * so a returning master is not handed every reconnecting client at once. The effective weights are
 * computed here, where the snapshot is built, so that every policy and the rebalancer read the
 * same numbers; {@link #refreshSlowStart()} republishes them while a ramp runs. Weights are
 * integers, so while a ramp runs the published ones are scaled by {@value #RAMP_SCALE} (10 % of
 * weight 1 is 10) and then divided by their greatest common divisor, which keeps a round-robin
 * wheel small; with no ramp they are the configured weights. Only ratios matter to selection.
 * The first verdict after start, or after a backend is added, starts no ramp.
 */
public final class BackendPool {
    private static final Logger log = LoggerFactory.getLogger(BackendPool.class);
    /** What effective weights are multiplied by while a ramp runs, so 10 % of weight 1 stays an integer. */
    static final int RAMP_SCALE = 100;
    private static final double RAMP_FLOOR = 0.1;

    private final Map<String, Backend> byName = new LinkedHashMap<>();
    private final Map<Backend, Integer> weights = new IdentityHashMap<>();
    // Added by a reload and not yet vouched for by a check: kept out of the routable set.
    private final Map<Backend, Boolean> awaitingFirstCheck = new IdentityHashMap<>();
    // Why a backend that is DOWN refuses connections: set when it was found dead, null when it
    // answered but was not ready (those connections finish on their own).
    private final Map<Backend, Termination> downCloses = new IdentityHashMap<>();
    // Backends in a slow-start ramp, with the nanoTime it began.
    private final Map<Backend, Long> rampSince = new IdentityHashMap<>();
    private final LongSupplier nanoClock;
    private long slowStartNanos;
    private final List<BackendListener> listeners = new CopyOnWriteArrayList<>();
    private volatile Snapshot snapshot;
    private volatile ConnectObserver connectObserver = ConnectObserver.NONE;

    public BackendPool(List<BackendConfig> configs) {
        this(configs, System::nanoTime);
    }

    /** @param nanoClock the clock of slow-start ramps ({@link System#nanoTime()}; tests pass a fake one) */
    public BackendPool(List<BackendConfig> configs, LongSupplier nanoClock) {
        Objects.requireNonNull(configs, "configs");
        this.nanoClock = Objects.requireNonNull(nanoClock, "nanoClock");
        for (BackendConfig c : configs) {
            Backend b = new Backend(c);
            if (byName.putIfAbsent(c.name(), b) != null) {
                throw new IllegalArgumentException("backends: duplicate name \"" + c.name() + '"');
            }
            weights.put(b, c.weight());
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
        boolean ramping;
        synchronized (this) {
            checkMember(backend);
            old = backend.health();
            boolean vouched = health != Health.UNKNOWN && awaitingFirstCheck.remove(backend) != null;
            if (old == health) {
                if (vouched) {
                    publish();
                }
                return;
            }
            state = backend.adminState();
            backend.health(health);
            if (health == Health.DOWN && closeWith != null) {
                downCloses.put(backend, closeWith);
            } else {
                downCloses.remove(backend);
            }
            refreshRefusal(backend);
            if (health == Health.UP && old == Health.DOWN && slowStartNanos > 0) {
                rampSince.put(backend, nanoClock.getAsLong());
            } else if (health != Health.UP) {
                rampSince.remove(backend);
            }
            ramping = rampSince.containsKey(backend);
            publish();
        }
        if (ramping) {
            log.info("backend={} slow start over {} ms", backend.name(), slowStartNanos / 1_000_000);
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
            refreshRefusal(backend);
            publish();
        }
        log.info("backend={} state {} -> {}", backend.name(), old, state);
        fire(backend, health, old);
        if (state == AdminState.MAINT) {
            backend.closeConnections(Termination.BACKEND_MAINT);
        }
    }

    /**
     * Sets the slow-start window ({@code slowStart}; zero turns it off and ends running ramps).
     * Ramps already running keep their start and take the new length.
     */
    public void setSlowStart(Duration window) {
        Objects.requireNonNull(window, "window");
        synchronized (this) {
            slowStartNanos = window.toNanos();
            if (slowStartNanos == 0) {
                rampSince.clear();
            }
            publish();
        }
    }

    /**
     * Republishes the snapshot with the effective weights of now, while a slow-start ramp runs;
     * does nothing otherwise. Called on a timer by the thread that runs ramps, never on an event loop.
     */
    public synchronized void refreshSlowStart() {
        if (!rampSince.isEmpty()) {
            publish();
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
     * @param removed backends no longer configured: out of the snapshot, refusing new connections,
     *                open ones still open
     * @param kept    backends whose name and address are unchanged: same object, same counters,
     *                health, admin state and connections (the new weight is in the new snapshot)
     */
    public record Change(List<Backend> added, List<Backend> removed, List<Backend> kept) {
    }

    /**
     * Applies a new backend list atomically and republishes the snapshot. Added backends take new
     * connections at once (use this when nothing checks health).
     */
    public Change reconfigure(List<BackendConfig> configs) {
        return reconfigure(configs, false);
    }

    /**
     * Applies a new backend list atomically and republishes the snapshot.
     *
     * @param holdAddedUntilChecked when true, added backends take no new connections until the
     *                              health checker's first verdict on them ({@link #setHealth}): a
     *                              master that is still starting must not get traffic on the
     *                              strength of not being known yet
     */
    public Change reconfigure(List<BackendConfig> configs, boolean holdAddedUntilChecked) {
        Objects.requireNonNull(configs, "configs");
        List<Backend> added = new ArrayList<>();
        List<Backend> removed = new ArrayList<>();
        List<Backend> kept = new ArrayList<>();
        synchronized (this) {
            Map<String, Backend> next = new LinkedHashMap<>();
            Map<Backend, Integer> nextWeights = new IdentityHashMap<>();
            for (BackendConfig c : configs) {
                Backend old = byName.get(c.name());
                Backend b;
                if (old != null && old.address().equals(c.address())) {
                    kept.add(old);
                    b = old;
                } else {
                    b = new Backend(c);
                    added.add(b);
                }
                if (next.putIfAbsent(c.name(), b) != null) {
                    throw new IllegalArgumentException("backends: duplicate name \"" + c.name() + '"');
                }
                nextWeights.put(b, c.weight());
            }
            for (Backend old : byName.values()) {
                if (next.get(old.name()) != old) {
                    removed.add(old);
                }
            }
            byName.clear();
            byName.putAll(next);
            weights.clear();
            weights.putAll(nextWeights);
            for (Backend b : removed) {
                awaitingFirstCheck.remove(b);
                rampSince.remove(b);
                downCloses.remove(b);
                b.connections().refuse(Termination.BACKEND_REMOVED);
            }
            if (holdAddedUntilChecked) {
                added.forEach(b -> awaitingFirstCheck.put(b, Boolean.TRUE));
            }
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

    /** Whether an added backend still waits for its first verdict. */
    public synchronized boolean awaitingFirstCheck(Backend backend) {
        return awaitingFirstCheck.containsKey(backend);
    }

    // Refusing new registrations is derived from state: maintenance, or DOWN as dead.
    private void refreshRefusal(Backend b) {
        Termination why = b.adminState() == AdminState.MAINT ? Termination.BACKEND_MAINT
                : b.health() == Health.DOWN ? downCloses.get(b) : null;
        b.connections().refuse(why);
    }

    private void publish() {
        long now = nanoClock.getAsLong();
        rampSince.values().removeIf(since -> now - since >= slowStartNanos);
        List<Backend> all = new ArrayList<>(byName.values());
        int[] allWeights = new int[all.size()];
        double[] progress = new double[all.size()];
        List<Backend> routable = new ArrayList<>();
        List<Backend> failOpen = new ArrayList<>();
        for (int i = 0; i < all.size(); i++) {
            Backend b = all.get(i);
            int w = weights.get(b);
            allWeights[i] = w;
            Long since = rampSince.get(b);
            progress[i] = since == null ? Snapshot.NO_RAMP : (double) (now - since) / slowStartNanos;
            if (w == 0) {
                continue;
            }
            if (b.eligible() && !awaitingFirstCheck.containsKey(b)) {
                routable.add(b);
            }
            if (b.adminState() == AdminState.READY) {
                failOpen.add(b);
            }
        }
        snapshot = new Snapshot(all, allWeights, progress, candidates(routable, now), candidates(failOpen, now));
    }

    private Candidates candidates(List<Backend> backends, long now) {
        if (backends.isEmpty()) {
            return Candidates.NONE;
        }
        int[] w = new int[backends.size()];
        for (int i = 0; i < w.length; i++) {
            w[i] = weights.get(backends.get(i));
        }
        if (!rampSince.isEmpty()) {
            int gcd = 0;
            for (int i = 0; i < w.length; i++) {
                Long since = rampSince.get(backends.get(i));
                double factor = since == null ? 1 : rampFactor((double) (now - since) / slowStartNanos);
                w[i] = w[i] == 0 ? 0 : (int) Math.max(1, Math.round(w[i] * RAMP_SCALE * factor));
                gcd = gcd(gcd, w[i]);
            }
            for (int i = 0; gcd > 1 && i < w.length; i++) {
                w[i] /= gcd;
            }
        }
        return new Candidates(backends.toArray(new Backend[0]), w);
    }

    /** The share of its weight a backend gets at {@code progress} (0-1) through its ramp: 10 % to 100 %. */
    static double rampFactor(double progress) {
        return RAMP_FLOOR + (1 - RAMP_FLOOR) * Math.min(1, Math.max(0, progress));
    }

    private static int gcd(int a, int b) {
        while (b != 0) {
            int t = a % b;
            a = b;
            b = t;
        }
        return a;
    }
}
