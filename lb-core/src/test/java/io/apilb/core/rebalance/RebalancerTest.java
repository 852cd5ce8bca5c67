package io.apilb.core.rebalance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.apilb.core.backend.AdminState;
import io.apilb.core.backend.Backend;
import io.apilb.core.backend.BackendPool;
import io.apilb.core.backend.Health;
import io.apilb.core.backend.Termination;
import io.apilb.core.config.BackendConfig;
import io.apilb.core.config.HostPort;
import io.apilb.core.config.RebalanceConfig;
import io.apilb.core.testing.FakeConnection;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/** The rebalancer's choices, with a fake clock and connections that only say how old and quiet they are. */
class RebalancerTest {
    private static final long SECOND = 1_000_000_000L;
    private static final RebalanceConfig ON = new RebalanceConfig(true, 1, Duration.ofSeconds(30),
            Duration.ofSeconds(1), 0.2);

    private final AtomicLong clock = new AtomicLong(1000 * SECOND);
    private final List<FakeConnection> all = new ArrayList<>();
    private final List<Long> closedAt = new ArrayList<>();
    private Runnable beforeEachTick = () -> { };
    private BackendPool pool;
    private Rebalancer rebalancer;

    private void masters(int... weights) {
        List<BackendConfig> configs = new ArrayList<>();
        for (int i = 0; i < weights.length; i++) {
            configs.add(new BackendConfig("m" + (i + 1), new HostPort("10.0.0." + (i + 1), 6443), weights[i]));
        }
        pool = new BackendPool(configs, clock::get);
        for (Backend b : pool.all()) {
            pool.setHealth(b, Health.UP, null);
        }
        rebalancer = new Rebalancer(pool, clock::get);
        rebalancer.configure(Duration.ZERO, ON);
    }

