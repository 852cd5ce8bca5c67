package io.apilb.admin;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.apilb.core.testing.TestHttpsClient;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.time.Duration;

/** {@code GET /api/v1/frontend} and the per-source meters while real clients hold connections. */
class FrontendApiTest {
    private final ProxiedCluster cluster = new ProxiedCluster();

    @AfterEach
    void close() {
        cluster.close();
    }

    private JsonNode frontend() throws Exception {
        HttpResponse<String> res = cluster.request("GET", "/api/v1/frontend", null);
        assertEquals(200, res.statusCode(), res.body());
        return new ObjectMapper().readTree(res.body());
    }

    @Test
    void busiestSourcesNameTheClientsHoldingConnections() throws Exception {
        assertEquals(0, frontend().get("busiestSources").size());
        try (TestHttpsClient a = TestHttpsClient.connect(cluster.proxyAddress);
             TestHttpsClient b = TestHttpsClient.connect(cluster.proxyAddress)) {
            assertEquals(200, a.get("/version").status());
            assertEquals(200, b.get("/version").status());
            JsonNode top = frontend().get("busiestSources").get(0);
            assertEquals("127.0.0.1", top.get("source").asText());
            assertEquals(2, top.get("openConnections").asInt());
            assertEquals(0, top.get("rejectedConnections").asInt());
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> cluster.proxy.stats().active() == 0);
        assertEquals(0, frontend().get("busiestSources").size(), "an address with nothing open is left out");

        PrometheusText m = new PrometheusText(cluster.scrape());
        for (String reason : new String[] {"max_connections", "per_source_connections", "per_source_rate"}) {
            assertEquals(0, m.value("apilb_frontend_rejected_total", "reason", reason), reason);
        }
    }
}
