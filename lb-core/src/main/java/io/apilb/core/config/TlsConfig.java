package io.apilb.core.config;

import java.nio.file.Path;

/**
 * TLS settings of the health probe. All optional.
 * <ul>
 *   <li>{@code ca}: PEM bundle that signs the API servers' certificates (the cluster CA).</li>
 *   <li>{@code insecure}: skip verification, for bootstrap only; logged as a warning.</li>
 *   <li>{@code serverName}: SNI and the name verified; default the backend's host.</li>
 *   <li>{@code cert}/{@code key}: client certificate for clusters with anonymous auth off.</li>
 * </ul>
 */
public record TlsConfig(Path ca, boolean insecure, String serverName, Path cert, Path key) {
    public static final TlsConfig DEFAULTS = new TlsConfig(null, false, null, null, null);
}
