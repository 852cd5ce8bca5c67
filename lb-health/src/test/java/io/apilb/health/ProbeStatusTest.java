package io.apilb.health;

import static io.apilb.health.HealthFixtures.DEADLINE;
import static io.apilb.health.HealthFixtures.awaitHealth;
import static io.apilb.health.HealthFixtures.config;
import static io.apilb.health.HealthFixtures.pool;
import static io.apilb.health.HealthFixtures.tls;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.apilb.core.backend.BackendPool;
import io.apilb.core.backend.Health;
import io.apilb.core.config.HealthConfig;
import io.apilb.core.config.HealthMode;
import io.apilb.core.config.TlsConfig;
import io.apilb.core.testing.TestApiServer;
import io.apilb.core.testing.TestPki;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslProvider;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * What each probe mode reports against real loopback servers, with both TLS providers. Each test
 * checks the first results, not the first that happens to match: a probe that starts wrong fails.
 */
class ProbeStatusTest {
    /**
     * The timeout of probes that should get an answer: long enough that a cold first TLS handshake
     * on a loaded machine never turns into a timeout, and never waited for when the test passes.
     */
    private static final Duration ANSWERS = Duration.ofSeconds(4);
    @TempDir
    Path dir;

    @AutoClose
    private final HealthFixtures.Closer closer = new HealthFixtures.Closer();

    @Test
    void closedPortIsL4conAndEvictedAfterFallChecks() throws Exception {
        TestApiServer server = server(TestApiServer.builder("m1"));
        BackendPool pool = pool(server);
        HealthChecker checker = start(config().tls(tls(ca(), null)).fall(3).build(), pool,
                ProbeSslContexts.defaultProvider());
        HealthFixtures.Flips flips = new HealthFixtures.Flips(pool, checker);
        awaitHealth(pool, "m1", Health.UP);

        server.stop();

        awaitHealth(pool, "m1", Health.DOWN);
        HealthFixtures.Flip down = flips.lastTo("m1", Health.DOWN);
        assertEquals(3, down.streak(), () -> "failures before DOWN: " + down.history());
        CheckResult last = down.history().get(down.history().size() - 1);
        assertEquals(CheckStatus.L4CON, last.status());
        System.out.println("closed port: " + last.status() + " \"" + last.error() + "\"");
    }

