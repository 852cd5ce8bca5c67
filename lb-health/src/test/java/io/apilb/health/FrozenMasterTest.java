package io.apilb.health;

import static io.apilb.health.HealthFixtures.config;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.apilb.core.backend.Backend;
import io.apilb.core.backend.ConnectFailure;
import io.apilb.core.backend.Health;
import io.apilb.core.config.HealthConfig;
import io.apilb.core.config.Timeouts;
import io.apilb.core.config.TlsConfig;
import io.apilb.core.testing.TestHttpsClient;
import io.apilb.core.testing.TestPki;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * A master whose process froze while its kernel still completes TCP handshakes: the connections
 * sent to it before the health check notices are handed to another master after
 * {@code timeouts.firstByte}, so clients see latency, not failures.
 */
class FrozenMasterTest {
    private static final int CONNECTIONS = 200;
    private static final Duration CONNECT = Duration.ofMillis(500);

    @TempDir
    Path dir;

    @Test
    void newTlsConnectionsDuringAFreezeAllSucceedAndTheFrozenMasterGetsNoneOnceDown() throws Exception {
        HealthConfig health = config().interval(Duration.ofSeconds(1)).timeout(Duration.ofMillis(500)).fall(2)
                .tls(new TlsConfig(TestPki.writeCa(TestPki.ca(), dir, "ca.crt"), false, "kubernetes", null, null))
                .build();
        try (ProxyRig rig = new ProxyRig(health, CONNECT, "m1", "m2", "m3")) {
            rig.awaitAllUp();
            rig.server("m1").freeze();
            long frozenAt = System.nanoTime();

            List<Long> millis = Collections.synchronizedList(new ArrayList<>());
            ExecutorService clients = Executors.newFixedThreadPool(4);
            try {
                List<Future<Integer>> results = new ArrayList<>();
                for (int i = 0; i < CONNECTIONS; i++) {
                    results.add(clients.submit(() -> {
                        long start = System.nanoTime();
                        int status = TestHttpsClient.getOnce(rig.address(), "/version").status();
                        millis.add((System.nanoTime() - start) / 1_000_000);
                        return status;
                    }));
                }
                for (Future<Integer> r : results) {
                    assertEquals(200, r.get(30, TimeUnit.SECONDS), "no client fails during the freeze");
                }
            } finally {
                clients.shutdownNow();
            }
            long spanMillis = (System.nanoTime() - frozenAt) / 1_000_000;
            Backend m1 = rig.pool.get("m1");
            long moved = m1.stats().connectFailures(ConnectFailure.FIRST_BYTE_TIMEOUT);
            List<Long> sorted = new ArrayList<>(millis);
            Collections.sort(sorted);
            long bound = Timeouts.DEFAULT_FIRST_BYTE.plus(CONNECT).plusSeconds(2).toMillis();
            System.out.printf("frozen master: %d TLS connections in %d ms, 0 failed, %d moved off the frozen master "
                    + "after the first-byte timeout, latency median %d ms, p99 %d ms, max %d ms (bound %d ms)%n",
                    CONNECTIONS, spanMillis, moved, sorted.get(sorted.size() / 2),
                    sorted.get(sorted.size() * 99 / 100), sorted.get(sorted.size() - 1), bound);
            assertTrue(sorted.get(sorted.size() - 1) <= bound, "each within firstByte + connect + handshake");

            rig.awaitHealth("m1", Health.DOWN);
            long attemptsBefore = m1.stats().connectFailures() + m1.connections().total();
            for (int i = 0; i < 30; i++) {
                assertEquals(200, TestHttpsClient.getOnce(rig.address(), "/version").status());
            }
            assertEquals(attemptsBefore, m1.stats().connectFailures() + m1.connections().total(),
                    "once DOWN, no new connection is sent to it");
            rig.server("m1").unfreeze();
        }
    }
}
