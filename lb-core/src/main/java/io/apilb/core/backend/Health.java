package io.apilb.core.backend;

/**
 * What the health checker last decided about a backend. {@code UNKNOWN} (not checked yet, or
 * checking is off) is routable, like a server that HAProxy starts as up.
 */
public enum Health {
    UNKNOWN,
    UP,
    DOWN
}
