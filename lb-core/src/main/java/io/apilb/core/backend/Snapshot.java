package io.apilb.core.backend;

import java.util.List;

/**
 * An immutable view of the pool, republished on every change and read without locks on the hot
 * path. It holds everything selection reads (the candidate lists and their effective weights), so
 * nothing a selector looks at changes while it chooses; and the configured weights and slow-start
 * ramps for the API.
 */
public final class Snapshot {
    static final double NO_RAMP = -1;

    private final List<Backend> all;
    private final int[] weights;
    private final double[] rampProgress;
    private final Candidates routable;
    private final Candidates failOpen;

    Snapshot(List<Backend> all, int[] weights, double[] rampProgress, Candidates routable, Candidates failOpen) {
        this.all = List.copyOf(all);
        this.weights = weights.clone();
        this.rampProgress = rampProgress.clone();
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

    /**
     * Where a backend is in its slow-start ramp when this snapshot was published.
     *
     * @param progress the part of the window elapsed, 0 to 1
     * @param factor   the part of its weight it gets now: 0.1 at the start, 1 at the end
     */
    public record Ramp(double progress, double factor) {
    }

    /** The slow-start ramp of {@code backend}, or null when it is not in one (or not in this snapshot). */
    public Ramp ramp(Backend backend) {
        int i = all.indexOf(backend);
        if (i < 0 || rampProgress[i] == NO_RAMP) {
            return null;
        }
        double p = rampProgress[i];
        return new Ramp(p, BackendPool.rampFactor(p));
    }
}
