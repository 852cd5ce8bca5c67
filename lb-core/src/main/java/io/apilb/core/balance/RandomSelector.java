package io.apilb.core.balance;

import io.apilb.core.backend.Backend;

import java.util.List;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Power of two choices: draw two backends at random in proportion to weight and keep the one with
 * fewer active connections per weight. Nearly as even as leastconn, with no shared counter.
 */
final class RandomSelector implements Selector {

    @Override
    public Backend select(List<Backend> candidates, Set<Backend> exclude) {
        int total = 0;
        for (Backend b : candidates) {
            if (!exclude.contains(b)) {
                total += b.weight();
            }
        }
        if (total == 0) {
            return null;
        }
        ThreadLocalRandom rnd = ThreadLocalRandom.current();
        Backend a = draw(candidates, exclude, rnd.nextInt(total));
        Backend b = draw(candidates, exclude, rnd.nextInt(total));
        long la = (long) a.stats().active() * b.weight();
        long lb = (long) b.stats().active() * a.weight();
        if (la != lb) {
            return la < lb ? a : b;
        }
        return rnd.nextBoolean() ? a : b;
    }

    private static Backend draw(List<Backend> candidates, Set<Backend> exclude, int ticket) {
        for (Backend b : candidates) {
            if (exclude.contains(b)) {
                continue;
            }
            ticket -= b.weight();
            if (ticket < 0) {
                return b;
            }
        }
        throw new IllegalStateException("weights changed while drawing");
    }
}
