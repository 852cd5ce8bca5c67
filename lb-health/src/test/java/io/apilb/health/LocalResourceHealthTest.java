package io.apilb.health;

import static io.apilb.health.HealthFixtures.DEADLINE;
import static io.apilb.health.HealthFixtures.awaitHealth;
import static io.apilb.health.HealthFixtures.config;
import static io.apilb.health.HealthFixtures.pool;
import static io.apilb.health.HealthFixtures.tls;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.apilb.core.backend.Backend;
import io.apilb.core.backend.BackendPool;
import io.apilb.core.backend.ConnectFailure;
import io.apilb.core.backend.Health;
import io.apilb.core.config.HealthMode;
import io.apilb.core.config.OnDown;
import io.apilb.core.resource.LocalResourceError;
import io.apilb.core.resource.LocalResources;
import io.apilb.core.testing.TestApiServer;
import io.apilb.core.testing.TestPki;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.channel.ChannelException;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.unix.Errors;

import java.io.IOException;
import java.net.BindException;
import java.net.ConnectException;
import java.net.SocketException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

/** apilb's own shortages on probes and dials are counted as local and never move a master's health. */
class LocalResourceHealthTest {
    @TempDir
    Path dir;

    @AutoClose
    private final HealthFixtures.Closer closer = new HealthFixtures.Closer();

    static Stream<Arguments> probeFailures() {
        return Stream.of(
                Arguments.of(new ChannelException("Failed to open a socket.", new SocketException("Too many open files")),
                        CheckStatus.L4RES),
                Arguments.of(annotated(new BindException("Cannot assign requested address")), CheckStatus.L4RES),
                Arguments.of(new IOException("No buffer space available"), CheckStatus.L4RES),
                Arguments.of(new ConnectException("Connection refused: /127.0.0.1:6443"), CheckStatus.L4CON));
    }

    @ParameterizedTest
    @MethodSource("probeFailures")
    void probeThatCannotMakeItsSocketIsL4res(Throwable cause, CheckStatus expected) {
        assertEquals(expected, probeFailedWith(cause).status());
    }

    @Test
    void probeFailingWithANativeErrnoIsL4res() {
        assumeTrue(Epoll.isAvailable(), "the native transport does not load here");
        long before = LocalResources.process().count(LocalResourceError.EMFILE);
        CheckResult r = probeFailedWith(new ChannelException(new Errors.NativeIoException("newSocketStream", -24)));
        assertEquals(CheckStatus.L4RES, r.status());
        assertTrue(r.error().startsWith("local resource exhausted (emfile)"), r.error());
        assertEquals(before + 1, LocalResources.process().count(LocalResourceError.EMFILE));
    }

    private static CheckResult probeFailedWith(Throwable cause) {
        EmbeddedChannel ch = new EmbeddedChannel();
        try {
            List<CheckResult> results = new ArrayList<>();
            ProbeSettings settings = new ProbeSettings(HealthMode.TCP, "/readyz", Set.of(200), 1000, 0, null, false,
                    null);
            ProbeAttempt attempt = new ProbeAttempt(settings, "127.0.0.1:6443", "apilb-health", ch.eventLoop(),
                    results::add);
            attempt.started(ch.newFailedFuture(cause));
            assertEquals(1, results.size());
            return results.get(0);
        } finally {
            ch.finishAndReleaseAll();
        }
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({
            // rise 2, fall 2; the first real observation decides at once.
            "L4RES,                          UNKNOWN",
            "L4RES L4RES L7OK,               UP",
            "L7OK L4RES L4RES L4RES L4RES,   UP",
            "L7OK L7STS L4RES L4RES L4RES,   UP",
            "L7OK L7STS L4RES L7STS,         DOWN",
            "L4CON L7OK L4RES L4RES L4RES,   DOWN",
            "L4CON L7OK L4RES L7OK,          UP",
    })
    void l4resMovesNeitherRiseNorFall(String statuses, Health expected) {
        BackendPool pool = pool("m1", "127.0.0.1:6443");
        Backend m1 = pool.get("m1");
        EmbeddedChannel ch = new EmbeddedChannel();
        try {
            HealthMetrics metrics = new HealthMetrics(new SimpleMeterRegistry());
            ProbeSettings settings = new ProbeSettings(HealthMode.TCP, "/readyz", Set.of(200), 1000, 0, null, false,
                    null);
            ProbeSession session = new ProbeSession(m1, new Probe(m1, settings, ch.eventLoop(), null), ch.eventLoop(),
                    Duration.ofSeconds(1), 2, 2, metrics, new VerdictPublisher(pool, OnDown.CLOSE, true, metrics));
            for (String s : statuses.split(" ")) {
                session.observe(new CheckResult(CheckStatus.valueOf(s), Duration.ZERO, Instant.now(), 0, null));
            }
            assertEquals(expected, m1.health());
            assertEquals(statuses.split(" ").length, session.history().all().size(), "every result is in the history");
        } finally {
            ch.finishAndReleaseAll();
        }
    }

    @Test
    void localDialFailuresOfTheProxyAreNotObservations() throws Exception {
        TestApiServer server = TestApiServer.start("m1");
        closer.add(server);
        BackendPool pool = pool(server);
        // A long interval: nothing but the dials below is added to the history.
        HealthChecker checker = new HealthChecker(config().tls(tls(TestPki.writeCa(TestPki.ca(), dir, "ca.crt"), null))
                .interval(Duration.ofSeconds(5)).build(), pool, new SimpleMeterRegistry());
        closer.add(checker);
        checker.start();
        awaitHealth(pool, "m1", Health.UP);
        Backend b = pool.get("m1");

        // As the proxy reports them: classified with ConnectFailure.of, handed to the pool.
        for (Throwable local : Arrays.asList(new IOException("Too many open files"),
                new ConnectException("connect(..) failed: Cannot assign requested address"))) {
            pool.connectFailed(b, ConnectFailure.of(local), local);
        }
        Throwable refused = new ConnectException("Connection refused");
        pool.connectFailed(b, ConnectFailure.of(refused), refused);

        await().atMost(DEADLINE).until(() -> checker.history("m1").size() >= 2);
        List<CheckResult> history = checker.history("m1");
        assertEquals(2, history.size(), history::toString);
        assertEquals("proxy connect: connect_refused (Connection refused)", history.get(1).error());
        assertEquals(Health.UP, b.health(), "one failure of fall=2");
    }

    /** As Netty annotates a failed NIO connect with its target. */
    private static SocketException annotated(SocketException cause) {
        SocketException e = new SocketException(cause.getMessage() + ": /127.0.0.1:6443");
        e.initCause(cause);
        return e;
    }
}
