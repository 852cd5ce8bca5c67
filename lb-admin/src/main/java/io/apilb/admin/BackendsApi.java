package io.apilb.admin;

import io.apilb.core.backend.AdminState;
import io.apilb.core.backend.Backend;
import io.apilb.core.backend.BackendPool;
import io.apilb.core.backend.Snapshot;
import io.apilb.health.CheckResults;

import com.fasterxml.jackson.databind.JsonNode;

import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;

import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code /api/v1/backends}: the list, one backend, and the operator's state change
 * ({@code PUT .../state} with {@code {"state":"drain"|"ready"|"maint"}}, answered with the backend).
 * Reads use the pool's lock-free snapshot and run on the event loop; the state change takes the
 * pool's lock and closes connections on {@code maint}, so it runs on the change worker.
 */
final class BackendsApi {
    private static final String EXPECTED_BODY = "expected: {\"state\": \"drain\" | \"ready\" | \"maint\"}";

    private final BackendPool pool;
    private final CheckResults checks;

    BackendsApi(BackendPool pool, CheckResults checks) {
        this.pool = pool;
        this.checks = checks;
    }

    void addTo(Router router) {
        router.add(HttpMethod.GET, "/api/v1/backends", this::list)
                .add(HttpMethod.GET, "/api/v1/backends/{name}", this::one)
                .addBlocking(HttpMethod.PUT, "/api/v1/backends/{name}/state", this::setState);
    }

    private AdminResponse list(AdminRequest request) {
        List<BackendJson> backends = new ArrayList<>();
        Snapshot snapshot = pool.snapshot();
        for (Backend b : snapshot.all()) {
            backends.add(BackendJson.of(b, snapshot, checks));
        }
        // The server's clock lets the dashboard show check ages right even when the browser's clock is off.
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("time", Instant.now().toString());
        body.put("backends", backends);
        return AdminResponse.ok(body);
    }

    private AdminResponse one(AdminRequest request) {
        Backend b = find(request.pathParam("name"));
        return b == null ? unknown(request) : AdminResponse.ok(BackendJson.of(b, pool.snapshot(), checks));
    }

    private AdminResponse setState(AdminRequest request) {
        Backend b = find(request.pathParam("name"));
        if (b == null) {
            return unknown(request);
        }
        JsonNode body;
        try {
            body = Json.MAPPER.readTree(request.body());
        } catch (IOException e) {
            return bad("body: not valid JSON (" + EXPECTED_BODY + ")");
        }
        if (body == null || !body.isObject()) {
            return bad("body: not a JSON object (" + EXPECTED_BODY + ")");
        }
        JsonNode state = body.get("state");
        if (state == null || state.isNull()) {
            return bad("state: missing (" + EXPECTED_BODY + ")");
        }
        AdminState next = parse(state);
        if (next == null) {
            return bad("state: " + state + " (expected: \"drain\", \"ready\" or \"maint\")");
        }
        pool.setAdminState(b, next);
        return AdminResponse.ok(BackendJson.of(b, pool.snapshot(), checks));
    }

    private static AdminState parse(JsonNode state) {
        if (!state.isTextual()) {
            return null;
        }
        return switch (state.asText().toLowerCase(Locale.ROOT)) {
            case "ready" -> AdminState.READY;
            case "drain" -> AdminState.DRAIN;
            case "maint" -> AdminState.MAINT;
            default -> null;
        };
    }

    private Backend find(String name) {
        for (Backend b : pool.all()) {
            if (b.name().equals(name)) {
                return b;
            }
        }
        return null;
    }

    private static AdminResponse unknown(AdminRequest request) {
        return AdminResponse.error(HttpResponseStatus.NOT_FOUND, "backend " + request.pathParam("name") + " not found");
    }

    private static AdminResponse bad(String message) {
        return AdminResponse.error(HttpResponseStatus.BAD_REQUEST, message);
    }
}
