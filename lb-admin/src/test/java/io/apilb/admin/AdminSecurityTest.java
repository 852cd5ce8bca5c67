package io.apilb.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.apilb.core.backend.AdminState;
import io.apilb.core.config.AdminConfig;
import io.apilb.core.config.HostPort;
import io.apilb.core.proxy.FrontendStats;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpMethod;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Map;

class AdminSecurityTest {
    private static final String TOKEN = "0123456789abcdef-admin";
    private static final String DRAIN = "{\"state\":\"drain\"}";
    private AdminFixture admin;

    @TempDir
    Path dir;

    @AfterEach
    void close() {
        if (admin != null) {
            admin.close();
        }
    }

    private static AdminServer server(String host, String token, Path tokenFile) {
        return new AdminServer(new AdminConfig(true, new HostPort(host, 0), token, tokenFile),
                AdminFixture.defaultPool(), new FrontendStats(), null,
                AdminServer.newMeterRegistry(), null);
    }

    private static String basic(String user, String password) {
        return "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
    }

    private HttpResponse<String> putWith(String authorization) throws Exception {
        return admin.send(HttpRequest.newBuilder(admin.uri("/api/v1/backends/master1/state"))
                .header("Authorization", authorization).PUT(HttpRequest.BodyPublishers.ofString(DRAIN)));
    }

    @Test
    void mutationWithoutTheTokenIs401WithAChallenge() throws Exception {
        admin = new AdminFixture(TOKEN, Reloader.Result::applied);

        HttpResponse<String> put = admin.put("/api/v1/backends/master1/state", DRAIN, null);
        assertEquals(401, put.statusCode());
        assertTrue(put.body().contains("\"error\""));
        assertEquals("Bearer realm=\"apilb\"", put.headers().firstValue("www-authenticate").orElse(null));
        assertEquals(401, admin.post("/api/v1/reload", null).statusCode());
        assertEquals(AdminState.READY, admin.pool.get("master1").adminState());
    }

    @Test
    void wrongTokenIs403() throws Exception {
        admin = new AdminFixture(TOKEN, null);

        assertEquals(403, admin.put("/api/v1/backends/master1/state", DRAIN, TOKEN + "x").statusCode());
        assertEquals(403, admin.put("/api/v1/backends/master1/state", DRAIN, TOKEN.substring(1)).statusCode());
        assertEquals(403, putWith(basic("admin", "admin")).statusCode());
        assertEquals(403, putWith("Basic !!!not-base64").statusCode());
        assertEquals(AdminState.READY, admin.pool.get("master1").adminState());
    }

    @Test
    void bearerTokenAndBasicPasswordAreAccepted() throws Exception {
        admin = new AdminFixture(TOKEN, null);

        assertEquals(200, admin.put("/api/v1/backends/master1/state", DRAIN, TOKEN).statusCode());
        assertEquals(200, putWith(basic("anyone", TOKEN)).statusCode());
        assertEquals(AdminState.DRAIN, admin.pool.get("master1").adminState());
    }

    @Test
    void readsNeedNoTokenOnLoopback() throws Exception {
        admin = new AdminFixture(TOKEN, null);

        for (String path : new String[] {"/", "/api/v1/backends", "/api/v1/backends/master1", "/api/v1/frontend",
            "/metrics", "/healthz"}) {
            assertEquals(200, admin.get(path).statusCode(), path);
        }
    }

    @Test
    void refusesToListenBeyondLoopbackWithoutAToken() {
        AdminServer server = server("0.0.0.0", null, null);

        IllegalStateException e = assertThrows(IllegalStateException.class, server::start);

        assertTrue(e.getMessage().startsWith("admin.address: 0.0.0.0:0 is reachable beyond loopback without a token"),
                e.getMessage());
        assertNull(server.boundAddress(), "nothing may be bound");
        server.close();
    }

    @Test
    void refusesAnEmptyTokenRatherThanRunningOpen() {
        AdminServer server = server("127.0.0.1", "  ", null);
        IllegalStateException e = assertThrows(IllegalStateException.class, server::start);
        assertTrue(e.getMessage().startsWith("admin.token: empty"), e.getMessage());
        assertNull(server.boundAddress());
    }

