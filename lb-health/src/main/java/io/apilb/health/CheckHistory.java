package io.apilb.health;

import java.util.ArrayList;
import java.util.List;

/**
 * The last few results of one backend, oldest first. Written by the prober's event loop, read by
 * any thread (admin API, dashboard): every write publishes a new immutable list, so readers never lock.
 */
final class CheckHistory {
    /** Enough to show a flapping master on the dashboard; small enough to never matter. */
    static final int CAPACITY = 10;

    private volatile List<CheckResult> results = List.of();

    void add(CheckResult result) {
        List<CheckResult> old = results;
        List<CheckResult> next = new ArrayList<>(Math.min(old.size() + 1, CAPACITY));
        next.addAll(old.size() < CAPACITY ? old : old.subList(old.size() - CAPACITY + 1, old.size()));
        next.add(result);
        results = List.copyOf(next);
    }

    /** The newest result, or null before the first. */
    CheckResult last() {
        List<CheckResult> r = results;
        return r.isEmpty() ? null : r.get(r.size() - 1);
    }

    /** Oldest first, at most {@link #CAPACITY}. */
    List<CheckResult> all() {
        return results;
    }
}
