package io.apilb.core.balance;

import io.apilb.core.backend.Backend;
import io.apilb.core.backend.Candidates;
import io.apilb.core.config.BalancePolicy;

import java.util.Set;

/**
 * Chooses the backend for a new connection among candidates (normally
 * {@code pool.snapshot().routable()}). Implementations are thread-safe and lock-free: they are
 * called from every proxy event loop at once. They read weights only from the {@link Candidates}
 * they are given, never from elsewhere, so one choice sees one consistent set of weights.
 */
public interface Selector {

    /**
     * @param candidates backends to choose from with their weights; immutable, and the same object
     *                   until the pool changes (implementations may cache per instance)
     * @param exclude    backends already tried for this connection; never returned
     * @return the chosen backend, or null when every candidate is excluded or has weight 0
     */
    Backend select(Candidates candidates, Set<Backend> exclude);

    /** Weighted round robin, smooth: weights 2:1 give A B A A B A, not A A B. */
    static Selector roundRobin() {
        return new RoundRobinSelector();
    }

    /** Fewest connections (established plus dials in flight) relative to weight; ties rotate. */
    static Selector leastConn() {
        return new LeastConnSelector();
    }

    /** Power of two weighted random choices; the one with fewer connections per weight wins. */
    static Selector random() {
        return new RandomSelector();
    }

    static Selector of(BalancePolicy policy) {
        return switch (policy) {
            case ROUNDROBIN -> roundRobin();
            case LEASTCONN -> leastConn();
            case RANDOM -> random();
        };
    }

    /**
     * The load a connection-counting policy compares: established connections plus dials in
     * flight. Dials count so that a burst of new connections spreads instead of piling onto the
     * backend that looked emptiest when the burst began.
     */
    static int load(Backend backend) {
        return backend.connections().active() + backend.connections().dialsInFlight();
    }
}
