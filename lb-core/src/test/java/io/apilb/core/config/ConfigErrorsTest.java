package io.apilb.core.config;

import static io.apilb.core.config.ConfigTesting.errors;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Broken config files and the exact errors they must produce. Each snippet starts with the same
 * five valid lines, so the line numbers below count from there.
 */
class ConfigErrorsTest {
    private static final String VALID = ConfigTesting.MINIMAL;

    static Stream<Arguments> brokenFiles() {
        return Stream.of(
                arguments("address without port", VALID + """
                          - { name: m2, address: 10.0.0.12:6443 }
                          - { name: m3, address: 10.0.0.13 }
                        """,
                        List.of("backends[2].address: \"10.0.0.13\" has no port (expected: host:port) (line 7)")),
                arguments("port out of range", VALID + """
                          - { name: m2, address: "10.0.0.12:65536" }
                        """,
                        List.of("backends[1].address: \"10.0.0.12:65536\" has port 65536 (expected: 1-65535) (line 6)")),
                arguments("port not a number", VALID + """
                          - { name: m2, address: "10.0.0.12:https" }
                        """,
                        List.of("backends[1].address: \"10.0.0.12:https\" has a bad port \"https\" (expected: 1-65535) (line 6)")),
                arguments("bare IPv6 address", VALID.replace("0.0.0.0:6443", "\"::1:6443\""),
                        List.of("listeners[0].address: \"::1:6443\" looks like a bare IPv6 address (expected: [ipv6]:port) (line 3)")),
                arguments("unknown top-level key", VALID + "retires: 3\n",
                        List.of("retires: unknown key (did you mean retries?) (line 6)")),
                arguments("rebalance values out of range", VALID + """
                        slowStart: fast
                        rebalance:
                          maxClosesPerSecond: 0
                          tolerance: lots
                        """,
                        List.of("slowStart: \"fast\" (expected: a duration like 500ms, 2s, 1m, 1h30m) (line 6)",
                                "rebalance.maxClosesPerSecond: 0 (expected: 0.01-100) (line 8)",
                                "rebalance.tolerance: \"lots\" (expected: a number 0-10) (line 9)")),
                arguments("unknown key, far from any known one", VALID + "frontend: {}\n",
                        List.of("frontend: unknown key (line 6)")),
                arguments("typo in a section", VALID + """
                        health:
                          intervall: 2s
                        """,
                        List.of("health.intervall: unknown key (did you mean interval?) (line 7)")),
                arguments("unknown key two sections deep", VALID + """
                        health:
                          tls:
                            sni: kubernetes
                        """,
                        List.of("health.tls.sni: unknown key (line 8)")),
                arguments("key in the wrong case", VALID + "tcp: { keepaliveIdle: 30s }\n",
                        List.of("tcp.keepaliveIdle: unknown key (did you mean keepAliveIdle?) (line 6)")),
                arguments("typo inside a list item", VALID + """
                          - { name: m2, adress: 10.0.0.12:6443 }
                        """,
                        List.of("backends[1].adress: unknown key (did you mean address?) (line 6)",
                                "backends[1].address: missing (expected: host:port) (line 6)")),
                arguments("duration without unit", VALID + """
                        timeouts:
                          idle: 3600
                        """,
                        List.of("timeouts.idle: \"3600\" needs a unit (expected: a duration like 500ms, 2s, 1m, 1h30m) (line 7)")),
                arguments("duration in words", VALID + "timeouts: { connect: 2 seconds }\n",
                        List.of("timeouts.connect: \"2 seconds\" (expected: a duration like 500ms, 2s, 1m, 1h30m) (line 6)")),
                arguments("duration below its minimum", VALID + "timeouts: { connect: 0s }\n",
                        List.of("timeouts.connect: 0s (expected: 1ms-720h) (line 6)")),
                arguments("keepalive beyond what Linux accepts", VALID + "tcp: { keepAliveIdle: 12h }\n",
                        List.of("tcp.keepAliveIdle: 12h (expected: 1s-9h) (line 6)")),
                arguments("unknown balance policy", VALID + "balance: fastest\n",
                        List.of("balance: \"fastest\" (expected: roundrobin, leastconn or random) (line 6)")),
                arguments("unknown health mode", VALID + "health: { mode: http }\n",
                        List.of("health.mode: \"http\" (expected: https, tls or tcp) (line 6)")),
                arguments("boolean written as yes", VALID + "health: { failOpen: yes }\n",
                        List.of("health.failOpen: \"yes\" (expected: true or false) (line 6)")),
                arguments("list where a map belongs", VALID + """
                        health:
                          - mode: tcp
                        """,
                        List.of("health: a list (expected: a map) (line 7)")),
                arguments("map where a value belongs", VALID + "balance: { policy: leastconn }\n",
                        List.of("balance: a map (expected: roundrobin, leastconn or random) (line 6)")),
                arguments("text where a number belongs", VALID + "retries: two\n",
                        List.of("retries: \"two\" (expected: an integer >= 0) (line 6)")),
                arguments("list items that are not maps", """
                        listeners: [ "0.0.0.0:6443", "[::]:6443" ]
                        backends:
                          - { name: m1, address: 10.0.0.11:6443 }
                        """,
                        List.of("listeners[0]: \"0.0.0.0:6443\" (expected: a map) (line 1)",
                                "listeners[1]: \"[::]:6443\" (expected: a map) (line 1)")),
                arguments("rise of zero", VALID + "health: { rise: 0 }\n",
                        List.of("health.rise: 0 (expected: >= 1) (line 6)")),
                arguments("weight out of range", VALID + "  - { name: m2, address: 10.0.0.12:6443, weight: 300 }\n",
                        List.of("backends[1].weight: 300 (expected: 0-256) (line 6)")),
                arguments("status that is not HTTP", VALID + "health: { expectStatus: [200, 700] }\n",
                        List.of("health.expectStatus[1]: 700 (expected: 100-599) (line 6)")),
                arguments("path without slash", VALID + "health: { path: readyz }\n",
                        List.of("health.path: \"readyz\" (expected: a path starting with /) (line 6)")),
                arguments("name unusable in a URL", VALID + "  - { name: master 2, address: 10.0.0.12:6443 }\n",
                        List.of("backends[1].name: \"master 2\" (expected: letters, digits, '.', '_' or '-') (line 6)")),
                arguments("unknown log level", VALID + "logging: { level: verbose }\n",
                        List.of("logging.level: \"verbose\" (expected: trace, debug, info, warn or error) (line 6)")),
                arguments("duplicate backend name", VALID + "  - { name: m1, address: 10.0.0.12:6443 }\n",
                        List.of("backends[1].name: \"m1\" is already the name of backends[0] (expected: unique names) (line 6)")),
                arguments("duplicate listener name", VALID.replace("backends:", """
                          - name: api
                            address: 0.0.0.0:7443
                        backends:"""),
                        List.of("listeners[1].name: \"api\" is already the name of listeners[0] (expected: unique names) (line 4)")),
                arguments("backend without address", VALID + "  - name: m2\n",
                        List.of("backends[1].address: missing (expected: host:port) (line 6)")),
                arguments("backend without name", VALID + "  - address: 10.0.0.12:6443\n",
                        List.of("backends[1].name: missing (expected: letters, digits, '.', '_' or '-') (line 6)")),
                arguments("no backends", """
                        listeners:
                          - name: api
                            address: 0.0.0.0:6443
                        backends: []
                        """,
                        List.of("backends: no backends (expected: at least one) (line 4)")),
                arguments("empty file", "",
                        List.of("listeners: no listeners (expected: at least one)",
                                "backends: no backends (expected: at least one)")),
                arguments("a list instead of a config", "- listeners\n",
                        List.of("a list (expected: a map) (line 1)")),
                arguments("undefined environment variable", VALID + """
                        admin:
                          token: ${APILB_TOKEN}
                        """,
                        List.of("admin.token: environment variable APILB_TOKEN is not set (line 7)")),
                arguments("unclosed variable reference", VALID + "admin: { token: \"${APILB_ADMIN_TOKEN\" }\n",
                        List.of("admin.token: unclosed \"${\" (expected: ${NAME} or ${NAME:-default}) (line 6)")),
                arguments("variable expanding to nothing", VALID + "admin: { token: \"${EMPTY}\" }\n",
                        List.of("admin.token: empty (expected: a non-empty text) (line 6)")),
                arguments("duplicate key", VALID + """
                        retries: 1
                        retries: 3
                        """,
                        List.of("retries: duplicate key (first at line 6) (line 7)")),
                arguments("merge key", """
                        listeners:
                          - name: api
                            address: 0.0.0.0:6443
                        backends:
                          - &m1 { name: m1, address: 10.0.0.11:6443, weight: 2 }
                          - { <<: *m1, name: m2 }
                        """,
                        List.of("backends[1].<<: merge keys are not supported (expected: each value written out) (line 6)",
                                "backends[1].address: missing (expected: host:port) (line 6)")),
                arguments("YAML syntax error", VALID + """
                        health:
                          mode: https
                         path: /readyz
                        """,
                        List.of("YAML syntax: expected <block end>, but found '<block mapping start>' (line 8)")),
                arguments("two documents in one file", VALID + "---\nretries: 3\n",
                        List.of("YAML syntax: expected a single document in the stream, but found another document (line 6)")),
                arguments("a Java type tag", VALID + "health: !!java.io.File {}\n",
                        List.of("YAML syntax: Global tag is not allowed: tag:yaml.org,2002:java.io.File (line 6)")),
                arguments("health timeout longer than interval", VALID + "health: { interval: 2s, timeout: 3s }\n",
                        List.of("health.timeout: 3s (expected: <= health.interval, 2s) (line 6)")),
                arguments("edge interval longer than interval",
                        VALID + "health: { interval: 2s, timeout: 1s, fastInterval: 3s }\n",
                        List.of("health.fastInterval: 3s (expected: <= health.interval, 2s) (line 6)")),
                arguments("client cert without key", VALID + "health: { tls: { cert: probe.crt } }\n",
                        List.of("health.tls.cert: set without health.tls.key (expected: both or neither) (line 6)")),
                arguments("insecure together with a CA", VALID + """
                        health:
                          tls:
                            ca: /etc/kubernetes/pki/ca.crt
                            insecure: true
                        """,
                        List.of("health.tls.insecure: true while health.tls.ca is set (expected: one of them) (line 9)")),
                arguments("token and token file", VALID + """
                        admin:
                          token: abc
                          tokenFile: /etc/apilb/token
                        """,
                        List.of("admin.tokenFile: set together with admin.token (expected: one of them) (line 8)")),
                arguments("admin open beyond loopback without token", VALID + "admin: { address: 0.0.0.0:8404 }\n",
                        List.of("admin.address: 0.0.0.0:8404 is reachable beyond loopback without a token"
                                + " (expected: admin.token or admin.tokenFile) (line 6)")),
                arguments("admin request timeout too short", VALID + "admin: { requestTimeout: 10ms }\n",
                        List.of("admin.requestTimeout: 10ms (expected: 100ms-10m) (line 6)")),
                arguments("admin request timeout too long", VALID + "admin: { requestTimeout: 1h }\n",
                        List.of("admin.requestTimeout: 1h (expected: 100ms-10m) (line 6)")),
                arguments("no admin connection allowed", VALID + "admin: { maxConnections: 0 }\n",
                        List.of("admin.maxConnections: 0 (expected: 1-65536) (line 6)")),
                arguments("admin on the listener's port", VALID + "admin: { address: 127.0.0.1:6443 }\n",
                        List.of("admin.address: 127.0.0.1:6443 clashes with listeners[0].address 0.0.0.0:6443"
                                + " (expected: a different port) (line 6)")),
                arguments("IPv6 wildcard covering an IPv4 listener", VALID.replace("backends:", """
                          - name: api6
                            address: "[::]:6443"
                        backends:"""),
                        List.of("listeners[1].address: [::]:6443 clashes with listeners[0].address 0.0.0.0:6443"
                                + " (expected: a different port) (line 5)")),
                arguments("allow-list block with a prefix too long", VALID + """
                        limits:
                          perSource:
                            allow: [10.0.0.7, 10.0.0.0/33, "fd00::/8"]
                        """,
                        List.of("limits.perSource.allow[1]: 10.0.0.0/33 (expected: an IP address or CIDR such as"
                                + " 10.0.0.0/8 or fd00::/8, prefix 0-32) (line 8)")),
                arguments("allow-list entry that is a host name", VALID
                                + "limits: { perSource: { allow: master1.example } }\n",
                        List.of("limits.perSource.allow: \"master1.example\" (expected: an IP address or CIDR such as"
                                + " 10.0.0.0/8 or fd00::/8) (line 6)")),
                arguments("negative per-source rate", VALID + "limits: { perSource: { rate: -1, maxConnections: 0 } }\n",
                        List.of("limits.perSource.maxConnections: 0 (expected: >= 1) (line 6)",
                                "limits.perSource.rate: -1 (expected: >= 0) (line 6)")),
                arguments("typo in perSource", VALID + "limits: { perSource: { maxConnection: 10 } }\n",
                        List.of("limits.perSource.maxConnection: unknown key (did you mean maxConnections?) (line 6)")),
                arguments("no backend takes traffic", VALID.replace("6443 }", "6443, weight: 0 }"),
                        List.of("backends: every weight is 0 (expected: at least one backend with weight >= 1) (line 5)")),
                arguments("every error at once, in file order", """
                        listeners:
                          - name: api
                            address: 0.0.0.0
                        backends:
                          - { name: m1, address: 10.0.0.11:6443 }
                          - { name: m1, address: 10.0.0.12:6443, weight: -1 }
                        balance: fastest
                        timeouts: { connect: 5 }
                        health:
                          intervall: 2s
                          rise: 0
                        admin:
                          token: ${NOT_SET}
                        """,
                        List.of("listeners[0].address: \"0.0.0.0\" has no port (expected: host:port) (line 3)",
                                "backends[1].weight: -1 (expected: 0-256) (line 6)",
                                "backends[1].name: \"m1\" is already the name of backends[0] (expected: unique names) (line 6)",
                                "balance: \"fastest\" (expected: roundrobin, leastconn or random) (line 7)",
                                "timeouts.connect: \"5\" needs a unit (expected: a duration like 500ms, 2s, 1m, 1h30m) (line 8)",
                                "health.intervall: unknown key (did you mean interval?) (line 10)",
                                "health.rise: 0 (expected: >= 1) (line 11)",
                                "admin.token: environment variable NOT_SET is not set (line 13)")));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("brokenFiles")
    void reportsExactErrors(String description, String yaml, List<String> expected) {
        assertEquals(expected, errors(yaml));
    }
}
