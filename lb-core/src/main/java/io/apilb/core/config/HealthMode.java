package io.apilb.core.config;

/** What an active health probe does. */
public enum HealthMode {
    /** TLS handshake, then an HTTP GET of the configured path; the status must be expected. */
    HTTPS,
    /** TLS handshake only. */
    TLS,
    /** TCP connect only. */
    TCP
}
