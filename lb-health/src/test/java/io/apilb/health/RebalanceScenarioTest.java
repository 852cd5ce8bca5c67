package io.apilb.health;

import static io.apilb.health.HealthFixtures.config;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.apilb.core.backend.BackendPool;
import io.apilb.core.backend.Health;
import io.apilb.core.backend.Snapshot;
import io.apilb.core.config.ApilbConfig;
import io.apilb.core.config.BalancePolicy;
import io.apilb.core.config.HealthConfig;
import io.apilb.core.config.RebalanceConfig;
import io.apilb.core.config.Timeouts;
import io.apilb.core.proxy.ProxyServer;
import io.apilb.core.rebalance.Rebalancer;
import io.apilb.core.testing.TestApiServer;
import io.apilb.core.testing.TestConfigs;
import io.apilb.core.testing.TestHttpsClient;
import io.apilb.core.testing.TestPki;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The whole story of a master restart on loopback: 24 busy watches over three TLS masters, master 3
 * restarts, its watches move to 1 and 2, and once it is UP again slow start and paced rebalancing
 * bring a fair share back to it, each client reconnecting cleanly at most twice.
 */
class RebalanceScenarioTest {
    private static final int CLIENTS = 24;
    private static final long EVENT_EVERY_MS = 250;
    private static final long KEEPALIVE_EVERY_NANOS = TimeUnit.SECONDS.toNanos(5);
    private static final Duration SLOW_START = Duration.ofSeconds(10);
    // minAge is shorter than the default 30 s so that the story fits in a test; the rest are defaults.
    private static final RebalanceConfig REBALANCE = new RebalanceConfig(true, 1, Duration.ofSeconds(5),
            Duration.ofSeconds(1), 0.2);
    private static final long TEST_LIMIT_NANOS = TimeUnit.SECONDS.toNanos(120);

    @TempDir
    Path dir;

    /** One busy watch: reads events, sends a keepalive every 5 s, reconnects after a close. */
    private static final class Watch implements Runnable {
        final int id;
        final InetSocketAddress address;
        final long startedAt = System.nanoTime();
        final AtomicInteger connects = new AtomicInteger();
        final AtomicInteger events = new AtomicInteger();
        final List<String> problems = new CopyOnWriteArrayList<>();
        final List<Long> closedAt;
        volatile String master;
        volatile boolean stop;
        volatile TestHttpsClient current;

        Watch(int id, InetSocketAddress address, List<Long> closedAt) {
            this.id = id;
            this.address = address;
            this.closedAt = closedAt;
        }

        @Override
        public void run() {
            while (!stop && System.nanoTime() - startedAt < TEST_LIMIT_NANOS) {
                try (TestHttpsClient c = TestHttpsClient.connect(address, null, null, 5_000)) {
                    current = c;
                    connects.incrementAndGet();
                    c.sendGet("/watch?everyMs=" + EVENT_EVERY_MS);
                    int status = c.readHead().status();
                    if (status != 200) {
                        problems.add("watch " + id + ": status " + status);
                        return;
                    }
                    watch(c);
                } catch (IOException e) {
                    if (!stop) {
                        problems.add("watch " + id + " on " + master + ": " + e);
                    }
                }
                master = null;
                sleep(100);
            }
        }

        /** Reads the chunked stream line by line until the connection closes. */
        private void watch(TestHttpsClient c) throws IOException {
            InputStream in = c.input();
            StringBuilder line = new StringBuilder();
            String last = "";
            long keepaliveAt = System.nanoTime() + KEEPALIVE_EVERY_NANOS;
            while (!stop) {
                if (System.nanoTime() - keepaliveAt >= 0) {
                    c.sendGet("/keepalive");
                    keepaliveAt += KEEPALIVE_EVERY_NANOS;
                }
                int b = in.read();
                if (b < 0) {
                    // Clean: the close fell after the CRLF that ends a chunk, between two events.
                    if (line.length() > 0 || !last.isEmpty()) {
                        problems.add("watch " + id + " on " + master + ": closed inside an event, after \"" + last
                                + "\" + \"" + line + "\"");
                    }
                    closedAt.add(System.nanoTime());
                    return;
                }
                if (b == '\n') {
                    last = line.toString().replace("\r", "");
                    line.setLength(0);
                    if (last.startsWith("event ")) {
                        master = last.substring(last.lastIndexOf(' ') + 1);
                        events.incrementAndGet();
                    }
                } else {
                    line.append((char) b);
                }
            }
        }
    }

