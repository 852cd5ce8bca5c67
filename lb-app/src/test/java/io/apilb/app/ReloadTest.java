package io.apilb.app;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
        ApilbRuntime rt = ApilbRuntime.start(ConfigLoader.load(file), file);
        closeables.add(rt);
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
    void reloadThroughTheAdminApiNeedsTheTokenAndReportsErrors() throws Exception {
        TestApiServer a = master("a");
        TestApiServer b = master("b");
        Path file = write(List.of(a), "");
        ApilbRuntime rt = ApilbRuntime.start(ConfigLoader.load(file), file);
        closeables.add(rt);
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
        ApilbRuntime rt = ApilbRuntime.start(ConfigLoader.load(file), file);
        closeables.add(rt);
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
        ApilbRuntime rt = ApilbRuntime.start(ConfigLoader.load(file), file);
        closeables.add(rt);
        await().atMost(Duration.ofSeconds(10)).until(() -> rt.checks().last("a") != null);

        Files.writeString(file, Files.readString(file).replace("path: /readyz", "").replace("interval: 200ms",
                "interval: 250ms\n  path: /livez"));
        assertTrue(rt.reload().ok());
        await().atMost(Duration.ofSeconds(5)).until(() -> rt.checks().history("a").size() >= 2);
        assertEquals(Health.UP, rt.pool().get("a").health(), "health carried over, not reset");
        a.readyStatus(500);
        assertEquals(Health.UP, rt.pool().get("a").health(), "the new checker probes /livez, not /readyz");
        assertEquals(0.0, rt.registry().get("apilb.health.all.down").gauge().value(),
                "the all-down gauge reads the new checker");
        assertEquals(1.0, rt.registry().get("apilb.backend.up").tag("backend", "a").gauge().value());
    }

    @Test
    void aHealthSectionWithAMissingCaIsRefusedBeforeAnythingChanges() throws Exception {
        TestApiServer a = master("a");
        TestApiServer b = master("b");
        Path file = write(List.of(a), "");
        ApilbRuntime rt = ApilbRuntime.start(ConfigLoader.load(file), file);
        closeables.add(rt);
        await().atMost(Duration.ofSeconds(10)).until(() -> rt.pool().get("a").health() == Health.UP);

        Files.writeString(file, Files.readString(write(List.of(a, b), "")).replace(ca.toString(),
                dir.resolve("no-such-ca.crt").toString()));
        Reloader.Result r = rt.reload();
        assertFalse(r.ok());
        assertTrue(r.errors().get(0).startsWith("health.tls:"), r.errors().toString());
        assertEquals(List.of("a"), rt.pool().all().stream().map(x -> x.name()).toList(), "backends unchanged");
        java.time.Instant seen = rt.checks().last("a").at();
        await().atMost(Duration.ofSeconds(5)).until(() -> rt.checks().last("a").at().isAfter(seen));
        assertEquals("L7OK", rt.checks().last("a").status().name(), "the old checker still probes");
    }

    @Test
    void anUnreadableAdminTokenFileIsRefusedBeforeAnythingChanges() throws Exception {
        TestApiServer a = master("a");
        Path file = write(List.of(a), "");
        ApilbRuntime rt = ApilbRuntime.start(ConfigLoader.load(file), file);
        closeables.add(rt);
        Files.writeString(file, Files.readString(file).replace("token: s3cret",
                "tokenFile: " + dir.resolve("missing-token")) + "retries: 5\n");
        Reloader.Result r = rt.reload();
        assertFalse(r.ok());
        assertTrue(r.errors().get(0).startsWith("admin.tokenFile:"), r.errors().toString());
        assertEquals(2, rt.config().retries(), "nothing applied");
    }
}
