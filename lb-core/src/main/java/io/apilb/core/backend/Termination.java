package io.apilb.core.backend;

import java.util.Locale;

/** Why a proxied connection ended; the last field of its access-log line. */
public enum Termination {
    /** The client closed (or half-closed both ways) first. */
    CLIENT_CLOSE,
    /** The backend closed first. */
    BACKEND_CLOSE,
    /** No bytes either way for the idle timeout. */
    IDLE_TIMEOUT,
    /** The client sent nothing within {@code timeouts.clientHello} of connecting; nothing was dialled. */
    CLIENT_HELLO_TIMEOUT,
    /** The backend was found dead by the health checker. */
    BACKEND_DOWN,
    /** An operator put the backend in maintenance. */
    BACKEND_MAINT,
    /** The drain timeout of a drained or removed backend ran out. */
    DRAIN_TIMEOUT,
    /** A reload removed the backend. */
    BACKEND_REMOVED,
    /** Every dial failed, or no backend could be chosen. */
    NO_BACKEND,
    /** {@code limits.maxConnections} was reached when it was accepted. */
    LIMIT,
    /**
     * Closed by rebalancing: old and quiet on a master that carried more than its share, so the
     * client reconnects once to a less loaded one.
     */
    REBALANCE,
    /** The shutdown grace ran out. */
    SHUTDOWN,
    /** A socket error on either side. */
    ERROR;

    /** Lower-case form used in logs and metric tags, e.g. {@code backend_down}. */
    public String tag() {
        return name().toLowerCase(Locale.ROOT);
    }
}
