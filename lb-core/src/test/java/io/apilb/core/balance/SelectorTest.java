package io.apilb.core.balance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.apilb.core.backend.AdminState;
import io.apilb.core.backend.Backend;
import io.apilb.core.backend.BackendPool;
import io.apilb.core.backend.Health;
import io.apilb.core.config.BackendConfig;
import io.apilb.core.config.BalancePolicy;
import io.apilb.core.config.HostPort;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

class SelectorTest {

    private static BackendPool pool(int... weights) {
        List<BackendConfig> configs = new ArrayList<>();
        for (int i = 0; i < weights.length; i++) {
            configs.add(new BackendConfig("m" + (i + 1), new HostPort("10.0.0." + (i + 1), 6443), weights[i]));
        }
        return new BackendPool(configs);
    }

    private static Map<String, Integer> pick(Selector s, BackendPool pool, int times, boolean holdConnections) {
        Map<String, Integer> counts = new HashMap<>();
        for (int i = 0; i < times; i++) {
            Backend b = s.select(pool.snapshot().routable(), Set.of());
            counts.merge(b.name(), 1, Integer::sum);
            if (holdConnections) {
                b.stats().connectionOpened();
            }
        }
        return counts;
    }

    static Stream<Arguments> weightedShares() {
        return Stream.of(
                Arguments.of(BalancePolicy.ROUNDROBIN, new int[] {1, 1, 1}, 300, 0.0),
                Arguments.of(BalancePolicy.ROUNDROBIN, new int[] {1, 2, 3}, 600, 0.0),
                Arguments.of(BalancePolicy.LEASTCONN, new int[] {1, 1, 1}, 300, 0.0),
                Arguments.of(BalancePolicy.LEASTCONN, new int[] {1, 2, 1}, 400, 0.01),
                Arguments.of(BalancePolicy.RANDOM, new int[] {1, 1, 1}, 3000, 0.05),
                Arguments.of(BalancePolicy.RANDOM, new int[] {1, 3, 1}, 5000, 0.05));
    }

    /** Each backend's share of picks matches its share of the total weight. */
    @ParameterizedTest(name = "{0} weights {1}")
    @MethodSource("weightedShares")
    void spreadsInProportionToWeight(BalancePolicy policy, int[] weights, int picks, double tolerance) {
        BackendPool pool = pool(weights);
        // leastconn and random balance by live connections: hold each picked connection open.
        Map<String, Integer> counts = pick(Selector.of(policy), pool, picks, policy != BalancePolicy.ROUNDROBIN);
        int total = 0;
        for (int w : weights) {
            total += w;
        }
        for (int i = 0; i < weights.length; i++) {
            double expected = (double) weights[i] / total;
            double actual = counts.getOrDefault("m" + (i + 1), 0) / (double) picks;
            assertEquals(expected, actual, tolerance + 1e-9, "share of m" + (i + 1) + " in " + counts);
        }
    }

    @Test
    void roundRobinInterleavesWeights() {
        Backend[] wheel = RoundRobinSelector.unroll(pool(2, 1).snapshot().routable());
        List<String> names = new ArrayList<>();
        for (Backend b : wheel) {
            names.add(b.name());
        }
        assertEquals(List.of("m1", "m2", "m1"), names);
    }

    @ParameterizedTest
    @EnumSource(BalancePolicy.class)
    void neverPicksDrainedMaintOrDownBackends(BalancePolicy policy) {
        BackendPool pool = pool(1, 1, 1, 1);
        pool.setAdminState(pool.get("m1"), AdminState.DRAIN);
        pool.setAdminState(pool.get("m2"), AdminState.MAINT);
        pool.setHealth(pool.get("m3"), Health.DOWN, null);
        Map<String, Integer> counts = pick(Selector.of(policy), pool, 200, false);
        assertEquals(Map.of("m4", 200), counts);
    }

    @ParameterizedTest
    @EnumSource(BalancePolicy.class)
    void skipsExcludedAndReturnsNullWhenAllExcluded(BalancePolicy policy) {
        BackendPool pool = pool(1, 1);
        Selector s = Selector.of(policy);
        List<Backend> routable = pool.snapshot().routable();
        for (int i = 0; i < 20; i++) {
            assertEquals("m2", s.select(routable, Set.of(pool.get("m1"))).name());
        }
        assertNull(s.select(routable, Set.copyOf(routable)));
        assertNull(s.select(List.of(), Set.of()));
    }

    @ParameterizedTest
    @EnumSource(BalancePolicy.class)
    void weightZeroIsNeverPicked(BalancePolicy policy) {
        BackendPool pool = pool(0, 1);
        assertTrue(pool.snapshot().routable().stream().noneMatch(b -> b.name().equals("m1")));
        assertEquals(Map.of("m2", 50), pick(Selector.of(policy), pool, 50, false));
    }

    @Test
    void leastConnPrefersTheEmptiestBackend() {
        BackendPool pool = pool(1, 1, 1);
        for (int i = 0; i < 5; i++) {
            pool.get("m1").stats().connectionOpened();
            pool.get("m3").stats().connectionOpened();
        }
        assertEquals("m2", Selector.leastConn().select(pool.snapshot().routable(), Set.of()).name());
    }
}
