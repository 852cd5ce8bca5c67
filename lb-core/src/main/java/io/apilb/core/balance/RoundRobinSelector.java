package io.apilb.core.balance;

import io.apilb.core.backend.Backend;
import io.apilb.core.backend.Candidates;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Weighted round robin. For each candidate list the weights are unrolled once into a wheel with the
 * smooth interleaving of nginx's algorithm; picks then cost one atomic increment. The wheel is
 * cached by the identity of the {@link Candidates}: the pool publishes new ones on every change.
 */
final class RoundRobinSelector implements Selector {
    private final AtomicLong next = new AtomicLong();
    private volatile Wheel wheel = new Wheel(null, new Backend[0]);

    private record Wheel(Candidates source, Backend[] slots) {
    }

    @Override
    public Backend select(Candidates candidates, Set<Backend> exclude) {
        Wheel w = wheel;
        if (w.source != candidates) {
            w = new Wheel(candidates, unroll(candidates));
            wheel = w;
        }
        Backend[] slots = w.slots;
        int n = slots.length;
        if (n == 0) {
            return null;
        }
        long start = next.getAndIncrement();
        for (int i = 0; i < n; i++) {
            Backend b = slots[(int) Long.remainderUnsigned(start + i, n)];
            if (!exclude.contains(b)) {
                return b;
            }
        }
        return null;
    }

    static Backend[] unroll(Candidates candidates) {
        int size = candidates.size();
        int[] current = new int[size];
        int total = candidates.totalWeight();
        List<Backend> slots = new ArrayList<>(total);
        for (int round = 0; round < total; round++) {
            int best = -1;
            for (int i = 0; i < size; i++) {
                int w = candidates.weight(i);
                if (w == 0) {
                    continue;
                }
                current[i] += w;
                if (best < 0 || current[i] > current[best]) {
                    best = i;
                }
            }
            current[best] -= total;
            slots.add(candidates.get(best));
        }
        return slots.toArray(new Backend[0]);
    }
}
