package io.apilb.core.balance;

import io.apilb.core.backend.Backend;
import io.apilb.core.backend.Candidates;

import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Power of two choices: draw two backends at random in proportion to weight and keep the one with
 * fewer connections per weight ({@link Selector#load}). Nearly as even as leastconn, with no shared
 * counter.
 */
final class RandomSelector implements Selector {

    @Override
    public Backend select(Candidates candidates, Set<Backend> exclude) {
        int total = 0;
        for (int i = 0; i < candidates.size(); i++) {
            if (!exclude.contains(candidates.get(i))) {
                total += candidates.weight(i);
            }
        }
        if (total == 0) {
            return null;
        }
        ThreadLocalRandom rnd = ThreadLocalRandom.current();
        int a = draw(candidates, exclude, rnd.nextInt(total));
        int b = draw(candidates, exclude, rnd.nextInt(total));
        long la = (long) Selector.load(candidates.get(a)) * candidates.weight(b);
        long lb = (long) Selector.load(candidates.get(b)) * candidates.weight(a);
        if (la != lb) {
            return candidates.get(la < lb ? a : b);
        }
        return candidates.get(rnd.nextBoolean() ? a : b);
    }

    /** The index the ticket falls on; the weights are immutable, so some index always does. */
    private static int draw(Candidates candidates, Set<Backend> exclude, int ticket) {
        int last = -1;
        for (int i = 0; i < candidates.size(); i++) {
            if (exclude.contains(candidates.get(i))) {
                continue;
            }
            ticket -= candidates.weight(i);
            last = i;
            if (ticket < 0) {
                return i;
            }
        }
        return last;
    }
}
