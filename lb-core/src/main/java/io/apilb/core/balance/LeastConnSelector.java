package io.apilb.core.balance;

import io.apilb.core.backend.Backend;
import io.apilb.core.backend.Candidates;

import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Fewest connections per unit of weight ({@link Selector#load}: established plus dials in flight).
 * The scan starts at a rotating offset so that equal scores (an idle pool, or a burst after a
 * restart) spread instead of piling on the first backend.
 */
final class LeastConnSelector implements Selector {
    private final AtomicInteger offset = new AtomicInteger();

    @Override
    public Backend select(Candidates candidates, Set<Backend> exclude) {
        int n = candidates.size();
        if (n == 0) {
            return null;
        }
        int start = Math.floorMod(offset.getAndIncrement(), n);
        Backend best = null;
        long bestLoad = 0;
        int bestWeight = 1;
        for (int i = 0; i < n; i++) {
            int at = (start + i) % n;
            Backend b = candidates.get(at);
            int w = candidates.weight(at);
            if (w == 0 || exclude.contains(b)) {
                continue;
            }
            long load = Selector.load(b);
            // load/w < bestLoad/bestWeight, without division.
            if (best == null || load * bestWeight < bestLoad * w) {
                best = b;
                bestLoad = load;
                bestWeight = w;
            }
        }
        return best;
    }
}
