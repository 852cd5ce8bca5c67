package io.apilb.core.proxy;

import io.apilb.core.backend.Backend;
import io.apilb.core.backend.BackendPool;
import io.apilb.core.backend.Snapshot;
import io.apilb.core.balance.Selector;

import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What every connection of a proxy shares: the pool, the policy, the connector and the counters.
 * Immutable apart from counters and the set of live connections; a reload builds a new one and new
 * connections pick it up while old ones keep theirs.
 */
final class ProxyContext {

    final BackendPool pool;
    final Selector selector;
    final BackendConnector connector;
    final FrontendStats stats;
    final int retries;
    final boolean failOpen;
    final int maxConnections;
    final long idleMillis;
    final Set<FrontendHandler> connections;
    private final AtomicLong ids;

    ProxyContext(BackendPool pool, Selector selector, BackendConnector connector, FrontendStats stats, int retries,
                 boolean failOpen, int maxConnections, long idleMillis, Set<FrontendHandler> connections,
                 AtomicLong ids) {
        this.pool = pool;
        this.selector = selector;
        this.connector = connector;
        this.stats = stats;
        this.retries = retries;
        this.failOpen = failOpen;
        this.maxConnections = maxConnections;
        this.idleMillis = idleMillis;
        this.connections = connections;
        this.ids = ids;
    }

    /** A context for tests and single-listener use: its own id counter and connection set. */
    static ProxyContext standalone(BackendPool pool, Selector selector, BackendConnector connector, int retries,
                                   boolean failOpen, int maxConnections, long idleMillis) {
        return new ProxyContext(pool, selector, connector, new FrontendStats(), retries, failOpen, maxConnections,
                idleMillis, ConcurrentHashMap.newKeySet(), new AtomicLong());
    }

    long nextId() {
        return ids.incrementAndGet();
    }

    /**
     * The backends a new connection may go to: the routable ones, or when there are none and
     * fail-open is on, every READY backend whatever its health: a probe that fails everywhere
     * (a 401 from /readyz, say) must not take the control plane offline.
     */
    List<Backend> candidates() {
        Snapshot s = pool.snapshot();
        if (!s.routable().isEmpty() || !failOpen) {
            return s.routable();
        }
        if (!s.failOpen().isEmpty()) {
            // Counted here; the health checker logs the episode once, when every backend went DOWN.
            stats.routedFailOpen();
        }
        return s.failOpen();
    }
}
