package io.apilb.health;

import static io.apilb.health.HealthFixtures.DEADLINE;
import static io.apilb.health.HealthFixtures.awaitHealth;
import static io.apilb.health.HealthFixtures.config;
import static io.apilb.health.HealthFixtures.pool;
import static io.apilb.health.HealthFixtures.tls;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.apilb.core.testing.FakeConnection;
import io.apilb.core.backend.Backend;
import io.apilb.core.backend.BackendPool;
import io.apilb.core.backend.ConnectFailure;
import io.apilb.core.backend.Health;
import io.apilb.core.backend.ProxiedConnection;
import io.apilb.core.backend.Termination;
import io.apilb.core.config.HealthConfig;
import io.apilb.core.config.OnDown;
import io.apilb.core.config.TlsConfig;
import io.apilb.core.testing.TestApiServer;
import io.apilb.core.testing.TestPki;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

import java.net.ConnectException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What a verdict does to the pool and the backend's connections, and which observations count. */
class HealthVerdictTest {
    @TempDir
    Path dir;

    @AutoClose
    private final HealthFixtures.Closer closer = new HealthFixtures.Closer();

    @Test
    void deadMasterLosesItsConnections() throws Exception {
        TestApiServer server = server("m1");
        BackendPool pool = pool(server);
        start(config().tls(verified()).build(), pool);
        FakeConnection conn = upWithConnection(pool, "m1");

        server.freeze();

        awaitHealth(pool, "m1", Health.DOWN);
        await().atMost(DEADLINE).until(() -> conn.closedWith.equals(List.of(Termination.BACKEND_DOWN)));
    }

    @Test
    void deadMasterKeepsItsConnectionsWhenOnDownIsKeep() throws Exception {
        TestApiServer server = server("m1");
        BackendPool pool = pool(server);
        HealthChecker checker = start(config().tls(verified()).onDown(OnDown.KEEP).build(), pool);
        FakeConnection conn = upWithConnection(pool, "m1");

        server.freeze();

        awaitDownApplied(checker, pool, "m1");
        assertEquals(CheckStatus.L6TOUT, checker.last("m1").status());
        assertTrue(conn.closedWith.isEmpty(), conn.closedWith::toString);
    }

    @Test
    void unreadyMasterKeepsItsConnections() throws Exception {
        TestApiServer server = server("m1");
        BackendPool pool = pool(server);
        HealthChecker checker = start(config().tls(verified()).build(), pool);
        FakeConnection conn = upWithConnection(pool, "m1");

        server.readyStatus(500);

        awaitDownApplied(checker, pool, "m1");
        assertEquals(CheckStatus.L7STS, checker.last("m1").status());
        assertTrue(conn.closedWith.isEmpty(), conn.closedWith::toString);
    }

    @Test
    void refusedDialsOfTheProxyCountAsFailedChecks() throws Exception {
        TestApiServer server = server("m1");
        BackendPool pool = pool(server);
        // A long interval: no probe passes between the two observations and resets the streak.
        HealthChecker checker = start(config().tls(verified()).interval(Duration.ofSeconds(5)).build(), pool);
        FakeConnection conn = upWithConnection(pool, "m1");
        Backend b = pool.get("m1");

        pool.connectFailed(b, ConnectFailure.CONNECT_REFUSED, new ConnectException("Connection refused"));
        await().atMost(DEADLINE).until(() -> checker.history("m1").size() == 2);
        assertEquals(Health.UP, b.health(), "one failure of fall=2");
        pool.connectFailed(b, ConnectFailure.CONNECT_TIMEOUT, null);

        awaitHealth(pool, "m1", Health.DOWN);
        CheckResult last = checker.last("m1");
        assertEquals(CheckStatus.L4TOUT, last.status());
        assertEquals("proxy connect: connect_timeout", last.error());
        assertEquals(CheckStatus.L4CON, checker.history("m1").get(1).status());
        await().atMost(DEADLINE).until(() -> conn.closedWith.equals(List.of(Termination.BACKEND_DOWN)));
    }

