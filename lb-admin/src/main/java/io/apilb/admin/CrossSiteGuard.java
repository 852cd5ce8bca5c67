package io.apilb.admin;

import io.apilb.core.config.AdminAccess;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;

/**
 * Refuses what a web page of another site makes the operator's browser send. A loopback admin port
 * answers calls without a token (reads always, changes when no token is set), so any page the
 * operator visits could aim a form or {@code fetch} at {@code http://127.0.0.1:8404/}: a mutation
 * needs no CORS pre-flight, and a DNS-rebinding page (its own name, re-pointed at 127.0.0.1) even
 * reads the answers as same-origin.
 * <ul>
 *   <li>a mutation with an {@code Origin} header (browsers send one on cross-origin and on mutating
 *       requests) must name the same host and port as {@code Host}: else 403;</li>
 *   <li>a request without the admin token must address the port by a loopback name
 *       ({@link AdminAccess#isLoopback}) or by the configured {@code admin.address} host, which a
 *       rebinding page cannot: else 421. {@code /healthz} is exempt: it tells nothing beyond
 *       "serving or not", and container health checks call it by whatever address they have.</li>
 * </ul>
 * Non-browser clients (curl, scripts, Prometheus) send no {@code Origin} and name the address they
 * dial, so they are not affected; a request without {@code Host} (HTTP/1.0) cannot come from a
 * browser. Stateless.
 */
final class CrossSiteGuard {
    private final String adminHost;

    /** @param adminHost the host of {@code admin.address} */
    CrossSiteGuard(String adminHost) {
        this.adminHost = adminHost;
    }

    /** Null when the request may proceed, else the 403 or 421 answer. */
    AdminResponse check(AdminRequest request, boolean mutation, boolean withToken) {
        String host = request.headers().get(HttpHeaderNames.HOST);
        String origin = request.headers().get(HttpHeaderNames.ORIGIN);
        if (mutation && origin != null && !sameHost(origin, host)) {
            return AdminResponse.error(HttpResponseStatus.FORBIDDEN,
                    "cross-origin request refused: Origin " + origin + " is not this admin port");
        }
        if (!withToken && host != null && !request.path().equals(HealthzEndpoint.PATH) && !isTrusted(hostName(host))) {
            return AdminResponse.error(HttpResponseStatus.MISDIRECTED_REQUEST, "Host " + host
                    + " refused (expected: a loopback name such as localhost or 127.0.0.1, the admin.address host,"
                    + " or the admin token)");
        }
        return null;
    }

    private boolean isTrusted(String name) {
        return AdminAccess.isLoopback(name) || name.equalsIgnoreCase(adminHost);
    }

    private static boolean sameHost(String origin, String host) {
        if (host == null || origin.equals("null")) {
            return false;
        }
        try {
            URI uri = new URI(origin);
            if (uri.getHost() == null) {
                return false;
            }
            String authority = uri.getPort() < 0 ? uri.getHost() : uri.getHost() + ":" + uri.getPort();
            return authority.equalsIgnoreCase(host);
        } catch (URISyntaxException e) {
            return false;
        }
    }

    // "name:port", "[v6]:port" or either without the port; the brackets stay for AdminAccess.
    private static String hostName(String hostHeader) {
        String h = hostHeader.strip().toLowerCase(Locale.ROOT);
        if (h.startsWith("[")) {
            int close = h.indexOf(']');
            return close < 0 ? h : h.substring(0, close + 1);
        }
        int colon = h.lastIndexOf(':');
        return colon < 0 ? h : h.substring(0, colon);
    }
}
