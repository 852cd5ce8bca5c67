package io.apilb.core.config;

import java.net.InetAddress;
import java.util.List;
import java.util.Objects;

/**
 * How many client connections apilb takes, in all and per client address.
 * <ul>
 *   <li>{@code maxConnections} (default 20000): client connections beyond it are closed as soon as
 *       they are accepted, and counted, so a connection storm cannot exhaust file descriptors. The
 *       last resort: {@code perSource} stops one client long before.</li>
 *   <li>{@code perSource}: see {@link PerSource}.</li>
 * </ul>
 */
public record Limits(int maxConnections, PerSource perSource) {
    public static final int DEFAULT_MAX_CONNECTIONS = 20_000;
    public static final Limits DEFAULTS = new Limits(DEFAULT_MAX_CONNECTIONS, PerSource.DEFAULTS);

    public Limits {
        Objects.requireNonNull(perSource, "perSource");
        if (maxConnections < 1) {
            throw new IllegalArgumentException("maxConnections: " + maxConnections + " (expected: >= 1)");
        }
    }

    /** A global limit with the default per-source limits. */
    public Limits(int maxConnections) {
        this(maxConnections, PerSource.DEFAULTS);
    }

    /**
     * Limits per client address, where an IPv6 client is its /64 (one host usually holds a whole
     * /64, so counting single IPv6 addresses would limit nothing). Over a limit a new connection is
     * closed at once and counted by reason.
     * <ul>
     *   <li>{@code maxConnections} (default 1000): connections one address may hold open.</li>
     *   <li>{@code rate} (default 0 = off): new connections per second one address may open. A token
     *       bucket holding one second's worth: an address may open {@code rate} connections at once,
     *       then {@code rate} per second.</li>
     *   <li>{@code allow} (default none): addresses and CIDRs exempt from both, e.g. the masters
     *       themselves or a monitoring host.</li>
     * </ul>
     */
    public record PerSource(int maxConnections, int rate, List<Cidr> allow) {
        public static final PerSource DEFAULTS = new PerSource(1000, 0, List.of());

        public PerSource {
            allow = List.copyOf(allow);
            if (maxConnections < 1) {
                throw new IllegalArgumentException("maxConnections: " + maxConnections + " (expected: >= 1)");
            }
            if (rate < 0) {
                throw new IllegalArgumentException("rate: " + rate + " (expected: >= 0)");
            }
        }

        /** True when {@code address} is on the allow list. */
        public boolean allows(InetAddress address) {
            for (Cidr c : allow) {
                if (c.contains(address)) {
                    return true;
                }
            }
            return false;
        }
    }
}
