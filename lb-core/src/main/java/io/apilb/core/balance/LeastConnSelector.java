package io.apilb.core.balance;

import io.apilb.core.backend.Backend;

import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Fewest active connections per unit of weight. The scan starts at a rotating offset so that equal
 * scores (an idle pool, or a burst after a restart) spread instead of piling on the first backend.
 */
final class LeastConnSelector implements Selector {
    private final AtomicInteger offset = new AtomicInteger();

    @Override
    public Backend select(List<Backend> candidates, Set<Backend> exclude) {
        int n = candidates.size();
        if (n == 0) {
            return null;
        }
        int start = Math.floorMod(offset.getAndIncrement(), n);
        Backend best = null;
        long bestActive = 0;
        int bestWeight = 1;
        for (int i = 0; i < n; i++) {
            Backend b = candidates.get((start + i) % n);
            int w = b.weight();
            if (w == 0 || exclude.contains(b)) {
                continue;
            }
            long active = b.stats().active();
            // active/w < bestActive/bestWeight, without division.
            if (best == null || active * bestWeight < bestActive * w) {
                best = b;
                bestActive = active;
                bestWeight = w;
            }
        }
        return best;
    }
}
