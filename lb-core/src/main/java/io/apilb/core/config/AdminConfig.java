package io.apilb.core.config;

import java.nio.file.Path;
import java.util.Objects;

/**
 * The admin HTTP port. Default address {@code 127.0.0.1:8404}. {@code token} or {@code tokenFile}
 * (not both) protects mutating calls; beyond loopback a token is mandatory. {@code enabled: false}
 * turns the port off.
 */
public record AdminConfig(boolean enabled, HostPort address, String token, Path tokenFile) {
    public static final HostPort DEFAULT_ADDRESS = new HostPort("127.0.0.1", 8404);
    public static final AdminConfig DEFAULTS = new AdminConfig(true, DEFAULT_ADDRESS, null, null);

    public AdminConfig {
        Objects.requireNonNull(address, "address");
    }
}
