package io.apilb.health;

import static io.apilb.health.HealthFixtures.config;
import static io.apilb.health.HealthFixtures.pool;
import static io.apilb.health.HealthFixtures.tls;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.apilb.core.backend.BackendPool;
import io.apilb.core.backend.Health;
import io.apilb.core.config.TlsConfig;
import io.apilb.core.testing.TestApiServer;
import io.apilb.core.testing.TestPki;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/** Meters and log lines of the checker, including the all-down (fail-open) episode. */
class HealthMetricsTest {
    private static final Duration DEADLINE = Duration.ofSeconds(10);

    @TempDir
    Path dir;

    private final MeterRegistry registry = new SimpleMeterRegistry();
    private final ListAppender<ILoggingEvent> logs = new ListAppender<>();
    private final Logger verdictLog = (Logger) LoggerFactory.getLogger(VerdictPublisher.class);
    private final Logger checkerLog = (Logger) LoggerFactory.getLogger(HealthChecker.class);
    private TestApiServer m1;
    private TestApiServer m2;
    private HealthChecker checker;
    private BackendPool lastPool;

    @BeforeEach
    void setUp() {
        logs.start();
        verdictLog.addAppender(logs);
        checkerLog.addAppender(logs);
        m1 = TestApiServer.start("m1");
        m2 = TestApiServer.start("m2");
    }

    @AfterEach
    void tearDown() {
        if (checker != null) {
            checker.close();
        }
        m1.close();
        m2.close();
        verdictLog.detachAppender(logs);
        checkerLog.detachAppender(logs);
    }

    @Test
    void countsChecksDurationsVerdictsAndTransitions() throws Exception {
        m2.readyStatus(503);
        BackendPool pool = pool(m1, m2);
        start(pool, tls(TestPki.writeCa(TestPki.ca(), dir, "ca.crt"), null));

        await().atMost(DEADLINE).untilAsserted(() -> {
            assertTrue(count("m1", "L7OK") >= 2);
            assertTrue(count("m2", "L7STS") >= 2);
        });
        assertEquals(Health.UP, pool.get("m1").health());
        assertEquals(Health.DOWN, pool.get("m2").health());
        assertTrue(registry.get(HealthMetrics.CHECK_DURATION).tag("backend", "m1").timer().count() >= 2);
        assertEquals(1.0, transitions("m1", "up"));
        assertEquals(1.0, transitions("m2", "down"));
        assertEquals(0.0, allDown());
        // The verdict's meter has one owner, lb-core's BackendPoolMetrics, bound by the launcher: a
        // second registration here would race it for the same name with another meaning.
        assertNull(registry.find("apilb.backend.up").meter(), "the health checker registers no verdict meter");
        assertEquals(1, logLines(Level.INFO, "backend=m1 health UNKNOWN -> UP check=L7OK"));
        assertEquals(1, logLines(Level.WARN, "backend=m2 health UNKNOWN -> DOWN check=L7STS error=\"HTTP 503"));
    }

    @Test
    void everyBackendDownWarnsOncePerEpisodeAndSetsTheGauge() throws Exception {
        m1.readyStatus(401);
        m2.readyStatus(401);
        BackendPool pool = pool(m1, m2);
        start(pool, tls(TestPki.writeCa(TestPki.ca(), dir, "ca.crt"), null));

        await().atMost(DEADLINE).until(() -> allDown() == 1.0);
        int probes = m1.readyzRequests();
        await().atMost(DEADLINE).until(() -> m1.readyzRequests() >= probes + 4);
        assertEquals(1, logLines(Level.WARN, "every backend is DOWN"), "one WARN for the episode");

        m1.readyStatus(200);
        await().atMost(DEADLINE).until(() -> allDown() == 0.0);
        assertEquals(Health.UP, pool.get("m1").health());
        assertEquals(1, logLines(Level.INFO, "all-down episode over"));

        m1.readyStatus(401);
        await().atMost(DEADLINE).until(() -> allDown() == 1.0);
        assertEquals(2, logLines(Level.WARN, "every backend is DOWN"), "a new episode warns again");
    }

    @Test
    void insecureProbesWarnOnceAtStart() throws Exception {
        start(pool(m1, m2), new TlsConfig(null, true, null, null, null));
        await().atMost(DEADLINE).until(() -> upCount() == 2);
        assertEquals(1, logLines(Level.WARN, "health.tls.insecure"));
    }

    private long upCount() {
        return lastPool.all().stream().filter(b -> b.health() == Health.UP).count();
    }

    private void start(BackendPool pool, TlsConfig tls) throws Exception {
        lastPool = pool;
        checker = new HealthChecker(config().tls(tls).build(), pool, registry);
        checker.start();
    }

    private double count(String backend, String result) {
        var c = registry.find(HealthMetrics.CHECKS).tags("backend", backend, "result", result).counter();
        return c == null ? 0 : c.count();
    }

    private double transitions(String backend, String to) {
        return registry.get(HealthMetrics.TRANSITIONS).tags("backend", backend, "to", to).counter().count();
    }

    private double allDown() {
        return registry.get(HealthMetrics.ALL_DOWN).gauge().value();
    }

    private long logLines(Level level, String text) {
        List<ILoggingEvent> events = List.copyOf(logs.list);
        return events.stream().filter(e -> e.getLevel() == level && e.getFormattedMessage().contains(text)).count();
    }
}
