package io.apilb.admin;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.apilb.core.testing.TestHttpsClient;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Drain, maintenance and return to service of one master, driven through the admin API end to end. */
class DrainScenarioTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    private final ProxiedCluster cluster = new ProxiedCluster();
    private final List<TestHttpsClient> clients = new ArrayList<>();

    @AfterEach
    void close() {
        clients.forEach(TestHttpsClient::close);
        cluster.close();
    }

    private Map<String, Integer> newConnections(int n) throws Exception {
        Map<String, Integer> served = new HashMap<>();
        for (int i = 0; i < n; i++) {
            TestHttpsClient.Response r = TestHttpsClient.getOnce(cluster.proxyAddress, "/version");
            assertEquals(200, r.status());
            served.merge(r.server(), 1, Integer::sum);
        }
        return served;
    }

    private long active(String name) throws Exception {
        return cluster.backend(name).get("activeConnections").asLong();
    }

    @Test
    void drainKeepsOpenConnectionsMaintClosesThemReadyBringsTheMasterBack() throws Exception {
        Map<String, List<TestHttpsClient>> byServer = new HashMap<>();
        for (int i = 0; i < 30; i++) {
            TestHttpsClient c = TestHttpsClient.connect(cluster.proxyAddress);
            clients.add(c);
            TestHttpsClient.Response r = c.get("/version");
            assertEquals(200, r.status());
            byServer.computeIfAbsent(r.server(), k -> new ArrayList<>()).add(c);
        }
        List<TestHttpsClient> onA = byServer.get("master1");
        assertEquals(10, onA.size());
        assertEquals(10, active("master1"));

        assertEquals("drain", cluster.setState("master1", "drain").get("state").asText());
        for (TestHttpsClient c : onA) {
            TestHttpsClient.Response r = c.get("/version");
            assertEquals(200, r.status());
            assertEquals("master1", r.server(), "a drained master keeps serving its open connections");
        }
        long totalBefore = cluster.backend("master1").get("totalConnections").asLong();

        Map<String, Integer> served = newConnections(90);
        assertFalse(served.containsKey("master1"), "no new connection goes to a drained master: " + served);
        assertEquals(Map.of("master2", 45, "master3", 45), served);
        assertEquals(totalBefore, cluster.backend("master1").get("totalConnections").asLong());
        assertFalse(cluster.backend("master1").get("routable").asBoolean());

        for (int i = 0; i < 4; i++) {
            onA.remove(0).close();
        }
        await().atMost(WAIT).until(() -> active("master1") == 6);
        for (TestHttpsClient c : onA) {
            assertEquals("master1", c.get("/version").server(), "the rest still pass data");
        }

        assertEquals("maint", cluster.setState("master1", "maint").get("state").asText());
        await().atMost(WAIT).until(() -> onA.stream().allMatch(TestHttpsClient::isClosedByPeer));
        await().atMost(WAIT).until(() -> active("master1") == 0);
        for (String other : List.of("master2", "master3")) {
            for (TestHttpsClient c : byServer.get(other)) {
                assertEquals(other, c.get("/version").server(), "other masters' connections are untouched");
            }
        }

        assertTrue(cluster.setState("master1", "ready").get("routable").asBoolean());
        Map<String, Integer> back = newConnections(30);
        assertEquals(Map.of("master1", 10, "master2", 10, "master3", 10), back);
    }
}
