package io.apilb.app;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.apilb.core.testing.TestApiServer;
import io.apilb.core.testing.TestHttpsClient;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Set;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The runnable jar as an operator runs it: config file, signals, exit codes, the demo. */
class LifecycleIT {

    private static Path config(Path dir, int port, TestApiServer backend) throws Exception {
        return config(dir, port, backend, "10s");
    }

    private static Path config(Path dir, int port, TestApiServer backend, String shutdownGrace) throws Exception {
        return Files.writeString(dir.resolve("apilb.yaml"), """
                listeners:
                  - { name: apiserver, address: 127.0.0.1:%d }
                backends:
                  - { name: %s, address: %s }
                health:
                  enabled: false
                admin:
                  enabled: false
                shutdownGrace: %s
                """.formatted(port, backend.name(), backend.hostPort(), shutdownGrace));
    }

    @Test
    void sigtermLetsAnOpenRequestFinishRefusesNewConnectionsAndExitsZero(@TempDir Path dir) throws Exception {
        try (TestApiServer m1 = TestApiServer.start("master1")) {
            int port = ApilbProcess.freePort();
            InetSocketAddress lb = new InetSocketAddress("127.0.0.1", port);
            try (ApilbProcess apilb = ApilbProcess.start(dir, "--config", config(dir, port, m1).toString())) {
                ApilbProcess.awaitListening(lb, Duration.ofSeconds(20));
                try (TestHttpsClient c = TestHttpsClient.connect(lb)) {
                    c.sendGet("/slow?ms=2000");
                    apilb.signal("TERM");
                    await().atMost(Duration.ofSeconds(3)).untilAsserted(() ->
                            assertThrows(ConnectException.class, () -> new Socket("127.0.0.1", port).close()));
                    assertTrue(apilb.alive(), "still draining the open request");
                    TestHttpsClient.Response r = c.readResponse(Long.MAX_VALUE);
                    assertEquals(200, r.status());
                    assertEquals("master1", r.server());
                }
                assertEquals(0, apilb.waitForExit(Duration.ofSeconds(10)), apilb.output());
                String out = apilb.output();
                assertTrue(out.contains("received SIGTERM") && out.contains("apilb stopped"), out);
                assertTrue(out.contains("backend=master1") && out.contains("end="), "access log line:\n" + out);
            }
        }
    }

    @Test
    void sigintStopsTheSameWay(@TempDir Path dir) throws Exception {
        try (TestApiServer m1 = TestApiServer.start("master1")) {
            int port = ApilbProcess.freePort();
            try (ApilbProcess apilb = ApilbProcess.start(dir, "--config", config(dir, port, m1).toString())) {
                ApilbProcess.awaitListening(new InetSocketAddress("127.0.0.1", port), Duration.ofSeconds(20));
                apilb.signal("INT");
                assertEquals(0, apilb.waitForExit(Duration.ofSeconds(10)), apilb.output());
            }
        }
    }

