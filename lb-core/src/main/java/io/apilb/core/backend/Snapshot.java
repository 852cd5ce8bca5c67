package io.apilb.core.backend;

import java.util.List;

/**
 * An immutable view of the pool, republished on every change and read without locks on the hot
 * path. It holds everything selection reads (the candidate lists and their weights), so nothing a
 * selector looks at changes while it chooses.
 */
public final class Snapshot {
    private final List<Backend> all;
    private final int[] weights;
    private final Candidates routable;
    private final Candidates failOpen;

    Snapshot(List<Backend> all, int[] weights, Candidates routable, Candidates failOpen) {
        this.all = List.copyOf(all);
        this.weights = weights.clone();
        this.routable = routable;
        this.failOpen = failOpen;
    }

    /** Every configured backend, in config order. */
    public List<Backend> all() {
        return all;
    }

    /** The backends that take new connections: not DOWN, READY, with weight, and not waiting for a first check. */
    public Candidates routable() {
        return routable;
    }

    /**
     * The backends to try when none is routable and fail-open is on: READY with weight, whatever
     * their health.
     */
    public Candidates failOpen() {
        return failOpen;
    }

    /** Whether {@code backend} is among {@link #routable()}. */
    public boolean isRoutable(Backend backend) {
        return routable.backends().contains(backend);
    }

    /** The configured weight of {@code backend}, or -1 when it is not in this snapshot. */
    public int weight(Backend backend) {
        int i = all.indexOf(backend);
        return i < 0 ? -1 : weights[i];
    }
}
