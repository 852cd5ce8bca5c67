package io.apilb.bench;

import io.apilb.core.backend.Backend;
import io.apilb.core.backend.BackendPool;
import io.apilb.core.backend.Candidates;
import io.apilb.core.backend.Health;
import io.apilb.core.balance.Selector;
import io.apilb.core.config.BackendConfig;
import io.apilb.core.config.BalancePolicy;
import io.apilb.core.config.HostPort;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Cost of choosing a backend for a new connection, per policy, over a pool of three masters.
 *
 * <p>One selector and one candidate list are shared by every benchmark thread, as they are by the
 * proxy's event loops, so the two-thread run shows what contention on the selector's shared state
 * (round-robin position, connection counts) costs; the one-thread run is the uncontended baseline.
 * The candidate list is the pool's routable snapshot, the same list object the proxy passes.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class SelectorBenchmark {

    @Param({"roundrobin", "leastconn", "random"})
    public String policy;

    /** Weights of m1, m2, m3: equal, or unequal so the weighted paths run too. */
    @Param({"1,1,1", "3,2,1"})
    public String weights;

    private Selector selector;
    private Candidates candidates;

    @Setup
    public void setUp() {
        String[] w = weights.split(",");
        List<BackendConfig> configs = new ArrayList<>();
        for (int i = 0; i < w.length; i++) {
            configs.add(new BackendConfig("m" + (i + 1), new HostPort("127.0.0.1", 6443 + i),
                    Integer.parseInt(w[i].trim())));
        }
        BackendPool pool = new BackendPool(configs);
        for (Backend b : pool.all()) {
            pool.setHealth(b, Health.UP, null);
        }
        candidates = pool.snapshot().routable();
        if (candidates.size() != configs.size()) {
            throw new IllegalStateException("routable: " + candidates.size() + " (expected: " + configs.size() + ")");
        }
        selector = Selector.of(BalancePolicy.valueOf(policy.toUpperCase(java.util.Locale.ROOT)));
    }

    @Benchmark
    @Threads(1)
    public Backend selectAlone() {
        return selector.select(candidates, Set.of());
    }

    @Benchmark
    @Threads(2)
    public Backend selectContended() {
        return selector.select(candidates, Set.of());
    }
}
