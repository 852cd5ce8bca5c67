package io.apilb.app;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.apilb.admin.Reloader;
import io.apilb.core.backend.Health;
import io.apilb.core.config.ConfigLoader;
import io.apilb.core.testing.TestApiServer;
import io.apilb.core.testing.TestHttpsClient;
import io.apilb.core.testing.TestPki;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.slf4j.LoggerFactory;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;

import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/** Reload of a running balancer from its config file: what changes, what must not. */
class ReloadTest {
    @TempDir
    Path dir;
    private final List<AutoCloseable> closeables = new ArrayList<>();
    private int lbPort;
    private int adminPort;
    private Path ca;

    @BeforeEach
    void ports() throws Exception {
        lbPort = ApilbProcess.freePort();
        adminPort = ApilbProcess.freePort();
        ca = TestPki.writeCa(TestPki.ca(), dir, "ca.crt");
    }

    @AfterEach
    void tearDown() throws Exception {
        for (int i = closeables.size() - 1; i >= 0; i--) {
            closeables.get(i).close();
        }
    }

    private TestApiServer master(String name) {
        TestApiServer s = TestApiServer.start(name);
        closeables.add(s);
        return s;
    }

    private Path write(List<TestApiServer> backends, String extra) throws Exception {
        String list = backends.stream().map(b -> "  - { name: " + b.name() + ", address: " + b.hostPort() + " }")
                .collect(Collectors.joining("\n"));
        return Files.writeString(dir.resolve("apilb.yaml"), """
                listeners:
                  - { name: apiserver, address: 127.0.0.1:%d }
                backends:
                %s
                health:
                  interval: 200ms
                  timeout: 200ms
                  rise: 1
                  fall: 2
                  tls: { ca: %s, serverName: kubernetes }
                admin: { address: 127.0.0.1:%d, token: s3cret }
                shutdownGrace: 2s
                %s
                """.formatted(lbPort, list, ca, adminPort, extra));
    }

    private ApilbRuntime started(Path file) throws Exception {
        ApilbRuntime rt = ApilbRuntime.start(ConfigLoader.load(file), file);
        closeables.add(rt);
        return rt;
    }

    /** Started on one master, {@code a}, once it is UP. */
    private ApilbRuntime startedOnUpMaster(Path file) throws Exception {
        ApilbRuntime rt = started(file);
        await().atMost(Duration.ofSeconds(10)).until(() -> rt.pool().get("a").health() == Health.UP);
        return rt;
    }

    private TestHttpsClient connectionTo(InetSocketAddress lb, String server) throws Exception {
        for (int i = 0; i < 12; i++) {
            TestHttpsClient c = TestHttpsClient.connect(lb);
            if (server.equals(c.get("/version").server())) {
                return c;
            }
            c.close();
        }
        throw new AssertionError("no connection landed on " + server);
    }

    @Test
    void reloadAddsAndRemovesBackendsWithoutTouchingTheOthers() throws Exception {
        TestApiServer a = master("a");
        TestApiServer b = master("b");
        TestApiServer c = master("c");
        TestApiServer d = master("d");
        Path file = write(List.of(a, b, c), "");
        ApilbRuntime rt = started(file);
        await().atMost(Duration.ofSeconds(10)).until(() -> rt.pool().all().stream().allMatch(x -> x.health() == Health.UP));
        InetSocketAddress lb = rt.listenerAddresses().get(0);

        try (TestHttpsClient toA = connectionTo(lb, "a"); TestHttpsClient toB = connectionTo(lb, "b")) {
            var bBefore = rt.pool().get("b");
            long bTotal = bBefore.connections().total();

            write(List.of(b, c, d), "");
            Reloader.Result r = rt.reload();
            assertTrue(r.ok(), r.errors().toString());

            await().atMost(Duration.ofSeconds(3)).until(toA::isClosedByPeer);
            assertEquals("b", toB.get("/version").server(), "the long connection to b survives the reload");
            assertEquals(bBefore, rt.pool().get("b"), "b kept: same backend, same counters");
            assertTrue(rt.pool().get("b").connections().total() >= bTotal);
            assertEquals(Health.UP, rt.pool().get("b").health(), "b kept its health");

            await().atMost(Duration.ofSeconds(10)).until(() -> rt.pool().get("d").health() == Health.UP);
            Set<String> served = new HashSet<>();
            for (int i = 0; i < 9; i++) {
                served.add(TestHttpsClient.getOnce(lb, "/version").server());
            }
            assertEquals(Set.of("b", "c", "d"), served);

            // A broken file changes nothing and says why.
            Files.writeString(file, Files.readString(file).replace("rise: 1", "rise: 0").replace(d.hostPort(), "10.0.0.1"));
            Reloader.Result refused = rt.reload();
            assertFalse(refused.ok());
            String errors = String.join("\n", refused.errors());
            assertTrue(errors.contains("health.rise") && errors.contains("backends[2].address"), errors);
            assertEquals(List.of("b", "c", "d"), rt.pool().all().stream().map(x -> x.name()).toList());
            assertEquals("b", toB.get("/version").server(), "still serving after a refused reload");
        }
    }

