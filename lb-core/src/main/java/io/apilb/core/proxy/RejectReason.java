package io.apilb.core.proxy;

import java.util.Locale;

/**
 * Why a client connection was closed as soon as it was accepted. The same value tags
 * {@code apilb_frontend_rejected_total{reason}} and names the limit in the log.
 */
public enum RejectReason {
    /** {@code limits.maxConnections}: every listener together is full. */
    MAX_CONNECTIONS,
    /** {@code limits.perSource.maxConnections}: this client address holds enough connections. */
    PER_SOURCE_CONNECTIONS,
    /** {@code limits.perSource.rate}: this client address opens connections too fast. */
    PER_SOURCE_RATE;

    private final String tag = name().toLowerCase(Locale.ROOT);

    /** The metric tag: {@code max_connections}, {@code per_source_connections}, {@code per_source_rate}. */
    public String tag() {
        return tag;
    }
}
