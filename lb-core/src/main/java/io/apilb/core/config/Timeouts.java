package io.apilb.core.config;

import java.time.Duration;
import java.util.Objects;

/**
 * Proxy timeouts.
 * <ul>
 *   <li>{@code connect} (default 2s): dialling a backend; on expiry the next backend is tried.</li>
 *   <li>{@code idle} (default 1h): a connection with no bytes either way is closed. Long, because
 *       watches, {@code logs -f} and {@code exec} stay quiet for minutes.</li>
 *   <li>{@code clientHello} (default 10s, {@code 0} = off): a client that has sent nothing this long
 *       after connecting is closed. TLS is client-first, so a real client speaks at once; no backend
 *       is dialled before it does.</li>
 *   <li>{@code firstByte} (default 1s, {@code 0} = off): a master that has sent nothing this long
 *       after getting the client's first flight loses the connection to the next master, which
 *       gets the same bytes again (handshake redispatch). The last master tried has no deadline.</li>
 * </ul>
 */
public record Timeouts(Duration connect, Duration idle, Duration clientHello, Duration firstByte) {
    public static final Duration DEFAULT_CONNECT = Duration.ofSeconds(2);
    public static final Duration DEFAULT_IDLE = Duration.ofHours(1);
    public static final Duration DEFAULT_CLIENT_HELLO = Duration.ofSeconds(10);
    public static final Duration DEFAULT_FIRST_BYTE = Duration.ofSeconds(1);
    public static final Timeouts DEFAULTS = new Timeouts(DEFAULT_CONNECT, DEFAULT_IDLE, DEFAULT_CLIENT_HELLO,
            DEFAULT_FIRST_BYTE);

    public Timeouts {
        Objects.requireNonNull(connect, "connect");
        Objects.requireNonNull(idle, "idle");
        Objects.requireNonNull(clientHello, "clientHello");
        Objects.requireNonNull(firstByte, "firstByte");
    }

    /** The defaults for what is not given. */
    public Timeouts(Duration connect, Duration idle) {
        this(connect, idle, DEFAULT_CLIENT_HELLO, DEFAULT_FIRST_BYTE);
    }
}
