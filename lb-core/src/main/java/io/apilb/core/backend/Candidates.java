package io.apilb.core.backend;

import java.util.Arrays;
import java.util.List;

/**
 * Backends a selector may choose from, each with the weight it had when the list was published:
 * its effective weight, which a slow-start ramp lowers (see {@link BackendPool}). Only the ratios
 * between weights mean anything; their scale may differ from one publication to the next.
 * Immutable: a selector that reads the weights twice (to total them, then to draw) sees the same
 * numbers both times, whatever a reload does meanwhile.
 */
public final class Candidates {
    static final Candidates NONE = new Candidates(new Backend[0], new int[0]);

    private final Backend[] backends;
    private final int[] weights;
    private final int totalWeight;
    private final List<Backend> list;

    Candidates(Backend[] backends, int[] weights) {
        if (backends.length != weights.length) {
            throw new IllegalArgumentException("weights: " + weights.length + " (expected: " + backends.length + ")");
        }
        this.backends = backends.clone();
        this.weights = weights.clone();
        int total = 0;
        for (int w : this.weights) {
            if (w < 0) {
                throw new IllegalArgumentException("weight: " + w + " (expected: >= 0)");
            }
            total = Math.addExact(total, w);
        }
        this.totalWeight = total;
        this.list = List.of(this.backends);
    }

    /** Number of candidates. */
    public int size() {
        return backends.length;
    }

    public boolean isEmpty() {
        return backends.length == 0;
    }

    /** The candidate at {@code index}, in config order. */
    public Backend get(int index) {
        return backends[index];
    }

    /** The weight of the candidate at {@code index}, as published. */
    public int weight(int index) {
        return weights[index];
    }

    /** The sum of all weights. */
    public int totalWeight() {
        return totalWeight;
    }

    /** The candidates as an immutable list, in config order. */
    public List<Backend> backends() {
        return list;
    }

    @Override
    public String toString() {
        return list + " weights " + Arrays.toString(weights);
    }
}
