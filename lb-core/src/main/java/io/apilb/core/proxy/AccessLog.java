package io.apilb.core.proxy;

import io.apilb.core.backend.Termination;
import io.apilb.core.config.HostPort;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One line per finished connection on the logger {@code apilb.access}, so it can be routed or
 * silenced on its own. Fields: {@code conn client listener backend connect_ms duration_ms bytes_in
 * bytes_out attempts moved end}. Written from the connection's event loop after it closed. Public only for
 * {@link #LOGGER}, which the launcher turns on or off with {@code logging.accessLog}.
 */
public final class AccessLog {
    public static final String LOGGER = "apilb.access";
    private static final Logger log = LoggerFactory.getLogger(LOGGER);

    private AccessLog() {
    }

    static boolean enabled() {
        return log.isInfoEnabled();
    }

    /** {@code 10.0.0.1:5000} or {@code [fd00::1]:5000}, without the JDK's leading slash. */
    static String format(java.net.SocketAddress address) {
        return address instanceof java.net.InetSocketAddress a ? HostPort.of(a).toString() : String.valueOf(address);
    }

    static void write(long id, Object client, String listener, String backend, long connectMillis, long durationMillis,
                      long bytesIn, long bytesOut, int attempts, String moved, Termination end) {
        log.atInfo()
                .addKeyValue("conn", id)
                .addKeyValue("client", client)
                .addKeyValue("listener", listener)
                .addKeyValue("backend", backend == null ? "-" : backend)
                .addKeyValue("connect_ms", connectMillis)
                .addKeyValue("duration_ms", durationMillis)
                .addKeyValue("bytes_in", bytesIn)
                .addKeyValue("bytes_out", bytesOut)
                .addKeyValue("attempts", attempts)
                .addKeyValue("moved", moved == null ? "-" : moved)
                .addKeyValue("end", end.tag())
                .log("conn={} client={} listener={} backend={} connect_ms={} duration_ms={} bytes_in={} bytes_out={} "
                        + "attempts={} moved={} end={}", id, client, listener, backend == null ? "-" : backend,
                        connectMillis, durationMillis, bytesIn, bytesOut, attempts, moved == null ? "-" : moved,
                        end.tag());
    }
}
