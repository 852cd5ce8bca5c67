package io.apilb.core.config;

import java.util.Objects;

/**
 * A {@code host:port} pair as written in the config: an IPv4 literal, a bracketed IPv6 literal
 * ({@code [::1]:6443}) or a DNS name. Names are resolved when connecting, not when loading, so a
 * master that is not in DNS yet does not stop the balancer from starting.
 */
public record HostPort(String host, int port) {

    public HostPort {
        Objects.requireNonNull(host, "host");
        if (host.isEmpty()) {
            throw new IllegalArgumentException("host: empty (expected: a name or an IP address)");
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port: " + port + " (expected: 0-65535)");
        }
    }

    /**
     * Parses {@code host:port}, {@code [v6]:port}.
     *
     * @throws IllegalArgumentException with a message that quotes the value and says what is wrong
     */
    public static HostPort parse(String value) {
        return parse(value, false);
    }

    /**
     * Like {@link #parse(String)}; with {@code allowAnyPort}, port 0 (let the system choose) is
     * accepted too, for listeners of tests and the demo.
     */
    public static HostPort parse(String value, boolean allowAnyPort) {
        Objects.requireNonNull(value, "value");
        String v = value.trim();
        if (v.isEmpty()) {
            throw new IllegalArgumentException("\"\" is empty (expected: host:port)");
        }
        String host;
        String portText;
        if (v.startsWith("[")) {
            int close = v.indexOf(']');
            if (close < 0) {
                throw new IllegalArgumentException('"' + value + "\" has an unclosed '[' (expected: [ipv6]:port)");
            }
            host = v.substring(1, close);
            String rest = v.substring(close + 1);
            if (rest.isEmpty()) {
                throw new IllegalArgumentException('"' + value + "\" has no port (expected: [ipv6]:port)");
            }
            if (rest.charAt(0) != ':') {
                throw new IllegalArgumentException('"' + value + "\" is not host:port (expected: [ipv6]:port)");
            }
            portText = rest.substring(1);
        } else {
            int colon = v.lastIndexOf(':');
            if (colon < 0) {
                throw new IllegalArgumentException('"' + value + "\" has no port (expected: host:port)");
            }
            if (v.indexOf(':') != colon) {
                throw new IllegalArgumentException(
                        '"' + value + "\" looks like a bare IPv6 address (expected: [ipv6]:port)");
            }
            host = v.substring(0, colon);
            portText = v.substring(colon + 1);
        }
        if (host.isEmpty()) {
            throw new IllegalArgumentException('"' + value + "\" has no host (expected: host:port)");
        }
        int port;
        try {
            port = Integer.parseInt(portText);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException('"' + value + "\" has a bad port \"" + portText + "\" (expected: 1-65535)");
        }
        if ((port < 1 && !(allowAnyPort && port == 0)) || port > 65535) {
            throw new IllegalArgumentException('"' + value + "\" has port " + port + " (expected: 1-65535)");
        }
        return new HostPort(host, port);
    }

    /** The address's IP and port, as a listener or access log shows it ({@code [::1]:6443} for IPv6). */
    public static HostPort of(java.net.InetSocketAddress address) {
        Objects.requireNonNull(address, "address");
        return new HostPort(address.getAddress() != null ? address.getAddress().getHostAddress()
                : address.getHostString(), address.getPort());
    }

    /** True when the host is an IPv6 literal. */
    public boolean isIpv6Literal() {
        return host.indexOf(':') >= 0;
    }

    @Override
    public String toString() {
        return isIpv6Literal() ? "[" + host + "]:" + port : host + ":" + port;
    }
}