    @Test
    void successfulDialsOfTheProxyDoNotBringAnUnreadyMasterBack() throws Exception {
        TestApiServer server = server("m1");
        server.readyStatus(500);
        BackendPool pool = pool(server);
        HealthChecker checker = start(config().tls(verified()).build(), pool);
        awaitHealth(pool, "m1", Health.DOWN);
        int probes = checker.history("m1").size();

        for (int i = 0; i < 100; i++) {
            pool.connectSucceeded(pool.get("m1"));
        }

        await().atMost(DEADLINE).until(() -> checker.history("m1").size() >= probes + 3);
        assertEquals(Health.DOWN, pool.get("m1").health());
        assertTrue(checker.history("m1").stream().noneMatch(r -> r.status().ok()), checker.history("m1")::toString);
    }

    @Test
    void disabledCheckingProbesNothingAndIgnoresFailedDials() throws Exception {
        TestApiServer server = server("m1");
        BackendPool pool = pool(server);
        MeterRegistry registry = new SimpleMeterRegistry();
        HealthChecker checker = new HealthChecker(config().enabled(false).tls(verified()).build(), pool, registry);
        closer.add(checker);
        checker.start();

        pool.connectFailed(pool.get("m1"), ConnectFailure.CONNECT_REFUSED, null);
        pool.connectFailed(pool.get("m1"), ConnectFailure.CONNECT_REFUSED, null);

        await().during(Duration.ofMillis(600)).atMost(Duration.ofSeconds(2))
                .until(() -> server.accepted() == 0 && pool.get("m1").health() == Health.UNKNOWN);
        assertNull(checker.last("m1"));
        assertTrue(pool.snapshot().routable().backends().contains(pool.get("m1")));
    }

    @Test
    void backendsChangedKeepsTheSessionsOfBackendsThatRemain() throws Exception {
        TestApiServer server = server("m1");
        BackendPool pool = pool(server);
        HealthChecker checker = start(config().tls(verified()).build(), pool);
        await().atMost(DEADLINE).until(() -> checker.history("m1").size() >= 2);
        CheckResult first = checker.history("m1").get(0);

        checker.backendsChanged();

        await().atMost(DEADLINE).until(() -> checker.history("m1").size() >= 4);
        assertEquals(first, checker.history("m1").get(0), "history survives: same session");
    }

    /**
     * Waits until {@code name} is DOWN and the verdict has been carried out. DOWN is visible before
     * the pool closes (or keeps) the connections, so seeing it proves nothing about them yet; but
     * a session records its results one at a time on one thread, so once a result newer than the
     * one that took the backend DOWN is recorded, that verdict, closing included, is complete.
     */
    private static void awaitDownApplied(HealthChecker checker, BackendPool pool, String name) {
        awaitHealth(pool, name, Health.DOWN);
        CheckResult atDown = checker.last(name);
        await().atMost(DEADLINE).until(() -> checker.last(name) != atDown);
    }

    private FakeConnection upWithConnection(BackendPool pool, String name) {
        awaitHealth(pool, name, Health.UP);
        FakeConnection conn = new FakeConnection();
        pool.get(name).connections().register(conn);
        return conn;
    }

    private HealthChecker start(HealthConfig config, BackendPool pool) throws Exception {
        HealthChecker checker = new HealthChecker(config, pool, new SimpleMeterRegistry());
        closer.add(checker);
        checker.start();
        return checker;
    }

    private TestApiServer server(String name) {
        TestApiServer s = TestApiServer.start(name);
        closer.add(s);
        return s;
    }

    private TlsConfig verified() {
        return tls(TestPki.writeCa(TestPki.ca(), dir, "ca.crt"), null);
    }


    /** Stands in for a relayed client connection: records how it was asked to close. */
    private static final class FakeConnection implements ProxiedConnection {
        final List<Termination> closedWith = new CopyOnWriteArrayList<>();

        @Override
        public void close(Termination why) {
            closedWith.add(why);
        }

        @Override
        public void closeIf(java.util.function.Predicate<ProxiedConnection> stillTrue, Termination why) {
            if (stillTrue.test(this)) {
                close(why);
            }
        }

        @Override
        public long establishedAtNanos() {
            return 0;
        }

        @Override
        public long lastClientByteNanos() {
            return 0;
        }

        @Override
        public long lastBackendByteNanos() {
            return 0;
        }

        @Override
        public boolean backlogged() {
            return false;
        }
    }
}
