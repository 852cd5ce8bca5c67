package io.apilb.core.config;

import java.util.Objects;

/** One address the balancer accepts client connections on, e.g. {@code 0.0.0.0:6443} or {@code [::]:6443}. */
public record ListenerConfig(String name, HostPort address) {
    public ListenerConfig {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(address, "address");
    }
}
