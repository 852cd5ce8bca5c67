package io.apilb.core.config;

import static io.apilb.core.config.ConfigTesting.MINIMAL;
import static io.apilb.core.config.ConfigTesting.parse;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigLoaderTest {
    private static final Path EXAMPLES = Path.of("..", "config");

    @Test
    void loadsTheAnnotatedKubeadmExample() throws ConfigException {
        ApilbConfig c = ConfigLoader.load(EXAMPLES.resolve("apilb.yaml"), ConfigTesting.ENV::get);

        assertEquals(List.of(new ListenerConfig("apiserver", new HostPort("0.0.0.0", 6443))), c.listeners());
        assertEquals(List.of("master1", "master2", "master3"), c.backends().stream().map(BackendConfig::name).toList());
        assertEquals(new HostPort("10.0.0.13", 6443), c.backend("master3").address());
        assertEquals(BalancePolicy.LEASTCONN, c.balance());
        assertEquals(Path.of("/etc/kubernetes/pki/ca.crt"), c.health().tls().ca());
        assertEquals("kubernetes", c.health().tls().serverName());
        assertEquals("s3cret", c.admin().token());
        assertEquals(new HostPort("127.0.0.1", 8404), c.admin().address());
        assertEquals(Duration.ofSeconds(30), c.slowStart());
        assertEquals(new RebalanceConfig(true, 1, Duration.ofSeconds(30), Duration.ofSeconds(1), 0.2), c.rebalance());
    }

    @Test
    void theKubeadmExampleNeedsTheAdminTokenFromTheEnvironment() throws IOException {
        Path file = EXAMPLES.resolve("apilb.yaml");
        int line = Files.readAllLines(file).indexOf("  token: ${APILB_ADMIN_TOKEN}") + 1;

        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(file, name -> null));

        assertTrue(line > 0, "the example sets admin.token from the environment");
        assertEquals(List.of("admin.token: environment variable APILB_ADMIN_TOKEN is not set (line " + line + ")"),
                e.errors());
    }

    @Test
    void loadsTheBootstrapExampleWithoutVerification() throws ConfigException {
        ApilbConfig c = ConfigLoader.load(EXAMPLES.resolve("bootstrap.yaml"), ConfigTesting.ENV::get);

        assertTrue(c.health().tls().insecure());
        assertNull(c.health().tls().ca());
        assertEquals(3, c.backends().size());
    }

    @Test
    void theMinimalExampleTakesEveryDefault() throws ConfigException {
        ApilbConfig c = ConfigLoader.load(EXAMPLES.resolve("minimal.yaml"), ConfigTesting.ENV::get);

        assertEquals(1, c.listeners().size());
        assertEquals(3, c.backends().size());
        assertDefaults(c);
    }

    @Test
    void missingSectionsTakeTheDocumentedDefaults() throws ConfigException {
        ApilbConfig c = parse(MINIMAL);

        assertDefaults(c);
        assertEquals(BackendConfig.DEFAULT_WEIGHT, c.backends().get(0).weight());
    }

    @Test
    void emptySectionsTakeTheDocumentedDefaults() throws ConfigException {
        assertDefaults(parse(MINIMAL + "health:\ntimeouts: {}\nadmin: ~\nlimits: { perSource: { allow: [] } }\n"));
    }

    private static void assertDefaults(ApilbConfig c) {
        assertEquals(BalancePolicy.ROUNDROBIN, c.balance());
        assertEquals(2, c.retries());
        assertEquals(new Timeouts(Duration.ofSeconds(2), Duration.ofHours(1)), c.timeouts());
        assertEquals(new TcpConfig(Duration.ofSeconds(30), Duration.ofSeconds(10), 3, Duration.ofSeconds(30), true),
                c.tcp());
        assertEquals(new Limits(20_000, new Limits.PerSource(1000, 0, List.of())), c.limits());
        assertEquals(new HealthConfig(true, HealthMode.HTTPS, "/readyz", List.of(200), Duration.ofSeconds(2),
                Duration.ofSeconds(1), 2, 2, OnDown.CLOSE, true, 0, new TlsConfig(null, false, null, null, null)),
                c.health());
        assertEquals(new AdminConfig(true, new HostPort("127.0.0.1", 8404), null, null, Duration.ofSeconds(10), 256),
                c.admin());
        assertEquals(new LoggingConfig(LogFormat.PLAIN, true, "INFO"), c.logging());
        assertEquals(Duration.ofSeconds(30), c.shutdownGrace());
        assertEquals(Duration.ZERO, c.drainTimeout());
        assertEquals(Duration.ZERO, c.shutdownDelay());
        assertEquals(Duration.ZERO, c.slowStart());
        assertEquals(new RebalanceConfig(false, 1, Duration.ofSeconds(30), Duration.ofSeconds(1), 0.2), c.rebalance());
    }

    @Test
    void readsSlowStartAndRebalance() throws ConfigException {
        ApilbConfig c = parse(MINIMAL + """
                slowStart: 45s
                rebalance: { enabled: true, maxClosesPerSecond: 0.5, minAge: 2m, clientQuietFor: 3s, tolerance: 0.1 }
                """);
        assertEquals(Duration.ofSeconds(45), c.slowStart());
        assertEquals(new RebalanceConfig(true, 0.5, Duration.ofMinutes(2), Duration.ofSeconds(3), 0.1), c.rebalance());
    }

    @Test
    void readsEverySetting() throws ConfigException {
        ApilbConfig c = parse(MINIMAL + """
                  - { name: m2, address: 10.0.0.12:6443, weight: 0 }
                balance: Random
                retries: 0
                timeouts: { connect: 500ms, idle: 1h30m }
                tcp: { keepAliveIdle: 1m, keepAliveInterval: 5s, keepAliveCount: 5, userTimeout: 0, noDelay: false }
                limits:
                  maxConnections: 1_000
                  perSource: { maxConnections: 50, rate: 20, allow: [10.0.0.0/8, "2001:db8::1"] }
                health:
                  enabled: false
                  mode: TLS
                  path: /livez
                  expectStatus: [200, 401]
                  interval: 5s
                  timeout: 5s
                  rise: 3
                  fall: 1
                  onDown: keep
                  failOpen: false
                  port: 6444
                  tls: { ca: /pki/ca.crt, serverName: api.internal, cert: /pki/probe.crt, key: /pki/probe.key }
                admin:
                  enabled: false
                  address: "[::]:9000"
                  tokenFile: /etc/apilb/token
                  requestTimeout: 2500ms
                  maxConnections: 32
                logging: { format: json, accessLog: false, level: debug }
                shutdownGrace: 1m
                drainTimeout: 10m
                shutdownDelay: 3s
                """);

        assertEquals(0, c.backend("m2").weight());
        assertEquals(BalancePolicy.RANDOM, c.balance());
        assertEquals(0, c.retries());
        assertEquals(new Timeouts(Duration.ofMillis(500), Duration.ofMinutes(90)), c.timeouts());
        assertEquals(new TcpConfig(Duration.ofMinutes(1), Duration.ofSeconds(5), 5, Duration.ZERO, false), c.tcp());
        assertEquals(new Limits(1000, new Limits.PerSource(50, 20,
                List.of(Cidr.parse("10.0.0.0/8"), Cidr.parse("2001:db8::1/128")))), c.limits());
        assertEquals(new HealthConfig(false, HealthMode.TLS, "/livez", List.of(200, 401), Duration.ofSeconds(5),
                Duration.ofSeconds(5), 3, 1, OnDown.KEEP, false, 6444,
                new TlsConfig(Path.of("/pki/ca.crt"), false, "api.internal", Path.of("/pki/probe.crt"),
                        Path.of("/pki/probe.key"))), c.health());
        assertEquals(new AdminConfig(false, new HostPort("::", 9000), null, Path.of("/etc/apilb/token"),
                Duration.ofMillis(2500), 32), c.admin());
        assertEquals(new LoggingConfig(LogFormat.JSON, false, "DEBUG"), c.logging());
        assertEquals(Duration.ofMinutes(1), c.shutdownGrace());
        assertEquals(Duration.ofMinutes(10), c.drainTimeout());
        assertEquals(Duration.ofSeconds(3), c.shutdownDelay());
    }

    @Test
    void edgeIntervalsDefaultToAQuarterOfTheIntervalAndTheIntervalAndCanBeSet() throws ConfigException {
        HealthConfig derived = parse(MINIMAL + "health: { interval: 4s }\n").health();
        assertEquals(Duration.ofSeconds(1), derived.fastInterval());
        assertEquals(Duration.ofSeconds(4), derived.downInterval());
        assertEquals(Duration.ofMillis(100), parse(MINIMAL + "health: { interval: 200ms, timeout: 100ms }\n").health().fastInterval(),
                "not below 100 ms by default");
        HealthConfig set = parse(MINIMAL + "health: { interval: 2s, fastInterval: 300ms, downInterval: 10s }\n")
                .health();
        assertEquals(Duration.ofMillis(300), set.fastInterval());
        assertEquals(Duration.ofSeconds(10), set.downInterval());
        Timeouts t = parse(MINIMAL + "timeouts: { clientHello: 0s, firstByte: 750ms }\n").timeouts();
        assertEquals(Duration.ZERO, t.clientHello());
        assertEquals(Duration.ofMillis(750), t.firstByte());
    }

    @Test
    void acceptsASingleExpectedStatus() throws ConfigException {
        assertEquals(List.of(401), parse(MINIMAL + "health: { expectStatus: 401 }\n").health().expectStatus());
    }

    @Test
    void listensOnIpv6AndDialsHostnames() throws ConfigException {
        ApilbConfig c = parse("""
                listeners:
                  - name: api
                    address: "[::]:6443"
                backends:
                  - name: m1
                    address: master1.example:6443
                  - name: m2
                    address: "[fd00::12]:6443"
                """);

        HostPort listen = c.listeners().get(0).address();
        assertEquals(new HostPort("::", 6443), listen);
        assertTrue(listen.isIpv6Literal());
        assertEquals(new HostPort("master1.example", 6443), c.backend("m1").address());
        assertEquals(new HostPort("fd00::12", 6443), c.backend("m2").address());
    }

    @Test
    void readsFlowStyleBackendsLikeBlockStyle() throws ConfigException {
        ApilbConfig flow = parse("""
                listeners: [ { name: api, address: 0.0.0.0:6443 } ]
                backends: [ { name: m1, address: 10.0.0.11:6443, weight: 2 }, { name: m2, address: 10.0.0.12:6443 } ]
                """);
        ApilbConfig block = parse("""
                listeners:
                  - name: api
                    address: 0.0.0.0:6443
                backends:
                  - name: m1
                    address: 10.0.0.11:6443
                    weight: 2
                  - name: m2
                    address: 10.0.0.12:6443
                """);

        assertEquals(block, flow);
    }

    @Test
    void expandsEnvironmentVariables() throws ConfigException {
        ApilbConfig c = parse(MINIMAL + """
                  - { name: m2, address: "${MASTER_HOST}:${MASTER_PORT:-6443}" }
                retries: ${RETRIES:-3}
                admin:
                  token: "${APILB_ADMIN_TOKEN}$$x"
                """);

        assertEquals(new HostPort("master1.example", 6443), c.backend("m2").address());
        assertEquals(3, c.retries());
        assertEquals("s3cret$x", c.admin().token());
    }

    @Test
    void expandsOnlyWellFormedReferences() {
        EnvExpander env = new EnvExpander(Map.of("A", "1", "EMPTY", "")::get);

        assertEquals("1", env.expand("${A}"));
        assertEquals("1", env.expand("${A:-2}"));
        assertEquals("", env.expand("${EMPTY:-2}"));
        assertEquals("x:-y", env.expand("${UNSET:-x:-y}"));
        assertEquals("$A", env.expand("$$A"));
        assertEquals("a$b$", env.expand("a$b$"));
        assertEquals("environment variable UNSET is not set",
                assertThrows(IllegalArgumentException.class, () -> env.expand("${UNSET}")).getMessage());
        assertEquals("\"${1A}\" is not a variable reference (expected: ${NAME} or ${NAME:-default})",
                assertThrows(IllegalArgumentException.class, () -> env.expand("${1A}")).getMessage());
    }

    @Test
    void resolvesRelativeFilesAgainstTheConfigDirectory(@TempDir Path dir) throws IOException, ConfigException {
        Path file = dir.resolve("apilb.yaml");
        Files.writeString(file, MINIMAL + """
                health:
                  tls: { ca: pki/ca.crt, cert: /abs/probe.crt, key: ../probe.key }
                admin: { tokenFile: token }
                """);

        ApilbConfig c = ConfigLoader.load(file, ConfigTesting.ENV::get);

        Path base = dir.toAbsolutePath();
        assertEquals(base.resolve("pki/ca.crt"), c.health().tls().ca());
        assertEquals(Path.of("/abs/probe.crt"), c.health().tls().cert());
        assertEquals(base.getParent().resolve("probe.key"), c.health().tls().key());
        assertEquals(base.resolve("token"), c.admin().tokenFile());
    }

    @Test
    void allowsAnchorsAndAliases() throws ConfigException {
        ApilbConfig c = parse(MINIMAL + """
                  - { name: m2, address: &m2 10.0.0.12:6443 }
                  - { name: m2-old, address: *m2 }
                """);

        assertEquals(c.backend("m2").address(), c.backend("m2-old").address());
    }

    @Test
    void allowsAdminBeyondLoopbackWithAToken() throws ConfigException {
        ApilbConfig c = parse(MINIMAL + "admin: { address: 0.0.0.0:8404, token: abc }\n");

        assertEquals(new HostPort("0.0.0.0", 8404), c.admin().address());
    }

    @Test
    void allowsListenersOnTheSamePortOfDifferentHosts() throws ConfigException {
        ApilbConfig c = parse("""
                listeners:
                  - { name: a, address: 10.0.0.1:6443 }
                  - { name: b, address: 10.0.0.2:6443 }
                  - { name: c, address: "[::1]:6443" }
                backends:
                  - { name: m1, address: 10.0.0.11:6443 }
                """);

        assertEquals(3, c.listeners().size());
    }

    @Test
    void refusesAMissingFile(@TempDir Path dir) {
        Path file = dir.resolve("nope.yaml");
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(file));
        assertEquals(List.of("no such file"), e.errors());
        assertEquals(file + ": 1 error\n  no such file", e.getMessage());
    }

    @Test
    void refusesAnOversizedDocument() {
        String huge = MINIMAL + "#".repeat(ConfigLoader.MAX_CODE_POINTS);
        ConfigException e = assertThrows(ConfigException.class, () -> parse(huge));
        assertEquals(List.of("the file is larger than 1048576 characters"), e.errors());
    }
}
