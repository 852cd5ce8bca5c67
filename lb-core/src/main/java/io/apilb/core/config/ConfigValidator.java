package io.apilb.core.config;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The rules that span more than one value, checked after binding so that each value has already
 * been read and range-checked on its own. A value that already failed is left out of these rules:
 * the user has one thing to fix there, not two.
 * <p>
 * Two backends may share an address (e.g. the same master listed under an old and a new name during
 * a rename); only their names must differ, because names address backends in the admin API.
 */
final class ConfigValidator {
    private final ApilbConfig config;
    private final Problems problems;

    private ConfigValidator(ApilbConfig config, Problems problems) {
        this.config = config;
        this.problems = problems;
    }

    static void validate(ApilbConfig config, Problems problems) {
        ConfigValidator v = new ConfigValidator(config, problems);
        v.uniqueNames("listeners", config.listeners().stream().map(ListenerConfig::name).toList());
        v.uniqueNames("backends", config.backends().stream().map(BackendConfig::name).toList());
        v.someBackendTakesTraffic();
        v.addressesDoNotClash();
        v.healthTimeoutFitsInterval();
        v.tlsIsConsistent();
        v.adminIsProtected();
    }

    private void uniqueNames(String list, List<String> names) {
        Map<String, Integer> first = new HashMap<>();
        for (int i = 0; i < names.size(); i++) {
            String path = list + "[" + i + "].name";
            if (problems.failed(path)) {
                continue;
            }
            Integer earlier = first.putIfAbsent(names.get(i), i);
            if (earlier != null) {
                problems.error(path, ValueType.quote(names.get(i)) + " is already the name of " + list + "["
                        + earlier + "] (expected: unique names)");
            }
        }
    }

    private void someBackendTakesTraffic() {
        List<BackendConfig> backends = config.backends();
        if (!backends.isEmpty() && backends.stream().allMatch(b -> b.weight() == 0)) {
            problems.error("backends", "every weight is 0 (expected: at least one backend with weight >= 1)");
        }
    }

    /** Two sockets that cannot both be bound would fail start-up later, with a less useful message. */
    private void addressesDoNotClash() {
        List<String> paths = new ArrayList<>();
        List<HostPort> addresses = new ArrayList<>();
        for (int i = 0; i < config.listeners().size(); i++) {
            paths.add("listeners[" + i + "].address");
            addresses.add(config.listeners().get(i).address());
        }
        if (config.admin().enabled()) {
            paths.add("admin.address");
            addresses.add(config.admin().address());
        }
        for (int i = 1; i < addresses.size(); i++) {
            for (int j = 0; j < i; j++) {
                if (!problems.failed(paths.get(i)) && !problems.failed(paths.get(j))
                        && clash(addresses.get(i), addresses.get(j))) {
                    problems.error(paths.get(i), addresses.get(i) + " clashes with " + paths.get(j) + " "
                            + addresses.get(j) + " (expected: a different port)");
                    break;
                }
            }
        }
    }

    private void healthTimeoutFitsInterval() {
        HealthConfig h = config.health();
        // A probe still running when the next one is due would overlap it; equal is allowed.
        if (!problems.failed("health.timeout") && !problems.failed("health.interval")
                && h.timeout().compareTo(h.interval()) > 0) {
            problems.error("health.timeout", Durations.format(h.timeout()) + " (expected: <= health.interval, "
                    + Durations.format(h.interval()) + ")");
        }
        // The edge interval exists to settle a doubtful verdict sooner, never later.
        if (!problems.failed("health.fastInterval") && !problems.failed("health.interval")
                && h.fastInterval().compareTo(h.interval()) > 0) {
            problems.error("health.fastInterval", Durations.format(h.fastInterval())
                    + " (expected: <= health.interval, " + Durations.format(h.interval()) + ")");
        }
    }

    private void tlsIsConsistent() {
        TlsConfig tls = config.health().tls();
        if (tls.cert() != null && tls.key() == null) {
            problems.error("health.tls.cert", "set without health.tls.key (expected: both or neither)");
        } else if (tls.key() != null && tls.cert() == null) {
            problems.error("health.tls.key", "set without health.tls.cert (expected: both or neither)");
        }
        if (tls.insecure() && tls.ca() != null) {
            problems.error("health.tls.insecure", "true while health.tls.ca is set (expected: one of them)");
        }
    }

    private void adminIsProtected() {
        for (AdminAccess.Violation v : AdminAccess.violations(config.admin())) {
            if (!problems.failed(v.path())) {
                problems.error(v.path(), v.message());
            }
        }
    }

    /**
     * True when binding both would fail: same port and the same host, or a wildcard covering the
     * other. {@code [::]} covers IPv4 too, because Java opens dual-stack sockets. Names are not
     * resolved here, so {@code localhost} and {@code 127.0.0.1} are not seen as the same host.
     */
    static boolean clash(HostPort a, HostPort b) {
        if (a.port() != b.port()) {
            return false;
        }
        String ha = a.host().toLowerCase(Locale.ROOT);
        String hb = b.host().toLowerCase(Locale.ROOT);
        return ha.equals(hb) || isAnyV6(a) || isAnyV6(b)
                || ha.equals("0.0.0.0") && !b.isIpv6Literal()
                || hb.equals("0.0.0.0") && !a.isIpv6Literal();
    }

    private static boolean isAnyV6(HostPort a) {
        return a.isIpv6Literal() && a.host().replace("0", "").replace(":", "").isEmpty();
    }
}
