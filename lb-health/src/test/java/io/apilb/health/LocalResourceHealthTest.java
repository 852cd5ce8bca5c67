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
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.ChannelException;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
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
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
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
                Arguments.of(
                        new ChannelException("Failed to open a socket.", new SocketException("Too many open files")),
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

    @Test
    void probeWhoseSocketCannotBeMadeReportsL4resOnTheProbersLoop() throws Exception {
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        try {
            EventLoop loop = group.next();
            List<CheckResult> results = new CopyOnWriteArrayList<>();
            List<Boolean> onLoop = new CopyOnWriteArrayList<>();
            ProbeSettings settings = new ProbeSettings(HealthMode.TCP, "/readyz", Set.of(200), 1000, 0, null, false,
                    null);
            loop.execute(() -> {
                ProbeAttempt attempt = new ProbeAttempt(settings, "127.0.0.1:6443", "apilb-health", loop, r -> {
                    onLoop.add(loop.inEventLoop());
                    results.add(r);
                });
                // As the bootstrap fails when the process is out of descriptors: no channel is registered.
                ChannelFuture connect = new Bootstrap().group(loop)
                        .channelFactory(() -> {
                            throw new ChannelException("Failed to open a socket.",
                                    new SocketException("Too many open files"));
                        })
                        .handler(new ChannelInboundHandlerAdapter())
                        .connect("127.0.0.1", 6443);
                attempt.started(connect);
            });
            await().atMost(DEADLINE).until(() -> results.size() == 1);
            assertEquals(CheckStatus.L4RES, results.get(0).status());
            assertEquals(List.of(true), onLoop);
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
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
                    Duration.ofSeconds(1), 2, 2, metrics, new VerdictPublisher(pool, OnDown.CLOSE, true, metrics), null);
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
        // A long interval: nothing but the dials below is added to the history. Rise 1 and a generous
        // timeout: a first probe slowed by a busy machine does not keep the master DOWN for two intervals.
        HealthChecker checker = new HealthChecker(config().tls(tls(TestPki.writeCa(TestPki.ca(), dir, "ca.crt"), null))
                .interval(Duration.ofSeconds(5)).timeout(Duration.ofSeconds(2)).rise(1).build(), pool,
                new SimpleMeterRegistry());
        closer.add(checker);
        checker.start();
        awaitHealth(pool, "m1", Health.UP);
        Backend b = pool.get("m1");
        int before = checker.history("m1").size();

        // As the proxy reports them: classified with ConnectFailure.of, handed to the pool.
        for (Throwable local : Arrays.asList(new IOException("Too many open files"),
                new ConnectException("connect(..) failed: Cannot assign requested address"))) {
            pool.connectFailed(b, ConnectFailure.of(local), local);
        }
        Throwable refused = new ConnectException("Connection refused");
        pool.connectFailed(b, ConnectFailure.of(refused), refused);

        String refusedError = "proxy connect: connect_refused (Connection refused)";
        await().atMost(DEADLINE).until(() -> checker.history("m1").stream()
                .anyMatch(r -> refusedError.equals(r.error())));
        List<CheckResult> since = checker.history("m1").subList(before, checker.history("m1").size());
        assertTrue(since.stream().noneMatch(r -> r.error() != null && r.error().contains("local_resource")),
                since::toString);
        assertEquals(Health.UP, b.health(), "one failure of fall=2");
    }

    /** As Netty annotates a failed NIO connect with its target. */
    private static SocketException annotated(SocketException cause) {
        SocketException e = new SocketException(cause.getMessage() + ": /127.0.0.1:6443");
        e.initCause(cause);
        return e;
    }
}