    @Test
    void neverOpenedPortIsDownAtTheFirstCheck() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        BackendPool pool = pool("gone", "127.0.0.1:" + port);
        HealthChecker checker = start(config().mode(HealthMode.TCP).build(), pool, SslProvider.JDK);
        awaitHealth(pool, "gone", Health.DOWN);
        assertEquals(CheckStatus.L4CON, checker.history("gone").get(0).status());
    }

    @ParameterizedTest
    @EnumSource(value = SslProvider.class, names = {"OPENSSL", "JDK"})
    void frozenServerIsL6tout(SslProvider provider) throws Exception {
        TestApiServer server = server(TestApiServer.builder("m1"));
        server.freeze();
        CheckResult r = firstResult(CheckStatus.L6TOUT,
                config().tls(tls(ca(), null)).build(), pool(server), provider, "m1");
        assertTrue(r.duration().toMillis() >= HealthFixtures.TIMEOUT.toMillis() - 5, r::toString);
        System.out.println(provider + " frozen server: " + r.status() + " \"" + r.error() + "\"");
    }

    @ParameterizedTest
    @EnumSource(value = SslProvider.class, names = {"OPENSSL", "JDK"})
    void processThatAcceptsButNeverReadsIsL6tout(SslProvider provider) throws Exception {
        try (ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            BackendPool pool = pool("silent", "127.0.0.1:" + silent.getLocalPort());
            CheckResult r = firstResult(CheckStatus.L6TOUT,
                    config().mode(HealthMode.TLS).tls(tls(ca(), null)).build(), pool, provider,
                    "silent");
            assertTrue(r.duration().toMillis() >= HealthFixtures.TIMEOUT.toMillis() - 5, r::toString);
            assertEquals("TLS handshake timed out after " + HealthFixtures.TIMEOUT.toMillis() + "ms", r.error());
        }
    }

    @ParameterizedTest
    @EnumSource(value = SslProvider.class, names = {"OPENSSL", "JDK"})
    void certificateFromAnotherCaIsL6rsp(SslProvider provider) throws Exception {
        TestApiServer server = server(TestApiServer.builder("m1")
                .certificate(TestPki.server(TestPki.otherCa(), "m1", "kubernetes")));
        CheckResult r = firstResult(CheckStatus.L6RSP,
                config().timeout(ANSWERS).tls(tls(ca(), null)).build(), pool(server), provider, "m1");
        assertEquals(0, server.requests(), "no request after a failed handshake");
        System.out.println(provider + " foreign CA: " + r.status() + " \"" + r.error() + "\"");
    }

    @ParameterizedTest
    @EnumSource(value = SslProvider.class, names = {"OPENSSL", "JDK"})
    void serverNameNotInTheCertificateIsL6rsp(SslProvider provider) throws Exception {
        TestApiServer server = server(TestApiServer.builder("m1"));
        CheckResult r = firstResult(CheckStatus.L6RSP,
                config().timeout(ANSWERS).tls(tls(ca(), "not-in-cert.example")).build(), pool(server), provider,
                "m1");
        assertEquals(0, server.requests(), "no request after a failed handshake");
        assertEquals("not-in-cert.example", server.sniSeen().get(0), "the name it verified is the one it sent");
        System.out.println(provider + " wrong name: " + r.status() + " \"" + r.error() + "\"");
    }

    @ParameterizedTest
    @EnumSource(value = SslProvider.class, names = {"OPENSSL", "JDK"})
    void insecureAcceptsForeignCertificateAndWrongName(SslProvider provider) throws Exception {
        TestApiServer server = server(TestApiServer.builder("m1")
                .certificate(TestPki.server(TestPki.otherCa(), "m1", "elsewhere.example")));
        TlsConfig insecure = new TlsConfig(null, true, "kubernetes", null, null);
        CheckResult r = firstResult(CheckStatus.L7OK, config().timeout(ANSWERS).tls(insecure).build(), pool(server),
                provider, "m1");
        assertEquals(200, r.httpStatus());
        assertEquals("kubernetes", server.sniSeen().get(0));
    }

    @ParameterizedTest
    @EnumSource(value = SslProvider.class, names = {"OPENSSL", "JDK"})
    void verifiesTheIpAddressWhenNoServerNameIsSet(SslProvider provider) throws Exception {
        TestApiServer server = server(TestApiServer.builder("m1"));
        CheckResult r = firstResult(CheckStatus.L7OK,
                config().timeout(ANSWERS).tls(tls(ca(), null)).build(), pool(server), provider, "m1");
        assertEquals(200, r.httpStatus());
        assertTrue(server.sniSeen().isEmpty(), "an IP literal is not sent as SNI: " + server.sniSeen());
    }

    @ParameterizedTest
    @EnumSource(value = SslProvider.class, names = {"OPENSSL", "JDK"})
    void sendsTheConfiguredServerNameAsSni(SslProvider provider) throws Exception {
        TestApiServer server = server(TestApiServer.builder("m1"));
        CheckResult r = firstResult(CheckStatus.L7OK,
                config().timeout(ANSWERS).tls(tls(ca(), "kubernetes")).build(), pool(server), provider, "m1");
        assertEquals(200, r.httpStatus());
        assertEquals("kubernetes", server.sniSeen().get(0));
    }

    @ParameterizedTest
    @EnumSource(value = SslProvider.class, names = {"OPENSSL", "JDK"})
    void unreadyStatusesAreL7sts(SslProvider provider) throws Exception {
        for (int status : new int[] {500, 503}) {
            TestApiServer server = server(TestApiServer.builder("m" + status));
            server.readyStatus(status);
            CheckResult r = firstResult(CheckStatus.L7STS,
                    config().timeout(ANSWERS).tls(tls(ca(), null)).build(), pool(server), provider, server.name());
            assertEquals(status, r.httpStatus());
            assertTrue(r.error().startsWith("HTTP " + status + ": [-]shutdown failed"), r.error());
        }
    }

    @ParameterizedTest
    @EnumSource(value = SslProvider.class, names = {"OPENSSL", "JDK"})
    void answerAfterTheTimeoutIsL7tout(SslProvider provider) throws Exception {
        TestApiServer server = server(TestApiServer.builder("m1"));
        // Long enough for a cold handshake, shorter than the answer.
        Duration timeout = Duration.ofSeconds(2);
        server.readyDelay(timeout.multipliedBy(3));
        CheckResult r = firstResult(CheckStatus.L7TOUT,
                config().timeout(timeout).tls(tls(ca(), null)).build(), pool(server), provider, "m1");
        assertEquals(0, r.httpStatus(), "no status line");
        assertTrue(r.duration().compareTo(timeout.minusMillis(5)) >= 0, r::toString);
        assertTrue(server.readyzRequests() >= 1, "the request was sent: the handshake did not time out");
    }

    @ParameterizedTest
    @EnumSource(value = SslProvider.class, names = {"OPENSSL", "JDK"})
    void requiredClientCertificateMissingIsL6rspAndPresentIsL7ok(SslProvider provider) throws Exception {
        TestApiServer server = server(TestApiServer.builder("m1").requireClientCert());
        CheckResult without = firstResult(CheckStatus.L6RSP,
                config().timeout(ANSWERS).tls(tls(ca(), null)).build(), pool(server), provider, "m1");
        assertEquals(0, server.requests(), "no request without a client certificate");
        System.out.println(provider + " no client cert: " + without.status() + " \"" + without.error() + "\"");

        Path[] pair = TestPki.writeKeyPair(TestPki.client("apilb-health", "system:monitoring"), dir, "probe");
        TlsConfig withCert = new TlsConfig(ca(), false, null, pair[0], pair[1]);
        CheckResult with = firstResult(CheckStatus.L7OK, config().timeout(ANSWERS).tls(withCert).build(), pool(server),
                provider, "m1");
        assertEquals(200, with.httpStatus());
    }

    @ParameterizedTest
    @EnumSource(value = SslProvider.class, names = {"OPENSSL", "JDK"})
    void tlsModeStopsAfterTheHandshake(SslProvider provider) throws Exception {
        TestApiServer server = server(TestApiServer.builder("m1"));
        server.readyStatus(500);
        CheckResult r = firstResult(CheckStatus.L6OK,
                config().timeout(ANSWERS).mode(HealthMode.TLS).tls(tls(ca(), null)).build(), pool(server), provider,
                "m1");
        assertEquals(0, r.httpStatus());
        assertEquals(0, server.requests());
    }

    @Test
    void tcpModeOnlyConnects() throws Exception {
        try (ServerSocket plain = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            BackendPool pool = pool("plain", "127.0.0.1:" + plain.getLocalPort());
            CheckResult r = firstResult(CheckStatus.L4OK,
                    config().timeout(ANSWERS).mode(HealthMode.TCP).build(), pool, SslProvider.JDK, "plain");
            assertEquals(0, r.httpStatus());
            plain.setSoTimeout((int) DEADLINE.toMillis());
            try (Socket probe = plain.accept()) {
                assertEquals(-1, probe.getInputStream().read(), "the probe sent nothing and closed");
            }
        }
    }

    @Test
    void downBackendComesBackAfterExactlyRiseSuccesses() throws Exception {
        TestApiServer server = server(TestApiServer.builder("m1"));
        BackendPool pool = pool(server);
        HealthChecker checker = start(config().tls(tls(ca(), null)).rise(3).fall(2).build(), pool,
                ProbeSslContexts.defaultProvider());
        HealthFixtures.Flips flips = new HealthFixtures.Flips(pool, checker);
        awaitHealth(pool, "m1", Health.UP);
        server.readyStatus(500);
        awaitHealth(pool, "m1", Health.DOWN);

        server.readyStatus(200);

        awaitHealth(pool, "m1", Health.UP);
        HealthFixtures.Flip up = flips.lastTo("m1", Health.UP);
        assertEquals(3, up.streak(), () -> "successes before UP: " + up.history());
        assertFalse(up.history().get(up.history().size() - 4).status().ok(), () -> "before UP: " + up.history());
    }

    /**
     * Starts a checker, waits for its first two results and returns the first, after checking
     * that both have {@code expected}: a wrong first result, or a status that changes on its own,
     * fails the test. Give probes that should get an answer the {@link #ANSWERS} timeout.
     */
    private CheckResult firstResult(CheckStatus expected, HealthConfig config, BackendPool pool, SslProvider provider,
                                    String name) throws Exception {
        HealthChecker checker = start(config, pool, provider);
        await().atMost(DEADLINE).until(() -> checker.history(name).size() >= 2);
        List<CheckResult> results = checker.history(name);
        checker.close();
        assertEquals(List.of(expected, expected), results.subList(0, 2).stream().map(CheckResult::status).toList(),
                results::toString);
        return results.get(0);
    }

    private HealthChecker start(HealthConfig config, BackendPool pool, SslProvider provider) throws Exception {
        assumeTrue(provider != SslProvider.OPENSSL || OpenSsl.isAvailable(), "BoringSSL not available");
        HealthChecker checker = new HealthChecker(config, pool, new SimpleMeterRegistry(), provider);
        closer.add(checker);
        checker.start();
        return checker;
    }

    private TestApiServer server(TestApiServer.Builder builder) {
        TestApiServer s = builder.start();
        closer.add(s);
        return s;
    }

    private Path ca() {
        return TestPki.writeCa(TestPki.ca(), dir, "ca.crt");
    }

}
