package io.apilb.core.backend;

import io.apilb.core.resource.LocalResourceError;

import io.netty.channel.ConnectTimeoutException;

import java.net.ConnectException;
import java.net.UnknownHostException;
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
    CONNECT_ERROR,
    /**
     * Connected, but the backend sent nothing within {@code timeouts.firstByte} of getting the
     * client's first flight: a frozen or wedged process whose kernel still accepts.
     */
    FIRST_BYTE_TIMEOUT,
    /**
     * apilb ran short itself ({@link LocalResourceError}: descriptors, local ports, buffers, memory):
     * the backend was never reached, so this says nothing about it.
     */
    LOCAL_RESOURCE;

    /** Classifies the cause of a failed connect. */
    public static ConnectFailure of(Throwable cause) {
        // First: some local shortages come as a ConnectException (epoll reports EADDRNOTAVAIL so).
        if (LocalResourceError.of(cause) != null) {
            return LOCAL_RESOURCE;
        }
        for (Throwable t = cause; t != null; t = t.getCause()) {
            if (t instanceof ConnectTimeoutException) {
                return CONNECT_TIMEOUT;
            }
            if (t instanceof UnknownHostException) {
                return DNS;
            }
            if (t instanceof ConnectException) {
                String m = String.valueOf(t.getMessage()).toLowerCase(Locale.ROOT);
                return m.contains("refused") ? CONNECT_REFUSED : CONNECT_ERROR;
            }
        }
        return CONNECT_ERROR;
    }

    /** Lower-case tag value, e.g. {@code connect_refused}. */
    public String tag() {
        return name().toLowerCase(Locale.ROOT);
    }
}
