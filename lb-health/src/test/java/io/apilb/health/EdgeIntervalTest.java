package io.apilb.health;

import static io.apilb.health.HealthFixtures.config;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.apilb.core.backend.Health;
import io.apilb.core.config.HealthConfig;
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
import java.util.Random;

/**
 * Edge intervals: once a master fails one check it is probed every {@code fastInterval}, so with
 * {@code interval: 1s} and {@code fall: 2} it leaves the rotation in well under two intervals; a
 * recovering master is probed as fast on its way back.
 */
class EdgeIntervalTest {
    private static final Duration INTERVAL = Duration.ofSeconds(1);
    private static final int TRIALS = 10;

    @TempDir
    Path dir;

    @Test
    void anUnreadyMasterGetsItsLastConnectionWellUnderAnIntervalAndComesBackWithinRiseFastIntervals()
            throws Exception {
        HealthConfig health = config().interval(INTERVAL).timeout(Duration.ofMillis(500)).rise(2).fall(2)
                .tls(new TlsConfig(TestPki.writeCa(TestPki.ca(), dir, "ca.crt"), false, "kubernetes", null, null))
                .build();
        Duration fast = health.fastInterval();
        List<Long> lastConnection = new ArrayList<>();
        List<Long> recovery = new ArrayList<>();
        try (ProxyRig rig = new ProxyRig(health, Duration.ofMillis(500), "m1", "m2", "m3")) {
            rig.awaitAllUp();
            Random random = new Random(42);
            for (int trial = 0; trial < TRIALS; trial++) {
                // A master fails at any moment, not just after a probe: the recovery that ended the
                // last trial was itself a probe, so start at a random point of the interval.
                Thread.sleep(random.nextInt((int) INTERVAL.toMillis()));
                long unreadyAt = System.nanoTime();
                rig.server("m1").readyStatus(500);
                long last = unreadyAt;
                long deadline = unreadyAt + Duration.ofSeconds(5).toNanos();
                // Connections keep coming; note when m1 served its last one.
                while (rig.pool.get("m1").health() != Health.DOWN && System.nanoTime() < deadline) {
                    if ("m1".equals(TestHttpsClient.getOnce(rig.address(), "/version").server())) {
                        last = System.nanoTime();
                    }
                }
                for (int i = 0; i < 6; i++) {
                    if ("m1".equals(TestHttpsClient.getOnce(rig.address(), "/version").server())) {
                        last = System.nanoTime();
                    }
                }
                lastConnection.add((last - unreadyAt) / 1_000_000);

                long readyAt = System.nanoTime();
                rig.server("m1").readyStatus(200);
                await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(5))
                        .until(() -> rig.pool.snapshot().isRoutable(rig.pool.get("m1")));
                recovery.add((System.nanoTime() - readyAt) / 1_000_000);
            }
        }
        long medianLast = median(lastConnection);
        long medianRecovery = median(recovery);
        long recoveryBound = fast.multipliedBy(2).plus(INTERVAL).toMillis();
        System.out.printf("edge intervals (interval %d ms, fastInterval %d ms, fall 2, rise 2): last new connection "
                        + "to the unready master after %s ms (median %d); routable again after %s ms (median %d, "
                        + "bound %d)%n", INTERVAL.toMillis(), fast.toMillis(), lastConnection, medianLast, recovery,
                medianRecovery, recoveryBound);
        assertTrue(medianLast < INTERVAL.toMillis(), "median " + medianLast + " ms: " + lastConnection);
        assertTrue(medianRecovery <= recoveryBound, "median " + medianRecovery + " ms: " + recovery);
    }

    private static long median(List<Long> values) {
        List<Long> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        return sorted.get(sorted.size() / 2);
    }
}
