package io.apilb.health;

import static io.apilb.health.HealthFixtures.config;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.apilb.core.backend.Health;
import io.apilb.core.config.HealthConfig;
import io.apilb.core.config.TlsConfig;
import io.apilb.core.testing.TestApiServer;
import io.apilb.core.testing.TestHttpsClient;
import io.apilb.core.testing.TestPki;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/** What health verdicts do to client traffic through the real proxy. */
class ProxyHealthTest {
    private static final Duration INTERVAL = Duration.ofMillis(150);
    private static final Duration TIMEOUT = Duration.ofMillis(300);

    @TempDir
    Path dir;

    @AutoClose
    private final HealthFixtures.Closer closer = new HealthFixtures.Closer();

    @Test
    void silentlyDeadMasterLosesItsClientsWithinTheDetectionWindow() throws Exception {
        HealthConfig health = config().tls(verified()).interval(INTERVAL).timeout(TIMEOUT).fall(2).build();
        try (ProxyRig rig = new ProxyRig(health, Duration.ofMillis(500), "m1", "m2", "m3")) {
            rig.awaitAllUp();
            // Opened once every master is UP: a cold first probe may time out and close what came before.
            TestHttpsClient watch = closer.add(TestHttpsClient.connect(rig.address()));
            String victim = watch.get("/version").server();

            long frozenAt = System.nanoTime();
            rig.server(victim).freeze();

            Duration bound = INTERVAL.multipliedBy(2).plus(TIMEOUT).plusSeconds(1);
            await().atMost(bound).pollInterval(Duration.ofMillis(5)).until(watch::isClosedByPeer);
            long evictedMillis = (System.nanoTime() - frozenAt) / 1_000_000;
            System.out.printf("silent death: client connection to %s closed %d ms after the freeze (bound %d ms)%n",
                    victim, evictedMillis, bound.toMillis());
            assertEquals(Health.DOWN, rig.pool.get(victim).health());
            HealthFixtures.Flip down = rig.flips.lastTo(victim, Health.DOWN);
            assertTrue(down.history().get(down.history().size() - 1).status().meansDead(), down.history()::toString);

            for (int i = 0; i < 6; i++) {
                assertNotEquals(victim, TestHttpsClient.getOnce(rig.address(), "/version").server());
            }
        }
    }

    @Test
    void unreadyMasterFinishesInFlightRequestsAndGetsNoNewConnections() throws Exception {
        HealthConfig health = config().tls(verified()).interval(Duration.ofMillis(100)).timeout(TIMEOUT).build();
        try (ProxyRig rig = new ProxyRig(health, Duration.ofMillis(500), "m1", "m2", "m3")) {
            rig.awaitAllUp();
            // Opened once every master is UP: a cold first probe may time out and close what came before.
            TestHttpsClient conn = closer.add(TestHttpsClient.connect(rig.address()));
            String victim = conn.get("/version").server();
            TestApiServer server = rig.server(victim);

            conn.sendGet("/slow?ms=1500");
            long shutdownAt = System.nanoTime();
            server.beginGracefulShutdown(Duration.ofMillis(2500));
            rig.awaitHealth(victim, Health.DOWN);
            long downMillis = (System.nanoTime() - shutdownAt) / 1_000_000;
            int servedAtDown = server.requests() - server.readyzRequests();

            for (int i = 0; i < 6; i++) {
                assertNotEquals(victim, TestHttpsClient.getOnce(rig.address(), "/version").server());
            }
            TestHttpsClient.Response slow = conn.readResponse(Long.MAX_VALUE);

            assertTrue(downMillis < 1500, "DOWN before the slow answer: " + downMillis + " ms");
            assertEquals(200, slow.status());
            assertEquals(victim, slow.server(), "in-flight request answered on the kept connection");
            assertEquals(servedAtDown, server.requests() - server.readyzRequests(), "no new request after DOWN");
            HealthFixtures.Flip down = rig.flips.lastTo(victim, Health.DOWN);
            assertEquals(CheckStatus.L7STS, down.history().get(down.history().size() - 1).status());
        }
    }

    @Test
    void rollingRestartFailsNoRequest() throws Exception {
        HealthConfig health = config().tls(verified()).interval(Duration.ofMillis(100)).timeout(TIMEOUT).build();
        try (ProxyRig rig = new ProxyRig(health, Duration.ofMillis(500), "m1", "m2", "m3")) {
            rig.awaitAllUp();
            try (ClientLoops loops = ClientLoops.start(rig.address())) {
                await().atMost(ProxyRig.DEADLINE)
                        .until(() -> loops.fresh.successes() > 5 && loops.kept.successes() > 5);
                for (TestApiServer server : rig.servers) {
                    server.beginGracefulShutdown(Duration.ofMillis(1000));
                    rig.awaitHealth(server.name(), Health.DOWN);
                    await().atMost(ProxyRig.DEADLINE).until(() -> !ClientLoops.accepts(server.port()));
                    server.readyStatus(200);
                    server.start();
                    rig.awaitHealth(server.name(), Health.UP);
                }
                int fresh = loops.fresh.successes();
                int kept = loops.kept.successes();
                await().atMost(ProxyRig.DEADLINE).until(() -> loops.fresh.successes() > fresh + 5
                        && loops.kept.successes() > kept + 5);
                loops.stop();
                System.out.printf("rolling restart: %s; %s%n", loops.fresh, loops.kept);
                assertEquals(List.of(), loops.fresh.failures());
                assertEquals(List.of(), loops.kept.failures());
            }
            for (TestApiServer server : rig.servers) {
                HealthFixtures.Flip down = rig.flips.lastTo(server.name(), Health.DOWN);
                assertEquals(CheckStatus.L7STS, down.history().get(down.history().size() - 1).status(),
                        () -> server.name() + " went DOWN as unready: " + down.history());
            }
        }
    }

    @Test
    void failsOpenWhenEveryProbeIsRejected() throws Exception {
        ListAppender<ILoggingEvent> logs = new ListAppender<>();
        Logger verdictLog = (Logger) LoggerFactory.getLogger(VerdictPublisher.class);
        logs.start();
        verdictLog.addAppender(logs);
        HealthConfig health = config().tls(verified()).interval(INTERVAL).timeout(TIMEOUT).build();
        try (ProxyRig rig = new ProxyRig(health, Duration.ofMillis(500), "m1", "m2", "m3")) {
            rig.servers.forEach(s -> s.readyStatus(401));
            await().atMost(ProxyRig.DEADLINE)
                    .until(() -> rig.registry.get(HealthMetrics.ALL_DOWN).gauge().value() == 1.0);

            for (int i = 0; i < 6; i++) {
                TestHttpsClient.Response r = TestHttpsClient.getOnce(rig.address(), "/version");
                assertEquals(200, r.status());
            }

            assertTrue(rig.proxy.stats().failOpen() >= 6, "routed while failing open: " + rig.proxy.stats().failOpen());
            assertEquals(CheckStatus.L7STS, rig.checker.last("m1").status());
            assertEquals(401, rig.checker.last("m1").httpStatus());
            assertEquals(1, logs.list.stream().filter(e -> e.getLevel() == Level.WARN
                    && e.getFormattedMessage().startsWith("every backend is DOWN")).count());
        } finally {
            verdictLog.detachAppender(logs);
        }
    }

    private TlsConfig verified() {
        return new TlsConfig(TestPki.writeCa(TestPki.ca(), dir, "ca.crt"), false, "kubernetes", null, null);
    }
}