    @Test
    void readsTheTokenFileAtStart() throws Exception {
        Path file = Files.writeString(dir.resolve("admin-token"), TOKEN + "\n");
        AdminServer server = server("127.0.0.1", null, file);
        server.start();
        try {
            admin = null;
            HttpResponse<String> ok = java.net.http.HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                            java.net.URI.create("http://127.0.0.1:" + server.boundAddress().getPort() + "/api/v1/reload"))
                    .header("Authorization", "Bearer " + TOKEN).POST(HttpRequest.BodyPublishers.noBody()).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(501, ok.statusCode(), "authorized, and no reloader configured");
        } finally {
            server.close();
        }

        AdminServer missing = server("127.0.0.1", null, dir.resolve("nope"));
        IllegalStateException e = assertThrows(IllegalStateException.class, missing::start);
        assertTrue(e.getMessage().startsWith("admin.tokenFile: "), e.getMessage());

        Path empty = Files.writeString(dir.resolve("empty"), "\n");
        assertThrows(IllegalStateException.class, server("127.0.0.1", null, empty)::start);
        assertThrows(IllegalStateException.class, server("127.0.0.1", TOKEN, file)::start);
    }

    @Test
    void beyondLoopbackEveryCallButHealthzNeedsTheToken() {
        TokenAuth auth = TokenAuth.load(new AdminConfig(true, new HostPort("0.0.0.0", 8404), TOKEN, null));
        for (String path : new String[] {"/", "/metrics", "/api/v1/backends"}) {
            AdminResponse refused = auth.check(request(path, Map.of()), false);
            assertEquals(401, refused.status().code(), path);
            assertNull(auth.check(request(path, Map.of("Authorization", "Bearer " + TOKEN)), false), path);
        }
        assertEquals("Basic realm=\"apilb\", charset=\"UTF-8\"",
                auth.check(request("/", Map.of()), false).headers().get("www-authenticate"),
                "a browser opening the dashboard gets the login prompt");
        assertNull(auth.check(request("/healthz", Map.of()), false));
        assertEquals(401, auth.check(request("/healthz", Map.of()), true).status().code());
    }

    private static AdminRequest request(String path, Map<String, String> headers) {
        DefaultHttpHeaders h = new DefaultHttpHeaders();
        headers.forEach(h::set);
        return new AdminRequest(HttpMethod.GET, path, h, new byte[0], Map.of());
    }

    @Test
    void refusesMutationsFromAnotherSitesPage() throws Exception {
        admin = new AdminFixture();

        HttpResponse<String> res = admin.send(HttpRequest.newBuilder(admin.uri("/api/v1/backends/master1/state"))
                .header("Origin", "https://evil.example").PUT(HttpRequest.BodyPublishers.ofString(DRAIN)));
        assertEquals(403, res.statusCode());
        assertTrue(res.body().contains("cross-origin"), res.body());

        HttpResponse<String> same = admin.send(HttpRequest.newBuilder(admin.uri("/api/v1/backends/master2/state"))
                .header("Origin", "http://127.0.0.1:" + admin.address.getPort())
                .PUT(HttpRequest.BodyPublishers.ofString(DRAIN)));
        assertEquals(200, same.statusCode(), same.body());
        assertEquals(AdminState.READY, admin.pool.get("master1").adminState());
    }

    @Test
    void refusesAnUnprotectedMutationAddressedByAForeignHostName() throws Exception {
        admin = new AdminFixture();
        try (RawHttp raw = new RawHttp(admin.address)) {
            // What a DNS-rebinding page sends: its own name, resolving to 127.0.0.1.
            raw.write("PUT /api/v1/backends/master1/state HTTP/1.1\r\nHost: rebind.example:8404\r\n"
                    + "Content-Type: application/json\r\nContent-Length: " + DRAIN.length() + "\r\n\r\n" + DRAIN);
            assertEquals(421, raw.read().status());
            raw.write("PUT /api/v1/backends/master1/state HTTP/1.1\r\nHost: localhost:8404\r\n"
                    + "Content-Length: " + DRAIN.length() + "\r\n\r\n" + DRAIN);
            assertEquals(200, raw.read().status());
        }
    }

    @Test
    void oversizedBodyIs413AndTheServerKeepsServing() throws Exception {
        admin = new AdminFixture();
        String big = "{\"state\":\"drain\",\"pad\":\"" + "x".repeat(70 * 1024) + "\"}";

        HttpResponse<String> res = admin.put("/api/v1/backends/master1/state", big, null);
        assertEquals(413, res.statusCode());
        assertTrue(res.body().startsWith("{\"error\":"), res.body());

        try (RawHttp raw = new RawHttp(admin.address)) {
            raw.write("PUT /api/v1/backends/master1/state HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    + "Transfer-Encoding: chunked\r\n\r\n");
            String chunk = "y".repeat(16 * 1024);
            for (int i = 0; i < 5; i++) {
                raw.write(Integer.toHexString(chunk.length()) + "\r\n" + chunk + "\r\n");
            }
            assertEquals(413, raw.read().status());
            // The rest of that body is dropped and the kept-alive connection serves the next request.
            raw.write(Integer.toHexString(chunk.length()) + "\r\n" + chunk + "\r\n0\r\n\r\n");
            raw.write("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
            assertEquals(200, raw.read().status());
        }
        assertEquals(AdminState.READY, admin.pool.get("master1").adminState());
        assertEquals(200, admin.get("/healthz").statusCode());
    }

    @ParameterizedTest
    @ValueSource(strings = {"headers", "uri", "garbage", "version"})
    void malformedOrOversizedRequestsGetAnErrorAndTheServerKeepsServing(String kind) throws Exception {
        admin = new AdminFixture();
        String request = switch (kind) {
            case "headers" -> "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + "h".repeat(9 * 1024) + "\r\n\r\n";
            case "uri" -> "GET /" + "u".repeat(5 * 1024) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
            case "garbage" -> "\u0001\u0002 not http at all\r\n\r\n";
            default -> "GET /healthz HTTP/9.9\r\nHost: 127.0.0.1\r\n\r\n";
        };
        int expected = switch (kind) {
            case "headers" -> 431;
            case "uri" -> 414;
            case "version" -> 505;
            default -> 400;
        };
        try (RawHttp raw = new RawHttp(admin.address)) {
            raw.write(request);
            RawHttp.Reply reply = raw.read();
            assertEquals(expected, reply.status(), reply.body());
            assertTrue(reply.body().startsWith("{\"error\":"), reply.body());
            assertTrue(raw.closedByServer());
        }
        assertEquals(200, admin.get("/healthz").statusCode());
    }

    @Test
    void readsAddressedByAForeignHostNameAre421WithoutAToken() throws Exception {
        admin = new AdminFixture();
        try (RawHttp raw = new RawHttp(admin.address)) {
            // A DNS-rebinding page reading the API: its own name, resolving to 127.0.0.1.
            raw.write("GET /api/v1/backends HTTP/1.1\r\nHost: evil.example\r\n\r\n");
            RawHttp.Reply refused = raw.read();
            assertEquals(421, refused.status());
            assertTrue(refused.body().startsWith("{\"error\":\"Host evil.example refused"), refused.body());
            assertFalse(refused.body().contains("10.0.0."), "no master address leaks");
            for (String host : new String[] {"localhost:8404", "127.0.0.1", "[::1]:8404"}) {
                raw.write("GET /api/v1/backends HTTP/1.1\r\nHost: " + host + "\r\n\r\n");
                assertEquals(200, raw.read().status(), host);
            }
            raw.write("GET /healthz HTTP/1.1\r\nHost: evil.example\r\n\r\n");
            assertEquals(200, raw.read().status(), "/healthz tells nothing and stays open to any Host");
        }
    }

    @Test
    void aTokenLetsAReadThroughWhateverTheHost() throws Exception {
        admin = new AdminFixture(TOKEN, null);
        try (RawHttp raw = new RawHttp(admin.address)) {
            raw.write("GET /metrics HTTP/1.1\r\nHost: evil.example\r\n\r\n");
            assertEquals(421, raw.read().status());
            raw.write("GET /metrics HTTP/1.1\r\nHost: evil.example\r\nAuthorization: Bearer " + TOKEN + "\r\n\r\n");
            assertEquals(200, raw.read().status());
        }
    }
}
