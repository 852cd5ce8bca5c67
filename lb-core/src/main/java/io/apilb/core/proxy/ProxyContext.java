package io.apilb.core.proxy;

import io.apilb.core.backend.BackendPool;
import io.apilb.core.balance.Selector;

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
    final long clientHelloMillis;
    final long firstByteMillis;
    final Set<FrontendHandler> connections;
    private final AtomicLong ids;

    ProxyContext(BackendPool pool, Selector selector, BackendConnector connector, FrontendStats stats, int retries,
                 boolean failOpen, int maxConnections, long idleMillis, long clientHelloMillis, long firstByteMillis,
                 Set<FrontendHandler> connections, AtomicLong ids) {
        this.pool = pool;
        this.selector = selector;
        this.connector = connector;
        this.stats = stats;
        this.retries = retries;
        this.failOpen = failOpen;
        this.maxConnections = maxConnections;
        this.idleMillis = idleMillis;
        this.clientHelloMillis = clientHelloMillis;
        this.firstByteMillis = firstByteMillis;
        this.connections = connections;
        this.ids = ids;
    }

    /** A context for tests and single-listener use: its own id counter and connection set. */
    static ProxyContext standalone(BackendPool pool, Selector selector, BackendConnector connector, int retries,
                                   boolean failOpen, int maxConnections, long idleMillis) {
        return standalone(pool, selector, connector, retries, failOpen, maxConnections, idleMillis, 0, 0);
    }

    /** As above, with {@code timeouts.clientHello} and {@code timeouts.firstByte} (0 = off). */
    static ProxyContext standalone(BackendPool pool, Selector selector, BackendConnector connector, int retries,
                                   boolean failOpen, int maxConnections, long idleMillis, long clientHelloMillis,
                                   long firstByteMillis) {
        return new ProxyContext(pool, selector, connector, new FrontendStats(), retries, failOpen, maxConnections,
                idleMillis, clientHelloMillis, firstByteMillis, ConcurrentHashMap.newKeySet(), new AtomicLong());
    }

    long nextId() {
        return ids.incrementAndGet();
    }
}
