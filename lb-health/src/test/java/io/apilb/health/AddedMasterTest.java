package io.apilb.health;

import static io.apilb.health.HealthFixtures.config;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.apilb.core.backend.Health;
import io.apilb.core.config.BackendConfig;
import io.apilb.core.config.HealthConfig;
import io.apilb.core.config.HostPort;
import io.apilb.core.config.TlsConfig;
import io.apilb.core.testing.TestApiServer;
import io.apilb.core.testing.TestHttpsClient;
import io.apilb.core.testing.TestPki;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** A master added by a reload is probed before it gets traffic. */
class AddedMasterTest {
    @TempDir
    Path dir;

    private static Map<String, Integer> spread(InetSocketAddress address, int connections) throws Exception {
        Map<String, Integer> served = new HashMap<>();
        for (int i = 0; i < connections; i++) {
            served.merge(TestHttpsClient.getOnce(address, "/version").server(), 1, Integer::sum);
        }
        return served;
    }

    @Test
    void aMasterAddedByReloadGetsNoConnectionsUntilItsFirstCheckPasses() throws Exception {
        HealthConfig health = config().interval(Duration.ofMillis(200)).rise(2)
                .tls(new TlsConfig(TestPki.writeCa(TestPki.ca(), dir, "ca.crt"), false, "kubernetes", null, null))
                .build();
        try (ProxyRig rig = new ProxyRig(health, Duration.ofMillis(500), "m1", "m2");
             TestApiServer m4 = TestApiServer.start("m4")) {
            rig.awaitAllUp();
            m4.readyStatus(500);
            List<BackendConfig> next = new ArrayList<>(rig.pool.all().stream()
                    .map(b -> new BackendConfig(b.name(), b.address(), 1)).toList());
            next.add(new BackendConfig("m4", HostPort.parse(m4.hostPort()), 1));
            rig.pool.reconfigure(next, true);

            // Before any probe of m4 has run: it is not known to be ready, so it gets nothing.
            Map<String, Integer> unprobed = spread(rig.address(), 30);
            assertEquals(null, unprobed.get("m4"), "no traffic before the first check: " + unprobed);

            rig.checker.backendsChanged();
            rig.awaitHealth("m4", Health.DOWN);
            Map<String, Integer> unready = spread(rig.address(), 30);
            assertEquals(null, unready.get("m4"), "none while /readyz says 500: " + unready);

            m4.readyStatus(200);
            rig.awaitHealth("m4", Health.UP);
            await().atMost(ProxyRig.DEADLINE).until(() -> rig.pool.snapshot().isRoutable(rig.pool.get("m4")));
            Map<String, Integer> ready = spread(rig.address(), 30);
            System.out.printf("added master: before its first check %s, while unready %s, once ready %s%n",
                    unprobed, unready, ready);
            assertTrue(ready.getOrDefault("m4", 0) >= 5, "traffic once ready: " + ready);
        }
    }
}