    @Test
    void secondSigtermSkipsTheGraceAndExitsZeroAtOnce(@TempDir Path dir) throws Exception {
        try (TestApiServer m1 = TestApiServer.start("master1")) {
            int port = ApilbProcess.freePort();
            InetSocketAddress lb = new InetSocketAddress("127.0.0.1", port);
            Path file = config(dir, port, m1, "60s");
            try (ApilbProcess apilb = ApilbProcess.start(dir, "--config", file.toString())) {
                ApilbProcess.awaitListening(lb, Duration.ofSeconds(20));
                try (TestHttpsClient c = TestHttpsClient.connect(lb)) {
                    // An open request keeps the first stop waiting in its 60 s grace.
                    c.sendGet("/slow?ms=60000");
                    await().atMost(Duration.ofSeconds(5)).until(() -> m1.openConnections() == 1);
                    apilb.signal("TERM");
                    // Listeners closed: the graceful stop is under way and now waits for the request.
                    await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
                            assertThrows(ConnectException.class, () -> new Socket("127.0.0.1", port).close()));
                    assertTrue(apilb.alive(), apilb.output());
                    apilb.signal("TERM");
                    assertEquals(0, apilb.waitForExit(Duration.ofSeconds(1)), apilb.output());
                    assertTrue(apilb.output().contains("second stop signal: skipping the rest of the graceful stop"),
                            apilb.output());
                }
            }
        }
    }

    @Test
    void brokenConfigRefusesToStartWithKeyAndLine(@TempDir Path dir) throws Exception {
        Path bad = Files.writeString(dir.resolve("bad.yaml"), """
                listeners:
                  - { name: apiserver, address: 127.0.0.1:6443 }
                backends:
                  - { name: m1, address: 10.0.0.11:6443 }
                health:
                  intervall: 2s
                """);
        try (ApilbProcess apilb = ApilbProcess.start(dir, "--config", bad.toString())) {
            assertEquals(1, apilb.waitForExit(Duration.ofSeconds(20)));
            String out = apilb.output();
            assertTrue(out.contains("health.intervall") && out.contains("line 6"), out);
        }
    }

    @Test
    void demoRunsThreeMastersAndRotates(@TempDir Path dir) throws Exception {
        try (ApilbProcess apilb = ApilbProcess.start(dir, "demo", "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0")) {
            Pattern behind = Pattern.compile("behind 127\\.0\\.0\\.1:(\\d+)");
            Pattern ca = Pattern.compile("--cacert (\\S+)");
            await().atMost(Duration.ofSeconds(30)).until(() -> behind.matcher(apilb.output()).find()
                    && ca.matcher(apilb.output()).find());
            Matcher m = behind.matcher(apilb.output());
            m.find();
            int port = Integer.parseInt(m.group(1));
            Matcher c = ca.matcher(apilb.output());
            c.find();
            List<String> servedBy = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                HttpClient http = TrustingClients.trusting(Path.of(c.group(1)));
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(
                        URI.create("https://127.0.0.1:" + port + "/version")).build(), HttpResponse.BodyHandlers.ofString());
                assertEquals(200, r.statusCode());
                servedBy.add(r.headers().firstValue("X-Served-By").orElseThrow());
            }
            assertEquals(3, servedBy.stream().distinct().count(), "rotates across three masters: " + servedBy);
            apilb.signal("TERM");
            assertEquals(0, apilb.waitForExit(Duration.ofSeconds(15)), apilb.output());
        }
    }

    @Test
    void healthzTurns503BeforeTheListenerClosesAndAnOpenStreamCompletes(@TempDir Path dir) throws Exception {
        try (TestApiServer m1 = TestApiServer.start("master1")) {
            int port = ApilbProcess.freePort();
            int adminPort = ApilbProcess.freePort();
            Path file = Files.writeString(dir.resolve("apilb.yaml"), """
                    listeners:
                      - { name: apiserver, address: 127.0.0.1:%d }
                    backends:
                      - { name: master1, address: %s }
                    health: { mode: tcp, interval: 200ms, timeout: 200ms }
                    admin: { address: 127.0.0.1:%d }
                    shutdownDelay: 1500ms
                    shutdownGrace: 10s
                    """.formatted(port, m1.hostPort(), adminPort));
            InetSocketAddress lb = new InetSocketAddress("127.0.0.1", port);
            URI healthz = URI.create("http://127.0.0.1:" + adminPort + "/healthz");
            HttpClient http = HttpClient.newHttpClient();
            try (ApilbProcess apilb = ApilbProcess.start(dir, "--config", file.toString())) {
                ApilbProcess.awaitListening(lb, Duration.ofSeconds(20));
                await().atMost(Duration.ofSeconds(10)).ignoreExceptions().until(() ->
                        http.send(HttpRequest.newBuilder(healthz).build(), HttpResponse.BodyHandlers.ofString())
                                .statusCode() == 200);
                try (TestHttpsClient c = TestHttpsClient.connect(lb)) {
                    c.sendGet("/slow?ms=3000");
                    apilb.signal("TERM");
                    long start = System.nanoTime();
                    await().atMost(Duration.ofSeconds(1)).ignoreExceptions().until(() ->
                            http.send(HttpRequest.newBuilder(healthz).build(), HttpResponse.BodyHandlers.ofString())
                                    .statusCode() == 503);
                    long at503 = (System.nanoTime() - start) / 1_000_000;
                    // The VIP's health check already fails, yet new connections are still served.
                    assertEquals("master1", TestHttpsClient.getOnce(lb, "/version").server());
                    await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
                            assertThrows(ConnectException.class, () -> new Socket("127.0.0.1", port).close()));
                    long atClosed = (System.nanoTime() - start) / 1_000_000;
                    assertTrue(at503 < atClosed, "503 at " + at503 + " ms, listener closed at " + atClosed + " ms");
                    TestHttpsClient.Response r = c.readResponse(Long.MAX_VALUE);
                    assertEquals(200, r.status(), "the open request completes within the grace");
                }
                assertEquals(0, apilb.waitForExit(Duration.ofSeconds(15)), apilb.output());
            }
        }
    }

    @Test
    void sighupReloadsTheFileAndABrokenOneIsRefused(@TempDir Path dir) throws Exception {
        try (TestApiServer m1 = TestApiServer.start("master1"); TestApiServer m2 = TestApiServer.start("master2")) {
            int port = ApilbProcess.freePort();
            Path file = config(dir, port, m1);
            InetSocketAddress lb = new InetSocketAddress("127.0.0.1", port);
            try (ApilbProcess apilb = ApilbProcess.start(dir, "--config", file.toString())) {
                ApilbProcess.awaitListening(lb, Duration.ofSeconds(20));
                assertEquals("master1", TestHttpsClient.getOnce(lb, "/version").server());
                Files.writeString(file, Files.readString(file).replace("backends:\n",
                        "backends:\n  - { name: master2, address: " + m2.hostPort() + " }\n"));
                apilb.signal("HUP");
                await().atMost(Duration.ofSeconds(10)).until(() -> apilb.output().contains("reloaded"));
                Set<String> served = new HashSet<>();
                for (int i = 0; i < 4; i++) {
                    served.add(TestHttpsClient.getOnce(lb, "/version").server());
                }
                assertEquals(Set.of("master1", "master2"), served);

                Files.writeString(file, Files.readString(file) + "retries: lots\n");
                apilb.signal("HUP");
                await().atMost(Duration.ofSeconds(10)).until(() -> apilb.output().contains("reload on SIGHUP refused"));
                assertTrue(apilb.output().contains("retries"), apilb.output());
                assertTrue(apilb.alive());
                assertEquals(200, TestHttpsClient.getOnce(lb, "/version").status(), "the old config keeps serving");
                apilb.signal("TERM");
                assertEquals(0, apilb.waitForExit(Duration.ofSeconds(15)), apilb.output());
            }
        }
    }

    @Test
    void jsonLogLinesParseAndCarryTheAccessLogFields(@TempDir Path dir) throws Exception {
        try (TestApiServer m1 = TestApiServer.start("master1")) {
            int port = ApilbProcess.freePort();
            Path file = Files.writeString(dir.resolve("apilb.yaml"), Files.readString(config(dir, port, m1))
                    + "logging: { format: json }\n");
            InetSocketAddress lb = new InetSocketAddress("127.0.0.1", port);
            try (ApilbProcess apilb = ApilbProcess.start(dir, "--config", file.toString())) {
                ApilbProcess.awaitListening(lb, Duration.ofSeconds(20));
                assertEquals(200, TestHttpsClient.getOnce(lb, "/version").status());
                apilb.signal("TERM");
                assertEquals(0, apilb.waitForExit(Duration.ofSeconds(15)), apilb.output());
                ObjectMapper mapper = new ObjectMapper();
                JsonNode access = null;
                int lines = 0;
                for (String line : apilb.output().split("\n")) {
                    if (line.isBlank()) {
                        continue;
                    }
                    JsonNode n = mapper.readTree(line);
                    lines++;
                    assertTrue(n.hasNonNull("time") && n.hasNonNull("level") && n.hasNonNull("message"), line);
                    if ("apilb.access".equals(n.path("logger").asText())) {
                        access = n;
                    }
                }
                assertTrue(lines >= 4, "every line is JSON: " + lines);
                assertTrue(access != null, apilb.output());
                assertEquals("master1", access.get("backend").asText());
                assertEquals("apiserver", access.get("listener").asText());
                assertTrue(access.get("client").asText().startsWith("127.0.0.1:"));
                assertTrue(access.get("bytes_in").isNumber() && access.get("bytes_in").asLong() > 0);
                assertTrue(access.get("bytes_out").isNumber() && access.get("bytes_out").asLong() > 0);
                assertTrue(access.get("connect_ms").isNumber() && access.get("duration_ms").isNumber());
                assertTrue(access.hasNonNull("end") && access.hasNonNull("conn"));
            }
        }
    }
}