    /** {@code n} connections on {@code master}, established {@code ageSeconds} ago and silent since. */
    private List<FakeConnection> open(String master, int n, long ageSeconds) {
        List<FakeConnection> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            FakeConnection c = new FakeConnection(clock.get() - ageSeconds * SECOND - i);
            assertNull(pool.get(master).connections().register(c));
            out.add(c);
            all.add(c);
        }
        return out;
    }

    private int count(String master) {
        return pool.get(master).connections().active();
    }

    /** Runs ticks for {@code seconds} of fake time; a closed connection leaves its master, as the proxy does. */
    private void run(double seconds, String reconnectTo) {
        long end = clock.get() + (long) (seconds * SECOND);
        while (clock.get() < end) {
            beforeEachTick.run();
            long before = rebalancer.closes();
            rebalancer.tick();
            if (rebalancer.closes() > before) {
                closedAt.add(clock.get());
            }
            for (Backend b : pool.all()) {
                for (var c : List.copyOf(b.connections().live())) {
                    if (((FakeConnection) c).closedWith() != null) {
                        b.connections().unregister(c);
                        if (reconnectTo != null) {
                            open(reconnectTo, 1, 0);
                        }
                    }
                }
            }
            clock.addAndGet(Rebalancer.TICK_MILLIS * 1_000_000);
        }
    }

    private long rebalanced(List<FakeConnection> connections) {
        return connections.stream().filter(c -> c.closedWith() == Termination.REBALANCE).count();
    }

    @Test
    void closesOnlyOldQuietConnectionsOnTheOverloadedMaster() {
        masters(1, 1, 1);
        long now = clock.get();
        FakeConnection young = open("m1", 1, 10).get(0);
        FakeConnection clientTalking = open("m1", 1, 100).get(0).clientSentAt(now - SECOND / 2);
        FakeConnection masterStreaming = open("m1", 1, 100).get(0).backendSentAt(now - SECOND / 100);
        FakeConnection backlogged = open("m1", 1, 100).get(0).backlogged(true);
        FakeConnection quietOld = open("m1", 1, 60).get(0).backendSentAt(now - SECOND / 10);
        FakeConnection quietOlder = open("m1", 1, 90).get(0);
        List<FakeConnection> others = new ArrayList<>(open("m2", 2, 100));
        beforeEachTick = () -> {
            clientTalking.clientSentAt(clock.get() - SECOND / 2);
            masterStreaming.backendSentAt(clock.get() - SECOND / 100);
        };

        run(10, null);

        assertEquals(Termination.REBALANCE, quietOlder.closedWith(), "oldest quiet first");
        assertEquals(Termination.REBALANCE, quietOld.closedWith());
        for (FakeConnection busy : List.of(young, clientTalking, masterStreaming, backlogged)) {
            assertNull(busy.closedWith());
        }
        others.forEach(c -> assertNull(c.closedWith(), "m2 is not over its share"));
    }

    @Test
    void sparesAConnectionThatTurnsBusyBeforeItsOwnThreadClosesIt() {
        masters(1, 1);
        List<FakeConnection> conns = open("m1", 4, 100);
        for (FakeConnection c : conns) {
            c.beforeCheck(() -> c.backendSentAt(clock.get()));
        }
        run(5, null);
        assertEquals(0, rebalanced(conns));
        assertEquals(0, rebalancer.closes());
    }

    @Test
    void neverClosesFasterThanMaxClosesPerSecond() {
        masters(1, 1);
        rebalancer.configure(Duration.ZERO, new RebalanceConfig(true, 2, Duration.ofSeconds(30),
                Duration.ofSeconds(1), 0.2));
        List<FakeConnection> conns = open("m1", 40, 100);
        run(10, null);
        assertEquals(20, rebalanced(conns));
        assertEquals(20, closedAt.size(), "2 per second over 10 s");
        for (int i = 1; i < closedAt.size(); i++) {
            assertTrue(closedAt.get(i) - closedAt.get(i - 1) >= SECOND / 2, "closes " + closedAt);
        }
        assertEquals(20, rebalancer.closes());
    }

    @Test
    void stopsOnceTheSpreadIsWithinTolerance() {
        masters(1, 1, 1);
        open("m1", 12, 100);
        open("m2", 12, 100);

        run(30, "m3");

        // Fair share 8 each; 9 is within 20 % of it.
        assertEquals(9, count("m1"));
        assertEquals(9, count("m2"));
        assertEquals(6, count("m3"));
        assertEquals(6, rebalancer.closes());
        assertTrue(rebalancer.spread() <= 0.2, "spread " + rebalancer.spread());
    }

    @Test
    void followsWeights() {
        masters(2, 1);
        List<FakeConnection> heavy = open("m1", 16, 100);
        List<FakeConnection> light = open("m2", 8, 100);
        run(10, null);
        assertEquals(0, rebalanced(heavy) + rebalanced(light), "16:8 is the fair share of weights 2:1");

        List<FakeConnection> more = open("m2", 8, 100);
        run(1.5, null);
        assertEquals(0, rebalanced(heavy), "m1 is under its share");
        assertEquals(2, rebalanced(light) + rebalanced(more), "m2 carries 16 of a fair 10.7");
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = AdminState.class, names = {"DRAIN", "MAINT"})
    void leavesMastersThatAreNotReadyAlone(AdminState state) {
        masters(1, 1, 1);
        List<FakeConnection> conns = open("m1", 20, 100);
        pool.setAdminState(pool.get("m1"), state);
        run(10, null);
        assertEquals(0, rebalanced(conns));
        assertEquals(0, rebalancer.closes());
    }

    @Test
    void leavesMastersThatAreNotUpAlone() {
        masters(1, 1, 1);
        List<FakeConnection> conns = open("m1", 20, 100);
        pool.setHealth(pool.get("m1"), Health.DOWN, null);
        run(10, null);
        assertEquals(0, rebalanced(conns));

        pool.setHealth(pool.get("m1"), Health.UP, null);
        pool.setHealth(pool.get("m2"), Health.DOWN, null);
        pool.setAdminState(pool.get("m3"), AdminState.MAINT);
        run(10, null);
        assertEquals(0, rebalanced(conns), "no other master is UP and READY to take them");
    }

    @Test
    void doesNothingWithinTolerance() {
        masters(1, 1, 1);
        List<FakeConnection> conns = new ArrayList<>(open("m1", 9, 100));
        conns.addAll(open("m2", 8, 100));
        conns.addAll(open("m3", 7, 100));
        run(10, null);
        assertEquals(0, rebalanced(conns));
        assertEquals(0.125, rebalancer.spread(), 1e-9);
    }

    @Test
    void aimsAtTheSlowStartTargetWhileTheRampRuns() {
        masters(1, 1, 1);
        rebalancer.configure(Duration.ofSeconds(60), ON);
        open("m1", 12, 100);
        open("m2", 12, 100);
        pool.setHealth(pool.get("m3"), Health.DOWN, null);
        pool.setHealth(pool.get("m3"), Health.UP, null);

        run(3, "m3");
        assertEquals(0, rebalancer.closes(), "at 10 % of its weight m3's fair share is about 1 of 24");

        run(60, "m3");
        assertEquals(6, count("m3"), "after the ramp, the full share");
    }

    @Test
    void passOnDemandRunsUntilBalancedThenStops() {
        masters(1, 1, 1);
        rebalancer.configure(Duration.ZERO, new RebalanceConfig(false, 1, Duration.ofSeconds(30),
                Duration.ofSeconds(1), 0.2));
        open("m1", 12, 100);
        open("m2", 12, 100);
        run(5, "m3");
        assertEquals(0, rebalancer.closes(), "off until asked");

        assertEquals(Rebalancer.PassState.STARTED, rebalancer.requestPass());
        assertEquals(Rebalancer.PassState.RUNNING, rebalancer.requestPass());
        run(30, "m3");
        assertEquals(6, rebalancer.closes());
        assertEquals(false, rebalancer.passRunning());
        assertEquals(Rebalancer.PassState.BALANCED, rebalancer.requestPass());
        assertNotEquals(0, count("m3"));
    }
}
