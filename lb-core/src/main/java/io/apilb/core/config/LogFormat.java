package io.apilb.core.config;

/** Shape of log lines on stdout. */
public enum LogFormat {
    /** One readable line per event (default). */
    PLAIN,
    /** One JSON object per line, for log shippers. */
    JSON
}
