package io.apilb.admin;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;

/**
 * Refuses mutating calls that a web page of another site makes through the operator's browser.
 * A loopback admin port without a token is otherwise open to any page the operator visits: a
 * form or {@code fetch} aimed at {@code http://127.0.0.1:8404/api/v1/reload} needs no CORS
 * pre-flight, and a DNS-rebinding page even looks same-origin.
 * <ul>
 *   <li>an {@code Origin} header (sent by browsers on cross-origin and on mutating requests) must
 *       name the same host and port as {@code Host};</li>
 *   <li>without a token, a mutation must address the port by a loopback name ({@code localhost},
 *       {@code 127.x}, {@code [::1]}), which a rebinding page cannot.</li>
 * </ul>
 * Non-browser clients (curl, scripts) send no {@code Origin} and are not affected. Stateless.
 */
final class CrossSiteGuard {
    private CrossSiteGuard() {
    }

    /** Null when the mutation may proceed, else the 403 answer. */
    static AdminResponse check(AdminRequest request, boolean tokenConfigured) {
        String host = request.headers().get(HttpHeaderNames.HOST);
        String origin = request.headers().get(HttpHeaderNames.ORIGIN);
        if (origin != null && !sameHost(origin, host)) {
            return AdminResponse.error(HttpResponseStatus.FORBIDDEN,
                    "cross-origin request refused: Origin " + origin + " is not this admin port");
        }
        if (!tokenConfigured && host != null && !isLoopbackName(hostName(host))) {
            return AdminResponse.error(HttpResponseStatus.FORBIDDEN,
                    "Host " + host + " refused (expected: a loopback name, or an admin token configured)");
        }
        return null;
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

    private static String hostName(String hostHeader) {
        String h = hostHeader.strip().toLowerCase(Locale.ROOT);
        if (h.startsWith("[")) {
            int close = h.indexOf(']');
            return close < 0 ? h : h.substring(1, close);
        }
        int colon = h.lastIndexOf(':');
        return colon < 0 ? h : h.substring(0, colon);
    }

    private static boolean isLoopbackName(String name) {
        return name.equals("localhost") || name.endsWith(".localhost") || name.equals("::1")
                || name.matches("127\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}");
    }
}
