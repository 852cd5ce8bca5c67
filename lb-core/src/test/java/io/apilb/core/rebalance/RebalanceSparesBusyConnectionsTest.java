package io.apilb.core.rebalance;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.apilb.core.backend.AdminState;
import io.apilb.core.backend.Backend;
import io.apilb.core.backend.BackendPool;
import io.apilb.core.backend.Health;
import io.apilb.core.config.ApilbConfig;
import io.apilb.core.config.RebalanceConfig;
import io.apilb.core.proxy.ProxyServer;
import io.apilb.core.testing.TestApiServer;
import io.apilb.core.testing.TestConfigs;
import io.apilb.core.testing.TestHttpsClient;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * Rebalancing on the real proxy closes a quiet connection but never one whose client is talking or
 * whose master is streaming a response, however over-loaded their master is.
 */
class RebalanceSparesBusyConnectionsTest {
    private static final Duration DEADLINE = Duration.ofSeconds(10);
    private static final int TWO_MIB = 2 * 1024 * 1024;

    private final List<AutoCloseable> closeables = new ArrayList<>();
    private BackendPool pool;
    private Rebalancer rebalancer;
    private InetSocketAddress address;

    /** Two masters; until {@link #rebalance} every connection lands on m1, as after m2 was away. */
    private void start() {
        TestApiServer m1 = TestApiServer.start("m1");
        TestApiServer m2 = TestApiServer.start("m2");
        closeables.add(m1);
        closeables.add(m2);
        ApilbConfig config = TestConfigs.builder().backend(m1).backend(m2).build();
        pool = new BackendPool(config.backends());
        for (Backend b : pool.all()) {
            pool.setHealth(b, Health.UP, null);
        }
        pool.setAdminState(pool.get("m2"), AdminState.DRAIN);
        ProxyServer proxy = new ProxyServer(pool);
        proxy.start(config);
        closeables.add(0, proxy::close);
        address = proxy.boundAddresses().get(0);
    }

    /** Lets m2 take connections again and rebalances as fast as the settings allow. */
    private void rebalance(Duration clientQuietFor) {
        pool.setAdminState(pool.get("m2"), AdminState.READY);
        rebalancer = new Rebalancer(pool);
        rebalancer.configure(Duration.ZERO, new RebalanceConfig(true, RebalanceConfig.MAX_CLOSES_PER_SECOND,
                Duration.ZERO, clientQuietFor, 0));
        closeables.add(0, rebalancer);
        rebalancer.start();
    }

    private TestHttpsClient client() throws IOException {
        TestHttpsClient c = TestHttpsClient.connect(address);
        closeables.add(c);
        assertEquals("m1", c.get("/version").server());
        return c;
    }

    @AfterEach
    void tearDown() throws Exception {
        for (AutoCloseable c : closeables) {
            c.close();
        }
    }

    @Test
    void neverClosesAConnectionWhoseClientSentBytesWithinClientQuietFor() throws Exception {
        start();
        TestHttpsClient quiet = client();
        List<TestHttpsClient> talkers = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            talkers.add(client());
        }
        rebalance(Duration.ofSeconds(1));

        // Every talker sends a request every 300 ms for 4 s; the quiet one must go meanwhile.
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(4);
        int rounds = 0;
        while (System.nanoTime() < end) {
            for (TestHttpsClient t : talkers) {
                assertEquals(200, t.get("/version").status());
            }
            rounds++;
            Thread.sleep(300);
        }
        assertTrue(rounds >= 10, "rounds " + rounds);
        assertClosed(quiet);
        assertEquals(1, rebalancer.closes(), "only the quiet connection");
        assertEquals(4, pool.get("m1").connections().active());
    }

    @Test
    void neverClosesAConnectionWhileItsMasterStreamsAResponse() throws Exception {
        start();
        TestHttpsClient quiet = client();
        List<TestHttpsClient> readers = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            readers.add(client());
        }
        // The master produces each 2 MiB response in 8 KiB pieces 4 ms apart, about a second of
        // streaming (a response it is still encoding); the readers take it as it comes.
        ExecutorService threads = Executors.newFixedThreadPool(readers.size());
        closeables.add(threads::shutdownNow);
        CountDownLatch streaming = new CountDownLatch(readers.size());
        List<CompletableFuture<Long>> streams = new ArrayList<>();
        for (TestHttpsClient r : readers) {
            streams.add(CompletableFuture.supplyAsync(() -> readStream(r, streaming), threads));
        }
        assertTrue(streaming.await(DEADLINE.toSeconds(), TimeUnit.SECONDS));
        // The client-side rule is off: only the master's bursts protect the readers.
        rebalance(Duration.ZERO);
        assertClosed(quiet);
        for (CompletableFuture<Long> s : streams) {
            // Once a reader is done it is quiet and may go; until then it must not.
            assertEquals((long) TWO_MIB, s.get(60, TimeUnit.SECONDS), "the 2 MiB response in full");
        }
    }

    /** Reads one {@code /stream} response of 2 MiB as it comes; returns its body length. */
    private static long readStream(TestHttpsClient r, CountDownLatch streaming) {
        try {
            r.sendGet("/stream?bytes=" + TWO_MIB + "&pauseMs=4");
            TestHttpsClient.Response head = r.readHead();
            assertEquals("chunked", head.headers().get("transfer-encoding"));
            streaming.countDown();
            long total = 0;
            for (long n = chunkSize(r); n > 0; n = chunkSize(r)) {
                byte[] buf = new byte[16 * 1024];
                for (long left = n; left > 0; ) {
                    int got = r.input().read(buf, 0, (int) Math.min(buf.length, left));
                    if (got < 0) {
                        throw new IOException("closed after " + (total + n - left) + " bytes");
                    }
                    left -= got;
                }
                total += n;
                r.line();
            }
            return total;
        } catch (IOException e) {
            throw new IllegalStateException("stream cut short: " + e, e);
        }
    }

    private static long chunkSize(TestHttpsClient r) throws IOException {
        String line = r.line();
        if (line == null) {
            throw new IOException("closed between chunks");
        }
        return Long.parseLong(line.trim(), 16);
    }

    /** The client sees the end of the stream: apilb closed the connection. */
    private static void assertClosed(TestHttpsClient c) {
        await().atMost(DEADLINE).until(() -> {
            try {
                return c.input().read() < 0;
            } catch (SocketTimeoutException e) {
                return false;
            } catch (IOException e) {
                return true;
            }
        });
    }
}
