package io.apilb.core.config;

import java.util.Objects;

/** {@code format} (default plain), {@code accessLog} (default true), {@code level} (default INFO). */
public record LoggingConfig(LogFormat format, boolean accessLog, String level) {
    public static final LoggingConfig DEFAULTS = new LoggingConfig(LogFormat.PLAIN, true, "INFO");

    public LoggingConfig {
        Objects.requireNonNull(format, "format");
        Objects.requireNonNull(level, "level");
    }
}
