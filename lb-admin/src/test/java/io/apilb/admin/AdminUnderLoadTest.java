package io.apilb.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.apilb.core.backend.AdminState;
import io.apilb.core.backend.BackendPool;
import io.apilb.core.config.AdminConfig;
import io.apilb.core.config.HostPort;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.http.HttpResponse;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The admin port under pressure: a flood of slow clients, each cut off at {@code admin.requestTimeout}
 * however it trickles, with connections over {@code admin.maxConnections} closed at once; a burst of
 * scrapes during a slow reload. Meanwhile the clients that matter (health checks, scrapes, an
 * operator's change) are answered. The figures are printed for the record.
 */
class AdminUnderLoadTest {
    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(3);
    private static final int MAX_CONNECTIONS = 256;
    private static final int SLOW_CLIENTS = 1_000;
    private static final long TRICKLE_EVERY_MS = 500;
    private static final int SCRAPES = 50;
    private static final String DRAIN = "{\"state\":\"drain\"}";
    // Long enough for any header a client sends byte by byte, never complete.
    private static final byte[] TRICKLE = ("GET /api/v1/backends HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
            + "s".repeat(200)).getBytes(StandardCharsets.ISO_8859_1);

    private AdminFixture admin;
    private long connectMs;
    private final ExecutorService calls = Executors.newSingleThreadExecutor();

    @AfterEach
    void close() {
        calls.shutdownNow();
        if (admin != null) {
            admin.close();
        }
    }

    /** One trickling client and what happened to it. */
    private static final class Slow {
        final SocketChannel channel;
        final long firstByteAt;
        SelectionKey key;
        int sent = 1;
        long closedAt;
        final StringBuilder received = new StringBuilder();

        Slow(SocketChannel channel, long firstByteAt) {
            this.channel = channel;
            this.firstByteAt = firstByteAt;
        }
    }

    private record Calls(List<Long> healthzMs, List<Long> metricsMs, long drainMs, long doneAt) {
    }

    @Test
    void slowClientsAreCutOffAtTheRequestTimeoutAndOverTheCapWhileHealthzMetricsAndDrainAnswer() throws Exception {
        admin = new AdminFixture(new AdminConfig(true, new HostPort("127.0.0.1", 0), null, null, REQUEST_TIMEOUT,
                MAX_CONNECTIONS), AdminFixture.defaultPool(), null);
        // Keepalived's check, Prometheus and the operator hold their connections from before the flood.
        RawHttp healthz = new RawHttp(admin.address);
        RawHttp metrics = new RawHttp(admin.address);
        RawHttp operator = new RawHttp(admin.address);
        // They have been polling for a while: their first call here is not the server's first ever.
        timed(healthz, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", "\"status\":\"ok\"");
        timed(metrics, "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", "apilb_backend_up");
        List<Slow> slow = new ArrayList<>();
        try (Selector selector = Selector.open()) {
            for (int i = 0; i < SLOW_CLIENTS; i++) {
                SocketChannel ch = SocketChannel.open();
                ch.setOption(StandardSocketOptions.SO_LINGER, 0);
                ch.connect(admin.address);
                Slow s = new Slow(ch, System.nanoTime());
                try {
                    ch.write(ByteBuffer.wrap(TRICKLE, 0, 1));
                } catch (IOException e) {
                    s.closedAt = System.nanoTime();
                }
                ch.configureBlocking(false);
                s.key = ch.register(selector, SelectionKey.OP_READ, s);
                slow.add(s);
                // Closes are seen as they happen, not once every client is connected.
                poll(selector, 0);
            }
            connectMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - slow.get(0).firstByteAt);
            CompletableFuture<Calls> answered = CompletableFuture.supplyAsync(
                    () -> callsDuringTheFlood(healthz, metrics, operator), calls);

            long end = System.nanoTime() + REQUEST_TIMEOUT.multipliedBy(3).toNanos();
            long nextTrickle = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(TRICKLE_EVERY_MS);
            while (System.nanoTime() < end && slow.stream().anyMatch(s -> s.closedAt == 0)) {
                poll(selector, 50);
                if (System.nanoTime() >= nextTrickle) {
                    nextTrickle += TimeUnit.MILLISECONDS.toNanos(TRICKLE_EVERY_MS);
                    for (Slow s : slow) {
                        trickle(s);
                    }
                }
            }
            Calls done = answered.get(30, TimeUnit.SECONDS);
            report(slow, done);
            check(slow, done);
        } finally {
            for (Slow s : slow) {
                s.channel.close();
            }
            healthz.close();
            metrics.close();
            operator.close();
        }
    }

    /** 20 {@code /healthz} and 20 {@code /metrics} calls, then a drain, while the flood goes on. */
    private Calls callsDuringTheFlood(RawHttp healthz, RawHttp metrics, RawHttp operator) {
        try {
            List<Long> healthzMs = new ArrayList<>();
            List<Long> metricsMs = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                healthzMs.add(timed(healthz, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", "\"status\":\"ok\""));
                metricsMs.add(timed(metrics, "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", "apilb_backend_up"));
            }
            long drainMs = timed(operator, "PUT /api/v1/backends/master1/state HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    + "Content-Length: " + DRAIN.length() + "\r\n\r\n" + DRAIN, "\"state\":\"drain\"");
            return new Calls(healthzMs, metricsMs, drainMs, System.nanoTime());
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static long timed(RawHttp http, String request, String expected) throws IOException {
        long start = System.nanoTime();
        http.write(request);
        RawHttp.Reply reply = http.read();
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertEquals(200, reply.status(), reply.body());
        assertTrue(reply.body().contains(expected), reply.body());
        return ms;
    }

    private static void poll(Selector selector, long waitMs) throws IOException {
        if (waitMs == 0) {
            selector.selectNow();
        } else {
            selector.select(waitMs);
        }
        for (SelectionKey key : selector.selectedKeys()) {
            read((Slow) key.attachment(), key);
        }
        selector.selectedKeys().clear();
    }

    private static void read(Slow s, SelectionKey key) {
        ByteBuffer buf = ByteBuffer.allocate(1024);
        try {
            int n = s.channel.read(buf);
            if (n > 0) {
                s.received.append(new String(buf.array(), 0, n, StandardCharsets.ISO_8859_1));
                return;
            }
            if (n == 0) {
                return;
            }
        } catch (IOException e) {
            // A reset counts as closed as well.
        }
        closed(s, key);
    }

    private static void trickle(Slow s) {
        if (s.closedAt != 0) {
            return;
        }
        try {
            s.channel.write(ByteBuffer.wrap(TRICKLE, s.sent % TRICKLE.length, 1));
            s.sent++;
        } catch (IOException e) {
            closed(s, s.key);
        }
    }

    private static void closed(Slow s, SelectionKey key) {
        if (s.closedAt == 0) {
            s.closedAt = System.nanoTime();
        }
        if (key != null) {
            key.cancel();
        }
    }

    private static boolean timedOut(Slow s) {
        return s.received.toString().startsWith("HTTP/1.1 408 ");
    }

    private static long lifeMs(Slow s) {
        return TimeUnit.NANOSECONDS.toMillis(s.closedAt - s.firstByteAt);
    }

    private void report(List<Slow> slow, Calls calls) {
        List<Long> cutOff = new ArrayList<>();
        List<Long> refused = new ArrayList<>();
        for (Slow s : slow) {
            if (s.closedAt != 0) {
                (timedOut(s) ? cutOff : refused).add(lifeMs(s));
            }
        }
        System.out.printf("admin flood: %d slow clients, requestTimeout %d ms, maxConnections %d (3 held by the"
                        + " callers)%n", slow.size(), REQUEST_TIMEOUT.toMillis(), MAX_CONNECTIONS);
        System.out.printf("  all connected and sending within %d ms%n", connectMs);
        System.out.printf("  cut off with 408: %d, after their first byte %s ms%n", cutOff.size(), spread(cutOff));
        System.out.printf("  closed over the cap: %d, after %s ms%n", refused.size(), spread(refused));
        System.out.printf("  still open at the end: %d%n", slow.stream().filter(s -> s.closedAt == 0).count());
        System.out.printf("  /healthz x20: %s ms; /metrics x20: %s ms; drain: %d ms%n",
                spread(calls.healthzMs()), spread(calls.metricsMs()), calls.drainMs());
    }

    private static String spread(List<Long> ms) {
        if (ms.isEmpty()) {
            return "-";
        }
        List<Long> sorted = new ArrayList<>(ms);
        Collections.sort(sorted);
        return "min " + sorted.get(0) + " / median " + sorted.get(sorted.size() / 2) + " / max "
                + sorted.get(sorted.size() - 1);
    }

    private void check(List<Slow> slow, Calls calls) {
        int held = MAX_CONNECTIONS - 3;
        for (int i = 0; i < slow.size(); i++) {
            Slow s = slow.get(i);
            assertTrue(s.closedAt != 0, "slow client " + i + " still open after " + s.sent + " bytes");
            if (i < held) {
                assertTrue(timedOut(s), "slow client " + i + " within the cap gets a 408: " + s.received);
                assertTrue(s.received.toString().contains("\"error\""), s.received.toString());
                // Trickling went on every 500 ms: a deadline that restarted on each byte would never end.
                assertTrue(lifeMs(s) >= REQUEST_TIMEOUT.toMillis() - 100 && lifeMs(s) < REQUEST_TIMEOUT.toMillis() * 2,
                        "slow client " + i + " closed after " + lifeMs(s) + " ms");
            } else {
                assertEquals("", s.received.toString(), "slow client " + i + " over the cap is closed unanswered");
                assertTrue(lifeMs(s) < REQUEST_TIMEOUT.toMillis(), "slow client " + i + " over the cap closed after "
                        + lifeMs(s) + " ms");
            }
        }
        long firstCutOff = slow.subList(0, held).stream().mapToLong(s -> s.closedAt).min().orElseThrow();
        assertTrue(calls.doneAt() < firstCutOff, "the calls were answered while the slow clients held the port");
        for (long ms : calls.healthzMs()) {
            assertTrue(ms < 1_000, "/healthz took " + ms + " ms");
        }
        for (long ms : calls.metricsMs()) {
            assertTrue(ms < 1_000, "/metrics took " + ms + " ms");
        }
        assertEquals(AdminState.DRAIN, admin.pool.get("master1").adminState());
    }

    @Test
    void fiftyScrapesDuringASlowReloadAndAStateChangeAllAnswerAndHealthzNeverWaits() throws Exception {
        BackendPool pool = AdminFixture.defaultPool();
        CountDownLatch reloading = new CountDownLatch(1);
        CountDownLatch finishReload = new CountDownLatch(1);
        // Like the runtime's reload, which changes the backends under the pool's lock, only slower.
        Reloader slowReload = () -> {
            synchronized (pool) {
                reloading.countDown();
                assertTrue(finishReload.await(30, TimeUnit.SECONDS));
            }
            return Reloader.Result.applied();
        };
        admin = new AdminFixture(pool, null, slowReload);
        ExecutorService clients = Executors.newFixedThreadPool(SCRAPES + 2);
        AtomicBoolean watching = new AtomicBoolean(true);
        List<Long> healthzMs = Collections.synchronizedList(new ArrayList<>());
        try {
            Future<?> healthz = calls.submit(() -> {
                while (watching.get()) {
                    long start = System.nanoTime();
                    HttpResponse<String> r = admin.get("/healthz");
                    healthzMs.add(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
                    assertEquals(200, r.statusCode(), r.body());
                    Thread.sleep(20);
                }
                return null;
            });
            Future<HttpResponse<String>> reload = clients.submit(() -> admin.post("/api/v1/reload", null));
            assertTrue(reloading.await(10, TimeUnit.SECONDS));
            Future<HttpResponse<String>> change = clients.submit(
                    () -> admin.put("/api/v1/backends/master1/state", DRAIN, null));
            List<Future<HttpResponse<String>>> scrapes = new ArrayList<>();
            for (int i = 0; i < SCRAPES; i++) {
                scrapes.add(clients.submit(() -> admin.get("/metrics")));
            }
            // Every scrape is answered while the reload still holds the pool and the change waits for it.
            for (Future<HttpResponse<String>> scrape : scrapes) {
                HttpResponse<String> r = scrape.get(20, TimeUnit.SECONDS);
                assertEquals(200, r.statusCode(), r.body());
                assertTrue(r.body().contains("apilb_backend_up"));
            }
            assertFalse(change.isDone(), "the state change waits for the reload, it does not fail");

            finishReload.countDown();
            assertEquals(200, reload.get(20, TimeUnit.SECONDS).statusCode());
            HttpResponse<String> changed = change.get(20, TimeUnit.SECONDS);
            assertEquals(200, changed.statusCode(), changed.body());
            assertEquals(AdminState.DRAIN, pool.get("master1").adminState());
            watching.set(false);
            healthz.get(20, TimeUnit.SECONDS);
        } finally {
            finishReload.countDown();
            watching.set(false);
            clients.shutdownNow();
        }
        long max = healthzMs.stream().mapToLong(Long::longValue).max().orElseThrow();
        System.out.printf("%d scrapes during a reload and a state change: /healthz x%d, max %d ms%n", SCRAPES,
                healthzMs.size(), max);
        assertTrue(max < 1_000, "/healthz took " + max + " ms");
    }
}
