package io.apilb.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.apilb.core.backend.Backend;
import io.apilb.core.backend.BackendPool;
import io.apilb.core.backend.Health;
import io.apilb.core.config.AdminConfig;
import io.apilb.core.config.HostPort;
import io.apilb.core.config.RebalanceConfig;
import io.apilb.core.rebalance.Rebalancer;
import io.apilb.core.testing.FakeConnection;

import com.fasterxml.jackson.databind.JsonNode;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.time.Duration;

/** {@code /api/v1/rebalance} and the slow-start ramp in {@code /api/v1/backends}. */
class RebalanceApiTest {
    private static final String TOKEN = "s3cret-token";

    private AdminFixture admin;
    private Rebalancer rebalancer;

    private void start(BackendPool pool) {
        for (Backend b : pool.all()) {
            pool.setHealth(b, Health.UP, null);
        }
        rebalancer = new Rebalancer(pool);
        rebalancer.configure(Duration.ofSeconds(30), RebalanceConfig.DEFAULTS);
        admin = new AdminFixture(new AdminConfig(true, new HostPort("127.0.0.1", 0), TOKEN, null), pool, null,
                rebalancer);
    }

    @AfterEach
    void tearDown() {
        if (admin != null) {
            admin.close();
        }
    }

    @Test
    void postStartsOnePassWithTheTokenLikeOtherChanges() throws Exception {
        start(AdminFixture.defaultPool());
        for (int i = 0; i < 6; i++) {
            admin.pool.get("master1").connections().register(new FakeConnection());
        }

        assertEquals(401, admin.post("/api/v1/rebalance", null).statusCode());
        assertEquals(403, admin.post("/api/v1/rebalance", TOKEN + "x").statusCode());
        assertFalse(rebalancer.passRunning());

        HttpResponse<String> started = admin.post("/api/v1/rebalance", TOKEN);
        assertEquals(200, started.statusCode(), started.body());
        JsonNode body = Json.MAPPER.readTree(started.body());
        assertEquals("started", body.get("status").asText());
        assertTrue(body.get("spread").asDouble() > 0.2, started.body());
        assertTrue(rebalancer.passRunning());
        assertEquals("running", Json.MAPPER.readTree(admin.post("/api/v1/rebalance", TOKEN).body())
                .get("status").asText());
        assertEquals(200, admin.get("/api/v1/rebalance").statusCode(), "reading the status needs no token");
    }

    @Test
    void postWhenBalancedSaysSoAndStartsNothing() throws Exception {
        start(AdminFixture.defaultPool());
        HttpResponse<String> res = admin.post("/api/v1/rebalance", TOKEN);
        assertEquals("balanced", Json.MAPPER.readTree(res.body()).get("status").asText());
        assertFalse(rebalancer.passRunning());
    }

    @Test
    void withoutARebalancerTheRouteIs501() throws Exception {
        admin = new AdminFixture(TOKEN, null);
        assertEquals(501, admin.post("/api/v1/rebalance", TOKEN).statusCode());
    }

    @Test
    void backendsShowTheSlowStartRampOfAReturningMaster() throws Exception {
        start(AdminFixture.defaultPool());
        Backend m3 = admin.pool.get("master3");
        admin.pool.setHealth(m3, Health.DOWN, null);
        admin.pool.setHealth(m3, Health.UP, null);

        JsonNode backends = Json.MAPPER.readTree(admin.get("/api/v1/backends").body()).get("backends");
        JsonNode ramp = backends.get(2).get("slowStart");
        assertTrue(ramp.get("progress").asDouble() < 0.5, ramp.toString());
        assertTrue(ramp.get("effectiveWeight").asDouble() < 0.6, ramp.toString());
        assertTrue(backends.get(0).get("slowStart").isNull(), "master1 never went down");
    }
}
