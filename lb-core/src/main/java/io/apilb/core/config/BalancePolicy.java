package io.apilb.core.config;

/** How the proxy chooses a backend for a new connection. */
public enum BalancePolicy {
    /** Weighted round robin over the routable backends (the default). */
    ROUNDROBIN,
    /** Fewest active connections relative to weight; best for long-lived watches. */
    LEASTCONN,
    /** Power of two random choices, weighted, the less loaded of the two wins. */
    RANDOM
}
