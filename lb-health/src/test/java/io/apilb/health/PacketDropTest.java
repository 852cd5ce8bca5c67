package io.apilb.health;

import static io.apilb.health.HealthFixtures.config;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.apilb.core.backend.Health;
import io.apilb.core.config.HealthConfig;
import io.apilb.core.config.TlsConfig;
import io.apilb.core.testing.TestHttpsClient;
import io.apilb.core.testing.TestPki;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A master whose packets vanish (a partition, a powered-off host): no RST, no FIN, nothing. */
class PacketDropTest {
    private static final Duration CONNECT_TIMEOUT = Duration.ofMillis(500);

    @TempDir
    Path dir;

    @AutoClose
    private final HealthFixtures.Closer closer = new HealthFixtures.Closer();

    @Test
    void masterWhosePacketsAreDroppedIsEvictedAndNeverDelaysNewConnectionsBeyondTheConnectTimeout()
            throws Exception {
        // In the test, not in @BeforeAll: a skipped test shows in the report with its reason.
        String reason = Nft.unavailableReason();
        assumeTrue(reason == null, () -> "nft not available: " + reason);
        TlsConfig tls = new TlsConfig(TestPki.writeCa(TestPki.ca(), dir, "ca.crt"), false, "kubernetes", null, null);
        HealthConfig health = config().tls(tls).build();
        try (ProxyRig rig = new ProxyRig(health, CONNECT_TIMEOUT, "m1", "m2", "m3");
             Nft nft = new Nft()) {
            rig.awaitAllUp();
            // Opened once every master is UP: a cold first probe may time out and close what came before.
            TestHttpsClient watch = closer.add(TestHttpsClient.connect(rig.address()));
            String victim = watch.get("/version").server();

            long droppedAt = System.nanoTime();
            nft.dropLoopbackPort(rig.server(victim).port());

            // New connections from the first moment, while the probes have not found out yet: some are
            // dialled to the victim and must be redispatched after the connect timeout.
            CompletableFuture<List<Long>> latencies = CompletableFuture.supplyAsync(() -> newConnections(rig, victim));
            await().atMost(ProxyRig.DEADLINE).pollInterval(Duration.ofMillis(5)).until(watch::isClosedByPeer);
            long closedMillis = (System.nanoTime() - droppedAt) / 1_000_000;
            assertEquals(Health.DOWN, rig.pool.get(victim).health());

            List<Long> newConnections = latencies.get(30, TimeUnit.SECONDS);
            HealthFixtures.Flip down = rig.flips.lastTo(victim, Health.DOWN);
            CheckResult cause = down.history().get(down.history().size() - 1);
            System.out.printf("packet drop: %s DOWN with %s \"%s\", client closed after %d ms, new connections %s ms%n",
                    victim, cause.status(), cause.error(), closedMillis, newConnections);
            assertTrue(cause.status().meansDead(), cause::toString);
            long worst = newConnections.stream().mapToLong(Long::longValue).max().orElseThrow();
            assertTrue(worst < CONNECT_TIMEOUT.toMillis() + 1_000, "slowest new connection: " + worst + " ms");
        }
    }

    /** Twelve requests on new connections through the proxy; their latencies in ms. None may reach the victim. */
    private static List<Long> newConnections(ProxyRig rig, String victim) {
        List<Long> latencies = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            long t0 = System.nanoTime();
            try {
                String served = TestHttpsClient.getOnce(rig.address(), "/version").server();
                assertNotEquals(victim, served);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            latencies.add((System.nanoTime() - t0) / 1_000_000);
        }
        return latencies;
    }
}