    @Test
    void restartedMasterGetsItsShareBackThroughSlowStartAndPacedRebalancing() throws Exception {
        HealthConfig health = config().tls(HealthFixtures.tls(TestPki.writeCa(TestPki.ca(), dir, "ca.crt"), null))
                .interval(Duration.ofMillis(200)).timeout(Duration.ofMillis(500)).rise(2).fall(2).build();
        List<TestApiServer> masters = List.of(TestApiServer.start("m1"), TestApiServer.start("m2"),
                TestApiServer.start("m3"));
        TestConfigs builder = TestConfigs.builder().health(health).balance(BalancePolicy.LEASTCONN)
                .timeouts(Duration.ofMillis(500), Timeouts.DEFAULT_IDLE).shutdownGrace(Duration.ofSeconds(1));
        masters.forEach(builder::backend);
        ApilbConfig config = builder.build();
        BackendPool pool = new BackendPool(config.backends());
        HealthChecker checker = new HealthChecker(health, pool, new SimpleMeterRegistry());
        ProxyServer proxy = new ProxyServer(pool);
        Rebalancer rebalancer = new Rebalancer(pool);
        ExecutorService clients = Executors.newFixedThreadPool(CLIENTS);
        ScheduledExecutorService sampler = Executors.newSingleThreadScheduledExecutor();
        List<Watch> watches = new ArrayList<>();
        List<Long> closedAt = Collections.synchronizedList(new ArrayList<>());
        List<String> timeline = new CopyOnWriteArrayList<>();
        long t0 = System.nanoTime();
        try {
            proxy.start(config);
            checker.start();
            rebalancer.configure(SLOW_START, REBALANCE);
            rebalancer.start();
            await().atMost(Duration.ofSeconds(15)).until(() -> pool.all().stream().allMatch(b -> b.health() == Health.UP));

            sampler.scheduleAtFixedRate(() -> timeline.add(sample(pool, rebalancer, t0)), 0, 1, TimeUnit.SECONDS);
            for (int i = 0; i < CLIENTS; i++) {
                Watch w = new Watch(i, proxy.boundAddresses().get(0), closedAt);
                watches.add(w);
                clients.execute(w);
            }
            // Two seconds of events on every watch before the restart.
            await().atMost(Duration.ofSeconds(20)).until(() -> watches.stream().allMatch(w -> w.events.get() >= 8));
            assertEquals(List.of(8, 8, 8), counts(pool), "leastconn spreads the watches evenly");

            masters.get(2).stop();
            timeline.add(String.format(Locale.ROOT, "%5.1f s  m3 stopped", seconds(t0)));
            await().atMost(Duration.ofSeconds(20)).until(() -> counts(pool).equals(List.of(12, 12, 0))
                    && watches.stream().allMatch(w -> w.master != null && !w.master.equals("m3")));
            await().atMost(Duration.ofSeconds(10)).until(() -> pool.get("m3").health() == Health.DOWN);

            masters.get(2).start();
            await().atMost(Duration.ofSeconds(15)).until(() -> pool.get("m3").health() == Health.UP);
            long upAt = System.nanoTime();
            timeline.add(String.format(Locale.ROOT, "%5.1f s  m3 UP again", seconds(t0)));
            int closesBefore = closedAt.size();

            await().atMost(Duration.ofSeconds(60)).until(() -> counts(pool).get(2) >= 6);
            long sharedAfter = System.nanoTime() - upAt;
            // Let it settle: rebalancing stops within tolerance and nothing more moves.
            await().atMost(Duration.ofSeconds(20)).until(() -> rebalancer.spread() <= REBALANCE.tolerance()
                    && counts(pool).stream().mapToInt(Integer::intValue).sum() == CLIENTS);
            long settledCloses = rebalancer.closes();
            Thread.sleep(3_000);

            timeline.forEach(System.out::println);
            System.out.printf("m3 carried 6 watches %.1f s after it was UP again; rebalance closes %d; "
                    + "reconnects per client %s%n", sharedAfter / 1e9, rebalancer.closes(),
                    watches.stream().map(w -> w.connects.get() - 1).toList());

            assertEquals(settledCloses, rebalancer.closes(), "nothing moves once the spread is fair");
            assertTrue(masters.stream().mapToInt(TestApiServer::keepalives).sum() >= CLIENTS, "keepalives sent");
            List<String> problems = new ArrayList<>();
            watches.forEach(w -> problems.addAll(w.problems));
            assertEquals(List.of(), problems, "only clean closes between events");
            for (Watch w : watches) {
                assertTrue(w.connects.get() - 1 <= 2, "watch " + w.id + " reconnected " + (w.connects.get() - 1));
            }
            List<Long> rebalanceCloses = new ArrayList<>(closedAt.subList(closesBefore, closedAt.size()));
            Collections.sort(rebalanceCloses);
            assertEquals(rebalancer.closes(), rebalanceCloses.size(), "every close after the restart was a rebalance");
            for (int i = 1; i < rebalanceCloses.size(); i++) {
                // maxClosesPerSecond 1: no two closes within a second, allowing a little delivery jitter.
                long gapMillis = (rebalanceCloses.get(i) - rebalanceCloses.get(i - 1)) / 1_000_000;
                assertTrue(gapMillis >= 950, "closes " + gapMillis + " ms apart");
            }
        } finally {
            watches.forEach(w -> w.stop = true);
            sampler.shutdownNow();
            rebalancer.close();
            proxy.close();
            checker.close();
            clients.shutdownNow();
            masters.forEach(TestApiServer::close);
        }
    }

    private static List<Integer> counts(BackendPool pool) {
        return pool.all().stream().map(b -> b.connections().active()).toList();
    }

    private static String sample(BackendPool pool, Rebalancer rebalancer, long t0) {
        Snapshot s = pool.snapshot();
        Snapshot.Ramp ramp = s.ramp(pool.get("m3"));
        List<Integer> c = counts(pool);
        return String.format(Locale.ROOT, "%5.1f s  m1 %2d  m2 %2d  m3 %2d  spread %.2f  closes %d%s", seconds(t0),
                c.get(0), c.get(1), c.get(2), rebalancer.spread(), rebalancer.closes(),
                ramp == null ? "" : String.format(Locale.ROOT, "  m3 slow start %.0f %%", ramp.progress() * 100));
    }

    private static double seconds(long t0) {
        return (System.nanoTime() - t0) / 1e9;
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
