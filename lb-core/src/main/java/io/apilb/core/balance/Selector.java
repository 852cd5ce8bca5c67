package io.apilb.core.balance;

import io.apilb.core.backend.Backend;
import io.apilb.core.config.BalancePolicy;

import java.util.List;
import java.util.Set;

/**
 * Chooses the backend for a new connection among candidates (normally
 * {@code pool.snapshot().routable()}). Implementations are thread-safe and lock-free: they are
 * called from every proxy event loop at once.
 */
public interface Selector {

    /**
     * @param candidates backends to choose from; an immutable list whose identity is stable
     *                   until the pool changes (implementations may cache per list)
     * @param exclude    backends already tried for this connection; never returned
     * @return the chosen backend, or null when every candidate is excluded or has weight 0
     */
    Backend select(List<Backend> candidates, Set<Backend> exclude);

    /** Weighted round robin, smooth: weights 2:1 give A B A A B A, not A A B. */
    static Selector roundRobin() {
        return new RoundRobinSelector();
    }

    /** Fewest live connections relative to weight; ties rotate. */
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
}
