package io.apilb.core.balance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.apilb.core.backend.Backend;
import io.apilb.core.backend.BackendPool;
import io.apilb.core.backend.Health;
import io.apilb.core.config.BackendConfig;
import io.apilb.core.config.BalancePolicy;
import io.apilb.core.config.HostPort;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/** A returning master's share of new connections follows its slow-start ramp, in every policy. */
class SlowStartSelectionTest {
    private static final Duration WINDOW = Duration.ofSeconds(30);
    private static final int PICKS = 3000;

    private final AtomicLong clock = new AtomicLong(1_000_000_000L);

    private BackendPool returningMaster() {
        List<BackendConfig> configs = new ArrayList<>();
        for (int i = 1; i <= 3; i++) {
            configs.add(new BackendConfig("m" + i, new HostPort("10.0.0." + i, 6443), 1));
        }
        BackendPool pool = new BackendPool(configs, clock::get);
        pool.setSlowStart(WINDOW);
        for (Backend b : pool.all()) {
            pool.setHealth(b, Health.UP, null);
        }
        pool.setHealth(pool.get("m3"), Health.DOWN, null);
        pool.setHealth(pool.get("m3"), Health.UP, null);
        return pool;
    }

    static Stream<Arguments> ramp() {
        List<Arguments> rows = new ArrayList<>();
        for (BalancePolicy policy : BalancePolicy.values()) {
            // Random draws: a few percent of noise on 3,000 picks.
            double tolerance = policy == BalancePolicy.RANDOM ? 0.03 : 0.01;
            for (int seconds : new int[] {0, 10, 20, 30}) {
                double factor = 0.1 + 0.9 * Math.min(1, seconds / 30.0);
                rows.add(Arguments.of(policy, seconds, factor / (2 + factor), tolerance));
            }
        }
        return rows.stream();
    }

    @ParameterizedTest(name = "{0} at {1} s")
    @MethodSource("ramp")
    void returningMasterShareRisesWithTheRamp(BalancePolicy policy, int seconds, double expectedShare,
                                              double tolerance) {
        BackendPool pool = returningMaster();
        clock.addAndGet(Duration.ofSeconds(seconds).toNanos());
        pool.refreshSlowStart();
        Selector selector = Selector.of(policy);
        int onM3 = 0;
        for (int i = 0; i < PICKS; i++) {
            Backend b = selector.select(pool.snapshot().routable(), Set.of());
            // leastconn and random balance by live connections: hold each pick open.
            b.connections().dialStarted();
            if (b.name().equals("m3")) {
                onM3++;
            }
        }
        assertEquals(expectedShare, onM3 / (double) PICKS, tolerance, "m3's share of " + PICKS + " picks");
    }

    @Test
    void firstVerdictAfterStartStartsNoRamp() {
        BackendPool pool = new BackendPool(List.of(new BackendConfig("m1", new HostPort("10.0.0.1", 6443), 1)),
                clock::get);
        pool.setSlowStart(WINDOW);
        pool.setHealth(pool.get("m1"), Health.UP, null);
        assertNull(pool.snapshot().ramp(pool.get("m1")));
    }

    @Test
    void rampEndsAfterTheWindowAndPublishesTheConfiguredWeights() {
        BackendPool pool = returningMaster();
        Backend m3 = pool.get("m3");
        clock.addAndGet(WINDOW.toNanos() / 2);
        pool.refreshSlowStart();
        assertNotNull(pool.snapshot().ramp(m3));
        assertEquals(0.55, pool.snapshot().ramp(m3).factor(), 1e-9);
        clock.addAndGet(WINDOW.toNanos() / 2);
        pool.refreshSlowStart();
        assertNull(pool.snapshot().ramp(m3));
        assertEquals(1, pool.snapshot().routable().weight(2));
        assertEquals(3, pool.snapshot().routable().totalWeight());
    }
}
