package io.apilb.core.balance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.apilb.core.testing.FakeConnection;
import io.apilb.core.backend.AdminState;
import io.apilb.core.backend.Backend;
import io.apilb.core.backend.BackendPool;
import io.apilb.core.backend.Candidates;
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
                b.connections().dialStarted();
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
        Candidates routable = pool.snapshot().routable();
        for (int i = 0; i < 20; i++) {
            assertEquals("m2", s.select(routable, Set.of(pool.get("m1"))).name());
        }
        assertNull(s.select(routable, Set.copyOf(routable.backends())));
        assertNull(s.select(new BackendPool(List.of()).snapshot().routable(), Set.of()));
    }

    @ParameterizedTest
    @EnumSource(BalancePolicy.class)
    void weightZeroIsNeverPicked(BalancePolicy policy) {
        BackendPool pool = pool(0, 1);
        assertTrue(pool.snapshot().routable().backends().stream().noneMatch(b -> b.name().equals("m1")));
        assertEquals(Map.of("m2", 50), pick(Selector.of(policy), pool, 50, false));
    }

    @Test
    void leastConnPrefersTheEmptiestBackend() {
        BackendPool pool = pool(1, 1, 1);
        for (int i = 0; i < 5; i++) {
            pool.get("m1").connections().dialStarted();
            pool.get("m3").connections().dialStarted();
        }
        assertEquals("m2", Selector.leastConn().select(pool.snapshot().routable(), Set.of()).name());
    }

    /**
     * A reload that changes weights publishes new candidates; one already handed to a selector
     * keeps the weights it was published with, so a choice never sees two sets of weights.
     */
    @ParameterizedTest
    @EnumSource(BalancePolicy.class)
    void candidatesKeepTheirWeightsWhileAReloadChangesThem(BalancePolicy policy) {
        BackendPool pool = pool(1, 1);
        Candidates before = pool.snapshot().routable();
        pool.reconfigure(List.of(new BackendConfig("m1", new HostPort("10.0.0.1", 6443), 0),
                new BackendConfig("m2", new HostPort("10.0.0.2", 6443), 50)));
        Selector s = Selector.of(policy);
        Map<String, Integer> counts = new HashMap<>();
        for (int i = 0; i < 400; i++) {
            counts.merge(s.select(before, Set.of()).name(), 1, Integer::sum);
        }
        assertTrue(counts.getOrDefault("m1", 0) >= 100, "old weights 1:1 still apply: " + counts);
        assertEquals(List.of("m2"), pool.snapshot().routable().backends().stream().map(Backend::name).toList(),
                "the new snapshot has the new weights");
    }

    @Test
    void leastConnCountsEstablishedConnectionsAndDialsInFlight() {
        BackendPool pool = pool(1, 1, 1);
        pool.get("m1").connections().register(new FakeConnection());
        pool.get("m1").connections().register(new FakeConnection());
        pool.get("m2").connections().dialStarted();
        pool.get("m2").connections().dialStarted();
        pool.get("m3").connections().register(new FakeConnection());
        assertEquals("m3", Selector.leastConn().select(pool.snapshot().routable(), Set.of()).name());
        pool.get("m3").connections().dialStarted();
        pool.get("m3").connections().dialStarted();
        assertTrue(Set.of("m1", "m2").contains(Selector.leastConn().select(pool.snapshot().routable(), Set.of()).name()));
    }
}
