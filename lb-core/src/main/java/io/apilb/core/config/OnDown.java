package io.apilb.core.config;

/** What happens to a dead backend's established connections. */
public enum OnDown {
    /** Close them at once, so clients reconnect to a live master (default). */
    CLOSE,
    /** Leave them; they end when the peer or the kernel gives up. */
    KEEP
}
