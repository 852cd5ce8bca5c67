package io.apilb.admin;

import io.apilb.core.config.AdminAccess;
import io.apilb.core.config.AdminConfig;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.Locale;

/**
 * Decides whether a request may proceed on its credentials (which {@code Host} a request without
 * them may name is {@link CrossSiteGuard}'s). Rules:
 * <ul>
 *   <li>no token configured (only allowed on loopback): everything is open;</li>
 *   <li>a token is configured: mutating calls (anything but {@code GET}/{@code HEAD}) need it;</li>
 *   <li>the port listens beyond loopback: every call needs it, except {@code GET /healthz}, which a
 *       Keepalived {@code vrrp_script} or a container health check calls without credentials and
 *       which tells nothing beyond "serving or not".</li>
 * </ul>
 * The token comes as {@code Authorization: Bearer <token>} or, for browsers, as the password of
 * Basic auth (any user name). Tokens are compared as SHA-256 digests with
 * {@link MessageDigest#isEqual}, so the time taken reveals neither content nor length.
 * Missing credentials get 401 with {@code WWW-Authenticate}; wrong ones 403.
 *
 * <p>Immutable after {@link #load}; used from the admin event loop.
 */
final class TokenAuth {
    private final byte[] tokenDigest;
    private final boolean everyCall;

    private TokenAuth(String token, boolean everyCall) {
        this.tokenDigest = token == null ? null : sha256(token);
        this.everyCall = everyCall;
    }

    /**
     * Reads the token and checks the rules of {@link AdminAccess}.
     *
     * @throws IllegalStateException with a message naming the config key when the admin port must not start
     */
    static TokenAuth load(AdminConfig config) {
        return new TokenAuth(AdminAccess.readToken(config), !AdminAccess.isLoopback(config.address().host()));
    }

    boolean hasToken() {
        return tokenDigest != null;
    }

    /** True when the port listens beyond loopback, so that every call but {@code /healthz} needs the token. */
    boolean everyCall() {
        return everyCall;
    }

    /** True when the request carries the configured token. */
    boolean verifies(AdminRequest request) {
        String presented = presentedToken(request.headers().get(HttpHeaderNames.AUTHORIZATION));
        return tokenDigest != null && presented != null && MessageDigest.isEqual(tokenDigest, sha256(presented));
    }

    /** Null when the request may proceed, else the 401 or 403 answer. */
    AdminResponse check(AdminRequest request, boolean mutation) {
        if (tokenDigest == null) {
            return null;
        }
        if (!mutation && (!everyCall || request.path().equals(HealthzEndpoint.PATH))) {
            return null;
        }
        String presented = presentedToken(request.headers().get(HttpHeaderNames.AUTHORIZATION));
        if (presented == null) {
            // The dashboard's scripts handle 401 themselves: a Basic challenge there would make the
            // browser pop its own dialog over the page's prompt.
            String challenge = request.path().startsWith("/api/")
                    ? "Bearer realm=\"apilb\""
                    : "Basic realm=\"apilb\", charset=\"UTF-8\"";
            return AdminResponse.error(HttpResponseStatus.UNAUTHORIZED,
                            "authentication required (expected: Authorization: Bearer <admin token>)")
                    .withHeader(HttpHeaderNames.WWW_AUTHENTICATE.toString(), challenge);
        }
        if (!MessageDigest.isEqual(tokenDigest, sha256(presented))) {
            return AdminResponse.error(HttpResponseStatus.FORBIDDEN, "invalid admin token");
        }
        return null;
    }

    private static String presentedToken(String authorization) {
        if (authorization == null) {
            return null;
        }
        int space = authorization.indexOf(' ');
        if (space < 0) {
            return null;
        }
        String scheme = authorization.substring(0, space).toLowerCase(Locale.ROOT);
        String value = authorization.substring(space + 1).strip();
        if (scheme.equals("bearer")) {
            return value.isEmpty() ? null : value;
        }
        if (scheme.equals("basic")) {
            try {
                String decoded = new String(Base64.getDecoder().decode(value), StandardCharsets.UTF_8);
                int colon = decoded.indexOf(':');
                // A malformed Basic value still counts as presented credentials: it is wrong, not missing.
                return colon < 0 ? decoded : decoded.substring(colon + 1);
            } catch (IllegalArgumentException e) {
                return "";
            }
        }
        return null;
    }

    private static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is mandatory in every JDK", e);
        }
    }
}
