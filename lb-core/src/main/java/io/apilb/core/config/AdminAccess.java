package io.apilb.core.config;

import io.netty.util.NetUtil;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Who may use the admin port, defined once for config validation, the admin server and reload:
 * <ul>
 *   <li><b>loopback</b> is the name {@code localhost} or an IP literal of the loopback range
 *       ({@code 127.0.0.0/8}, {@code ::1} however written). Other names are not resolved: a name
 *       counts as reachable from elsewhere, because DNS may say so tomorrow;</li>
 *   <li>{@code admin.token} and {@code admin.tokenFile} exclude each other, and an admin port beyond
 *       loopback needs one of them (no default credentials);</li>
 *   <li>the token is the inline value or the file's content without surrounding white space; an
 *       empty one is refused, because running open would be a silent downgrade.</li>
 * </ul>
 * Stateless; any thread.
 */
public final class AdminAccess {

    /** A broken rule: the config key at fault and what is wrong with it. */
    public record Violation(String path, String message) {
        @Override
        public String toString() {
            return path + ": " + message;
        }
    }

    private AdminAccess() {
    }

    /**
     * True when {@code host}, a config host or the host part of an HTTP {@code Host} header
     * (brackets around IPv6 allowed), names this machine's loopback interface.
     */
    public static boolean isLoopback(String host) {
        String h = host.strip().toLowerCase(Locale.ROOT);
        if (h.startsWith("[") && h.endsWith("]")) {
            h = h.substring(1, h.length() - 1);
        }
        if (h.equals("localhost")) {
            return true;
        }
        // Literals only: NetUtil parses without a lookup, and returns null for names.
        InetAddress ip = NetUtil.createInetAddressFromIpAddressString(h);
        return ip != null && ip.isLoopbackAddress();
    }

    /** The token rules {@code admin} breaks, empty when none; an admin port that is off breaks none. */
    public static List<Violation> violations(AdminConfig admin) {
        List<Violation> out = new ArrayList<>();
        if (admin.token() != null && admin.tokenFile() != null) {
            out.add(new Violation("admin.tokenFile", "set together with admin.token (expected: one of them)"));
        }
        if (admin.token() != null && admin.token().isBlank()) {
            out.add(new Violation("admin.token", "empty (expected: a secret, or no admin.token at all)"));
        }
        if (admin.enabled() && admin.token() == null && admin.tokenFile() == null
                && !isLoopback(admin.address().host())) {
            out.add(new Violation("admin.address", admin.address() + " is reachable beyond loopback without a token"
                    + " (expected: admin.token or admin.tokenFile)"));
        }
        return out;
    }

    /**
     * Checks the rules and reads the token: the inline value, or the file's content.
     *
     * @return the token, or null when none is configured (then the port is on loopback)
     * @throws IllegalStateException naming the {@code admin.*} key at fault when a rule is broken or
     *                               the file cannot be read or is empty
     */
    public static String readToken(AdminConfig admin) {
        List<Violation> broken = violations(admin);
        if (!broken.isEmpty()) {
            throw new IllegalStateException(broken.get(0).toString());
        }
        if (admin.tokenFile() == null) {
            return admin.token();
        }
        String token;
        try {
            token = Files.readString(admin.tokenFile(), StandardCharsets.UTF_8).strip();
        } catch (IOException e) {
            throw new IllegalStateException("admin.tokenFile: " + admin.tokenFile() + " cannot be read: " + e, e);
        }
        if (token.isEmpty()) {
            throw new IllegalStateException("admin.tokenFile: " + admin.tokenFile() + " is empty (expected: a secret)");
        }
        return token;
    }
}