    @Test
    void renamingAListenerReloadsOnTheSameSocket() throws Exception {
        TestApiServer a = master("a");
        Path file = write(List.of(a), "");
        ApilbRuntime rt = started(file);
        List<InetSocketAddress> before = rt.listenerAddresses();
        try (TestHttpsClient open = TestHttpsClient.connect(before.get(0))) {
            assertEquals("a", open.get("/version").server());
            Files.writeString(file, Files.readString(file).replace("name: apiserver", "name: kube-apiserver"));
            Reloader.Result r = rt.reload();
            assertTrue(r.ok(), r.errors().toString());
            assertEquals("kube-apiserver", rt.config().listeners().get(0).name());
            assertEquals(before, rt.listenerAddresses());
            assertEquals("a", open.get("/version").server(), "the open connection survives the rename");
            assertEquals("a", TestHttpsClient.getOnce(before.get(0), "/version").server());
        }
    }

    @Test
    void reloadThroughTheAdminApiNeedsTheTokenAndReportsErrors() throws Exception {
        TestApiServer a = master("a");
        TestApiServer b = master("b");
        Path file = write(List.of(a), "");
        ApilbRuntime rt = started(file);
        HttpClient http = HttpClient.newHttpClient();
        URI reload = URI.create("http://127.0.0.1:" + adminPort + "/api/v1/reload");

        write(List.of(a, b), "");
        HttpResponse<String> noToken = http.send(HttpRequest.newBuilder(reload).POST(HttpRequest.BodyPublishers.noBody())
                .build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(401, noToken.statusCode());
        assertEquals(1, rt.pool().all().size(), "nothing applied without the token");

        HttpResponse<String> ok = http.send(HttpRequest.newBuilder(reload).header("Authorization", "Bearer s3cret")
                .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, ok.statusCode(), ok.body());
        assertEquals(List.of("a", "b"), rt.pool().all().stream().map(x -> x.name()).toList());

        Files.writeString(file, Files.readString(file) + "bogus: 1\n");
        HttpResponse<String> bad = http.send(HttpRequest.newBuilder(reload).header("Authorization", "Bearer s3cret")
                .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(400, bad.statusCode());
        assertTrue(bad.body().contains("bogus: unknown key"), bad.body());
    }

    @Test
    void drainTimeoutClosesDrainedConnectionsAfterItRunsOut() throws Exception {
        TestApiServer a = master("a");
        Path file = write(List.of(a), "drainTimeout: 500ms");
        ApilbRuntime rt = started(file);
        try (TestHttpsClient toA = TestHttpsClient.connect(rt.listenerAddresses().get(0))) {
            assertEquals("a", toA.get("/version").server());
            long start = System.nanoTime();
            rt.pool().setAdminState(rt.pool().get("a"), io.apilb.core.backend.AdminState.DRAIN);
            assertEquals("a", toA.get("/version").server(), "drain keeps the connection at first");
            await().atMost(Duration.ofSeconds(3)).until(toA::isClosedByPeer);
            long ms = (System.nanoTime() - start) / 1_000_000;
            assertTrue(ms >= 450, "closed after the drain timeout, not before: " + ms + " ms");
        }
    }

    @Test
    void changedHealthSettingsReplaceTheCheckerAndKeepItsMetricsLive() throws Exception {
        TestApiServer a = master("a");
        Path file = write(List.of(a), "");
        ApilbRuntime rt = startedOnUpMaster(file);

        Files.writeString(file, Files.readString(file).replace("path: /readyz", "").replace("interval: 200ms",
                "interval: 250ms\n  path: /livez"));
        assertTrue(rt.reload().ok());
        a.readyStatus(500);
        // With fall 2, two probes of /readyz would now take it DOWN: wait for three of the new checker's.
        int readyzBefore = a.readyzRequests();
        int checksBefore = rt.checks().history("a").size();
        java.time.Instant reloaded = java.time.Instant.now();
        await().atMost(Duration.ofSeconds(5)).until(() -> rt.checks().history("a").stream()
                .filter(c -> c.at().isAfter(reloaded)).count() >= 3);
        assertEquals(Health.UP, rt.pool().get("a").health(), "the new checker probes /livez, not /readyz");
        assertTrue(rt.checks().history("a").stream().filter(c -> c.at().isAfter(reloaded))
                .noneMatch(c -> c.status().name().equals("L7STS")), "no probe met /readyz's 500");
        assertTrue(a.readyzRequests() - readyzBefore <= 1, "at most a probe of the old checker already in flight");
        assertTrue(rt.checks().history("a").size() > checksBefore, "the results carry over and grow");
        assertEquals(0.0, rt.registry().get("apilb.health.all.down").gauge().value(),
                "the all-down gauge reads the new checker");
        assertEquals(1.0, rt.registry().get("apilb.backend.up").tag("backend", "a").gauge().value());
    }

    @Test
    void aHealthReloadKeepsTheRiseFallStateSoOneTimedOutProbeDoesNotTakeAMasterDown() throws Exception {
        TestApiServer a = master("a");
        Path file = write(List.of(a), "");
        // A timeout long enough that only the deliberate delay makes a probe time out on a busy machine.
        Files.writeString(file, Files.readString(file).replace("interval: 200ms", "interval: 2s")
                .replace("timeout: 200ms", "timeout: 1s"));
        ApilbRuntime rt = started(file);
        List<Health> flips = new java.util.concurrent.CopyOnWriteArrayList<>();
        rt.pool().addListener((backend, oldHealth, oldState) -> {
            if (backend.health() != oldHealth) {
                flips.add(backend.health());
            }
        });
        await().atMost(Duration.ofSeconds(10)).until(() -> rt.pool().get("a").health() == Health.UP);
        // Just after a result, so the old checker has no probe in flight when the master turns slow.
        java.time.Instant seen = rt.checks().last("a").at();
        await().atMost(Duration.ofSeconds(3)).until(() -> rt.checks().last("a").at().isAfter(seen));
        flips.clear();

        a.readyDelay(Duration.ofSeconds(3));
        Files.writeString(file, Files.readString(file).replace("interval: 2s", "interval: 2400ms"));
        java.time.Instant reloaded = java.time.Instant.now();
        assertTrue(rt.reload().ok());
        await().atMost(Duration.ofSeconds(4)).until(() -> {
            var last = rt.checks().last("a");
            return last.at().isAfter(reloaded) && last.status().name().equals("L7TOUT");
        });
        a.readyDelay(Duration.ZERO);
        java.time.Instant timedOut = rt.checks().last("a").at();
        await().atMost(Duration.ofSeconds(4)).until(() -> rt.checks().last("a").at().isAfter(timedOut));

        assertEquals("L7OK", rt.checks().last("a").status().name());
        assertEquals(List.of(), flips, "fall 2 holds across the reload: one timed-out probe is not a verdict");
        assertEquals(Health.UP, rt.pool().get("a").health());
    }

    @Test
    void anUnreadableAdminTokenFileIsRefusedBeforeAnythingChanges() throws Exception {
        TestApiServer a = master("a");
        Path file = write(List.of(a), "");
        ApilbRuntime rt = started(file);
        Files.writeString(file, Files.readString(file).replace("token: s3cret",
                "tokenFile: " + dir.resolve("missing-token")) + "retries: 5\n");
        Reloader.Result r = rt.reload();
        assertFalse(r.ok());
        assertTrue(r.errors().get(0).startsWith("admin.tokenFile:"), r.errors().toString());
        assertEquals(2, rt.config().retries(), "nothing applied");
    }

    /** The ways a reload can fail after the file was read: injected at each preparation step, or real. */
    enum Failure { AFTER_LISTENERS, AFTER_HEALTH, AFTER_ADMIN, ADMIN_PORT_TAKEN, HEALTH_CANNOT_START }

    @ParameterizedTest
    @EnumSource(Failure.class)
    void aReloadThatFailsAnywhereChangesNothingAndSaysWhy(Failure failure) throws Exception {
        TestApiServer a = master("a");
        TestApiServer b = master("b");
        Path file = write(List.of(a), "");
        ApilbRuntime rt = startedOnUpMaster(file);
        List<InetSocketAddress> listeners = rt.listenerAddresses();
        var checker = rt.health();
        ListAppender<ILoggingEvent> logs = capture(ApilbRuntime.class);

        int newLb = ApilbProcess.freePort();
        java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress());
        closeables.add(taken);
        int newAdmin = failure == Failure.ADMIN_PORT_TAKEN ? taken.getLocalPort() : ApilbProcess.freePort();
        String next = Files.readString(write(List.of(a, b), "retries: 5"))
                .replace("listeners:\n", "listeners:\n  - { name: second, address: 127.0.0.1:" + newLb + " }\n")
                .replace("interval: 200ms", "interval: 300ms")
                .replace("127.0.0.1:" + adminPort, "127.0.0.1:" + newAdmin);
        if (failure == Failure.HEALTH_CANNOT_START) {
            next = next.replace(ca.toString(), dir.resolve("no-such-ca.crt").toString());
        }
        Files.writeString(file, next);
        String step = switch (failure) {
            case AFTER_LISTENERS -> "listeners";
            case AFTER_HEALTH -> "health";
            case AFTER_ADMIN -> "admin";
            default -> "none";
        };
        rt.preparedStep = reached -> {
            if (reached.equals(step)) {
                throw new java.io.UncheckedIOException(new java.io.IOException("injected after " + step));
            }
        };
        String expected = switch (failure) {
            case ADMIN_PORT_TAKEN -> "admin.address: 127.0.0.1:" + newAdmin + " cannot be bound";
            case HEALTH_CANNOT_START -> "health.tls:";
            default -> "injected after " + step;
        };

        Reloader.Result r = rt.reload();
        assertFalse(r.ok());
        assertTrue(r.errors().get(0).contains(expected), r.errors().toString());
        assertNothingChanged(rt, listeners, checker, newLb, failure == Failure.ADMIN_PORT_TAKEN ? -1 : newAdmin);
        assertTrue(logged(logs, "reload refused", expected), "logged with the reason");

        // SIGHUP runs the same reload on the control thread: refused, logged, nothing changed.
        rt.reloadInBackground();
        await().atMost(Duration.ofSeconds(5)).until(() -> logged(logs, "reload on SIGHUP refused", expected));
        assertNothingChanged(rt, listeners, checker, newLb, failure == Failure.ADMIN_PORT_TAKEN ? -1 : newAdmin);

        // Everything prepared was released: once the fault is gone, the same reload applies.
        rt.preparedStep = reached -> { };
        taken.close();
        Files.writeString(file, next.replace(dir.resolve("no-such-ca.crt").toString(), ca.toString()));
        Reloader.Result applied = rt.reload();
        assertTrue(applied.ok(), applied.errors().toString());
        assertEquals(List.of("a", "b"), rt.pool().all().stream().map(x -> x.name()).toList());
        assertAnswers(healthz(newAdmin), "the new admin port answered as soon as the reload was reported");
        assertEquals("a", TestHttpsClient.getOnce(new InetSocketAddress("127.0.0.1", newLb), "/version").server());
        await().atMost(Duration.ofSeconds(3)).untilAsserted(() ->
                assertThrows(java.io.IOException.class, () -> healthz(adminPort)));
    }

    private void assertNothingChanged(ApilbRuntime rt, List<InetSocketAddress> listeners, Object checker, int newLb,
                                      int newAdmin) throws Exception {
        assertEquals(listeners, rt.listenerAddresses(), "same listeners");
        assertThrows(java.net.ConnectException.class, () -> new java.net.Socket("127.0.0.1", newLb).close(),
                "the new listener was closed again");
        if (newAdmin > 0) {
            assertThrows(java.net.ConnectException.class, () -> new java.net.Socket("127.0.0.1", newAdmin).close(),
                    "the new admin port was closed again");
        }
        assertSame(checker, rt.health(), "same health checker");
        java.time.Instant seen = rt.checks().last("a").at();
        await().atMost(Duration.ofSeconds(3)).until(() -> rt.checks().last("a").at().isAfter(seen));
        assertAnswers(healthz(adminPort), "same admin port");
        assertEquals(adminPort, rt.adminAddress().getPort());
        assertEquals(2, rt.config().retries(), "same config");
        assertEquals(List.of("a"), rt.pool().all().stream().map(x -> x.name()).toList(), "same backends");
        assertEquals("a", TestHttpsClient.getOnce(listeners.get(0), "/version").server(), "still serving");
    }

    /** 200, or 503 should probes time out on a busy machine: either way the port serves. */
    private static void assertAnswers(int healthzStatus, String what) {
        assertTrue(healthzStatus == 200 || healthzStatus == 503, what + ": " + healthzStatus);
    }

    private static int healthz(int port) throws Exception {
        HttpResponse<String> r = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build().send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/healthz")).timeout(Duration.ofSeconds(10))
                        .build(), HttpResponse.BodyHandlers.ofString());
        return r.statusCode();
    }

    private ListAppender<ILoggingEvent> capture(Class<?> source) {
        Logger logger = (Logger) LoggerFactory.getLogger(source);
        ListAppender<ILoggingEvent> logs = new ListAppender<>();
        logs.start();
        logger.addAppender(logs);
        closeables.add(() -> logger.detachAppender(logs));
        return logs;
    }

    private static boolean logged(ListAppender<ILoggingEvent> logs, String... parts) {
        List<ILoggingEvent> events;
        synchronized (logs) {
            events = List.copyOf(logs.list);
        }
        return events.stream().map(ILoggingEvent::getFormattedMessage)
                .anyMatch(m -> java.util.Arrays.stream(parts).allMatch(m::contains));
    }
}
