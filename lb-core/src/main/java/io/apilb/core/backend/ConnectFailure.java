package io.apilb.core.backend;

import java.util.Locale;

/**
 * Why dialling a backend failed. The same value is the {@code reason} tag of
 * {@code apilb_backend_connect_failures_total}, the log line and the access log.
 */
public enum ConnectFailure {
    /** The backend answered the SYN with a RST: nothing listens there. */
    CONNECT_REFUSED,
    /** No answer within the connect timeout. */
    CONNECT_TIMEOUT,
    /** The name did not resolve. */
    DNS,
    /** Any other socket error (unreachable network, no route, ...). */
    CONNECT_ERROR;

    /** Lower-case tag value, e.g. {@code connect_refused}. */
    public String tag() {
        return name().toLowerCase(Locale.ROOT);
    }
}
