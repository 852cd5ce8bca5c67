package io.apilb.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.apilb.core.testing.FakeConnection;
import io.apilb.core.backend.AdminState;
import io.apilb.core.backend.Backend;
import io.apilb.core.backend.ProxiedConnection;
import io.apilb.core.backend.BackendPool;
import io.apilb.core.backend.ConnectFailure;
import io.apilb.core.backend.Health;
import io.apilb.core.config.BackendConfig;
import io.apilb.core.config.HostPort;
import io.apilb.health.CheckResult;
import io.apilb.health.CheckStatus;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.net.ConnectException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;

class AdminApiTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final AdminFixture admin = new AdminFixture();

    @AfterEach
    void close() {
        admin.close();
    }

    private static JsonNode json(HttpResponse<String> res) throws Exception {
        assertEquals("application/json", res.headers().firstValue("content-type").orElse(null), res.body());
        return JSON.readTree(res.body());
    }

    private static void assertError(int status, HttpResponse<String> res) throws Exception {
        assertEquals(status, res.statusCode(), res.body());
        JsonNode body = json(res);
        assertTrue(body.path("error").isTextual(), res.body());
        assertEquals(Set.of("error"), fieldNames(body), res.body());
    }

    private static Set<String> fieldNames(JsonNode node) {
        Set<String> names = new java.util.TreeSet<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }

    @Test
    void listsEveryBackendWithTheDocumentedShape() throws Exception {
        Backend m1 = admin.pool.get("master1");
        ProxiedConnection first = new FakeConnection();
        m1.connections().register(first);
        m1.connections().register(new FakeConnection());
        m1.connections().unregister(first);
        m1.connections().dialStarted();
        m1.stats().addBytesIn(300);
        m1.stats().addBytesOut(7000);
        admin.pool.connectFailed(m1, ConnectFailure.CONNECT_TIMEOUT, new ConnectException("timeout"));
        Instant at = Instant.parse("2024-05-01T10:00:00Z");
        admin.checks.last.put("master1", new CheckResult(CheckStatus.L7OK, Duration.ofMillis(12), at, 200, null));
        admin.pool.setHealth(m1, Health.UP, null);

        HttpResponse<String> res = admin.get("/api/v1/backends");

        assertEquals(200, res.statusCode());
        JsonNode body = json(res);
        assertTrue(Instant.parse(body.get("time").asText()).isAfter(at));
        JsonNode list = body.get("backends");
        assertEquals(3, list.size());
        JsonNode b = list.get(0);
        assertEquals(Set.of("name", "address", "health", "state", "routable", "weight", "slowStart", "activeConnections",
                "dialsInFlight", "peakConnections", "maxConnections", "totalConnections", "bytesIn", "bytesOut", "connectFailures",
                "connectFailuresByReason", "check", "lastChange", "downtimeSeconds", "transition",
                "lastFirstByteTimeout"), fieldNames(b));
        assertEquals("master1", b.get("name").asText());
        assertEquals("10.0.0.11:6443", b.get("address").asText());
        assertEquals("up", b.get("health").asText());
        assertEquals("ready", b.get("state").asText());
        assertTrue(b.get("routable").asBoolean());
        assertEquals(1, b.get("weight").asInt());
        assertEquals(1, b.get("activeConnections").asInt());
        assertEquals(1, b.get("dialsInFlight").asInt());
        assertEquals(2, b.get("peakConnections").asInt());
        assertEquals(2, b.get("maxConnections").asInt(), "the old name of peakConnections, for one release");
        assertEquals(2, b.get("totalConnections").asLong());
        assertEquals(300, b.get("bytesIn").asLong());
        assertEquals(7000, b.get("bytesOut").asLong());
        assertEquals(1, b.get("connectFailures").asLong());
        assertEquals(1, b.get("connectFailuresByReason").get("connect_timeout").asLong());
        assertEquals("L7OK", b.get("check").get("status").asText());
        assertEquals(12, b.get("check").get("durationMs").asLong());
        assertEquals(at, Instant.parse(b.get("check").get("at").asText()));
        assertEquals(200, b.get("check").get("httpStatus").asInt());
        assertTrue(b.get("check").get("error").isNull());
        assertNotNull(Instant.parse(b.get("lastChange").asText()));
        assertEquals(0.0, b.get("downtimeSeconds").asDouble());

        JsonNode m2 = list.get(1);
        assertEquals("unknown", m2.get("health").asText());
        assertEquals(2, m2.get("weight").asInt());
        assertTrue(m2.get("check").isNull(), "no probe yet");
    }

    @Test
    void answersOneBackendAndA404ForAnUnknownName() throws Exception {
        admin.pool.setHealth(admin.pool.get("master3"), Health.DOWN, null);
        HttpResponse<String> res = admin.get("/api/v1/backends/master3");
        assertEquals(200, res.statusCode());
        JsonNode b = json(res);
        assertEquals("master3", b.get("name").asText());
        assertEquals("down", b.get("health").asText());
        assertFalse(b.get("routable").asBoolean());

        assertError(404, admin.get("/api/v1/backends/nope"));
    }

    @ParameterizedTest
    @CsvSource({"drain,drain,false", "maint,maint,false", "ready,ready,true", "DRAIN,drain,false"})
    void putStateChangesTheAdminStateAndAnswersTheBackend(String sent, String shown, boolean routable)
            throws Exception {
        if (sent.equalsIgnoreCase("ready")) {
            admin.pool.setAdminState(admin.pool.get("master2"), AdminState.DRAIN);
        }
        HttpResponse<String> res = admin.put("/api/v1/backends/master2/state", "{\"state\":\"" + sent + "\"}", null);

        assertEquals(200, res.statusCode(), res.body());
        JsonNode b = json(res);
        assertEquals("master2", b.get("name").asText());
        assertEquals(shown, b.get("state").asText());
        assertEquals(routable, b.get("routable").asBoolean());
        assertEquals(shown, admin.pool.get("master2").adminState().name().toLowerCase());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "{state: drain}", "not json", "''", "[\"drain\"]", "{}", "{\"state\":null}",
        "{\"state\":\"sleep\"}", "{\"state\":3}"})
    void putStateRejectsABadBodyWith400(String body) throws Exception {
        assertError(400, admin.put("/api/v1/backends/master1/state", body, null));
        assertEquals(AdminState.READY, admin.pool.get("master1").adminState());
    }

    @Test
    void putStateOnAnUnknownBackendIs404() throws Exception {
        assertError(404, admin.put("/api/v1/backends/ghost/state", "{\"state\":\"drain\"}", null));
    }

    @Test
    void reloadWithoutAReloaderIs501() throws Exception {
        assertError(501, admin.post("/api/v1/reload", null));
    }

    @Test
    void reloadAnswersWhatTheReloaderFound() throws Exception {
        List<Reloader.Result> results = new java.util.concurrent.CopyOnWriteArrayList<>(List.of(
                Reloader.Result.applied(),
                Reloader.Result.refused(List.of("backends[2].address: \"x\" has no port (expected: host:port)",
                        "retries: -1 (expected: >= 0)"))));
        try (AdminFixture withReload = new AdminFixture(null, () -> results.remove(0))) {
            HttpResponse<String> ok = withReload.post("/api/v1/reload", null);
            assertEquals(200, ok.statusCode(), ok.body());
            assertEquals("reloaded", json(ok).get("status").asText());

            HttpResponse<String> refused = withReload.post("/api/v1/reload", null);
            assertEquals(400, refused.statusCode());
            JsonNode body = json(refused);
            assertTrue(body.get("error").isTextual());
            assertEquals(2, body.get("errors").size());
            assertTrue(body.get("errors").get(0).asText().startsWith("backends[2].address"));
        }
    }

    @Test
    void aReloadThatChangesTheBackendsIsFollowedByTheApiAndTheMetrics() throws Exception {
        BackendPool pool = AdminFixture.defaultPool();
        List<BackendConfig> next = List.of(
                new BackendConfig("master1", pool.get("master1").address(), 1),
                new BackendConfig("master4", new HostPort("10.0.0.14", 6443), 1));
        try (AdminFixture reloading = new AdminFixture(pool, null, () -> {
            pool.reconfigure(next);
            return Reloader.Result.applied();
        })) {
            assertTrue(reloading.get("/metrics").body().contains("backend=\"master2\""));

            assertEquals(200, reloading.post("/api/v1/reload", null).statusCode());

            JsonNode list = json(reloading.get("/api/v1/backends")).get("backends");
            assertEquals(List.of("master1", "master4"), List.of(list.get(0).get("name").asText(),
                    list.get(1).get("name").asText()));
            PrometheusText metrics = new PrometheusText(reloading.get("/metrics").body());
            assertEquals(1, metrics.value("apilb_backend_up", "backend", "master4"));
            assertTrue(metrics.find("apilb_backend_connections_total", "backend", "master2").isEmpty(),
                    "meters of removed backends are gone");
        }
    }

    @Test
    void aFailingHandlerIs500AndTheServerKeepsServing() throws Exception {
        try (AdminFixture failing = new AdminFixture(null, () -> {
            throw new IllegalStateException("disk on fire");
        })) {
            assertError(500, failing.post("/api/v1/reload", null));
            assertEquals(200, failing.get("/healthz").statusCode());
        }
    }

    @Test
    void unknownPathsAre404Json() throws Exception {
        for (String path : List.of("/nope", "/api/v1", "/api/v1/backends/", "/api/v1/backends/a/b/c")) {
            assertError(404, admin.get(path));
        }
    }

    @Test
    void wrongMethodIs405WithAllow() throws Exception {
        HttpResponse<String> res = admin.send(HttpRequest.newBuilder(admin.uri("/api/v1/backends"))
                .DELETE());
        assertError(405, res);
        assertEquals("GET, HEAD", res.headers().firstValue("allow").orElse(null));

        HttpResponse<String> get = admin.get("/api/v1/backends/master1/state");
        assertError(405, get);
        assertEquals("PUT", get.headers().firstValue("allow").orElse(null));

        HttpResponse<String> reload = admin.get("/api/v1/reload");
        assertError(405, reload);
        assertEquals("POST", reload.headers().firstValue("allow").orElse(null));
    }

    @Test
    void frontendCountersAreServed() throws Exception {
        JsonNode f = json(admin.get("/api/v1/frontend"));
        assertEquals(Set.of("activeConnections", "acceptedConnections", "rejectedConnections",
                "noBackendConnections", "failOpenConnections", "rejectedByReason", "busiestSources", "maxConnections", "configuredMaxConnections",
                "shuttingDown"), fieldNames(f));
        assertTrue(f.get("maxConnections").asInt() <= f.get("configuredMaxConnections").asInt(), f::toString);
        assertEquals(0, f.get("acceptedConnections").asLong());
        assertEquals(Set.of("max_connections", "per_source_connections", "per_source_rate"),
                fieldNames(f.get("rejectedByReason")));
        assertEquals(0, f.get("busiestSources").size());
        assertFalse(f.get("shuttingDown").asBoolean());
    }

    @Test
    void healthzIsOkWhileABackendIsRoutableAnd503Otherwise() throws Exception {
        HttpResponse<String> ok = admin.get("/healthz");
        assertEquals(200, ok.statusCode());
        assertEquals("ok", json(ok).get("status").asText());
        assertEquals(3, json(ok).get("routable").asInt());
        assertEquals("application/json", ok.headers().firstValue("content-type").orElse(null));

        for (Backend b : admin.pool.all()) {
            admin.pool.setHealth(b, Health.DOWN, null);
        }
        HttpResponse<String> none = admin.get("/healthz");
        assertEquals(503, none.statusCode());
        assertEquals(0, json(none).get("routable").asInt());
        assertEquals("no routable backend", json(none).get("status").asText());

        admin.pool.setHealth(admin.pool.get("master1"), Health.UP, null);
        assertEquals(200, admin.get("/healthz").statusCode());
        admin.server.setShuttingDown(true);
        HttpResponse<String> stopping = admin.get("/healthz");
        assertEquals(503, stopping.statusCode());
        assertEquals("shutting down", json(stopping).get("status").asText());
        assertTrue(json(admin.get("/api/v1/frontend")).get("shuttingDown").asBoolean());
    }

    @Test
    void dashboardIsASelfContainedHtmlPage() throws Exception {
        HttpResponse<String> res = admin.get("/");
        assertEquals(200, res.statusCode());
        assertEquals("text/html; charset=utf-8", res.headers().firstValue("content-type").orElse(null));
        assertTrue(res.headers().firstValue("content-security-policy").orElse("").contains("default-src 'none'"));
        assertEquals("DENY", res.headers().firstValue("x-frame-options").orElse(null));
        assertTrue(res.body().contains("/api/v1/backends"), "the page polls the API");
        assertFalse(res.body().matches("(?s).*(src|href)=\"(https?:)?//.*"), "no external resource");
    }

    @Test
    void headIsAnsweredLikeGetWithoutBody() throws Exception {
        try (RawHttp raw = new RawHttp(admin.address)) {
            raw.write("HEAD /api/v1/backends HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
            RawHttp.Reply head = raw.read(false);
            assertEquals(200, head.status());
            assertTrue(Integer.parseInt(head.headers().get("content-length")) > 0);
            // The connection stays usable: nothing of the body was sent.
            raw.write("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
            assertEquals(200, raw.read().status());
        }
    }

    @Test
    void keepsTheConnectionAliveAcrossRequests() throws Exception {
        try (RawHttp raw = new RawHttp(admin.address)) {
            for (int i = 0; i < 5; i++) {
                raw.write("GET /api/v1/backends/master1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
                RawHttp.Reply r = raw.read();
                assertEquals(200, r.status());
                assertTrue(r.body().contains("\"master1\""));
            }
            raw.write("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
            RawHttp.Reply last = raw.read();
            assertEquals("close", last.headers().get("connection"));
            assertTrue(raw.closedByServer());
        }
    }

    @Test
    void pipelinedRequestsAreAnsweredInOrder() throws Exception {
        String drain = "{\"state\":\"drain\"}";
        try (RawHttp raw = new RawHttp(admin.address)) {
            // One write: the change runs on a worker, /healthz could be answered at once on the event loop.
            raw.write("PUT /api/v1/backends/master1/state HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    + "Content-Length: " + drain.length() + "\r\n\r\n" + drain
                    + "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
            RawHttp.Reply first = raw.read();
            RawHttp.Reply second = raw.read();
            assertEquals(200, first.status(), first.body());
            assertTrue(first.body().contains("\"name\":\"master1\""), "the change is answered first: " + first.body());
            assertEquals(200, second.status(), second.body());
            assertTrue(second.body().contains("\"routable\":2"), "/healthz ran after the drain: " + second.body());
        }
    }
}
