package io.apilb.core.rebalance;

import io.apilb.core.backend.AdminState;
import io.apilb.core.backend.Backend;
import io.apilb.core.backend.Candidates;
import io.apilb.core.backend.Health;
import io.apilb.core.backend.Snapshot;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * How the established connections sit on the masters that take new ones, against each master's
 * weighted fair share. Only masters that are UP, READY and routable take part: connections on a
 * drained, maintained, dead or unchecked master are neither counted nor moved. Weights are the
 * snapshot's effective ones, so during a slow-start ramp the target is the ramp's, not the final one.
 *
 * <p>The spread is the relative excess of the most loaded master: 0.5 means it carries 1.5 times its
 * share. Immutable; computed from one snapshot and the connection counts of the moment.
 */
final class LoadSpread {
    /** One master: its established connections and its fair share of all of them. */
    record Share(Backend backend, int connections, double fair) {
        double excess() {
            return fair == 0 ? (connections == 0 ? 0 : Double.POSITIVE_INFINITY) : (connections - fair) / fair;
        }
    }

    private final List<Share> shares;

    private LoadSpread(List<Share> shares) {
        this.shares = shares;
    }

    static LoadSpread of(Snapshot snapshot) {
        Candidates c = snapshot.routable();
        List<Backend> members = new ArrayList<>();
        List<Integer> weights = new ArrayList<>();
        long totalWeight = 0;
        int total = 0;
        int[] counts = new int[c.size()];
        for (int i = 0; i < c.size(); i++) {
            Backend b = c.get(i);
            if (c.weight(i) == 0 || b.health() != Health.UP || b.adminState() != AdminState.READY) {
                continue;
            }
            counts[members.size()] = b.connections().active();
            total += counts[members.size()];
            members.add(b);
            weights.add(c.weight(i));
            totalWeight += c.weight(i);
        }
        List<Share> shares = new ArrayList<>(members.size());
        for (int i = 0; i < members.size(); i++) {
            shares.add(new Share(members.get(i), counts[i], (double) total * weights.get(i) / totalWeight));
        }
        return new LoadSpread(List.copyOf(shares));
    }

    /** The masters taking part, in config order. */
    List<Share> shares() {
        return shares;
    }

    /** The most loaded master's excess over its share (0 when fewer than two masters take part). */
    double spread() {
        if (shares.size() < 2) {
            return 0;
        }
        double max = 0;
        for (Share s : shares) {
            max = Math.max(max, s.excess());
        }
        return max;
    }

    /**
     * The masters to take a connection from, most over-loaded first: over their share by more than
     * {@code tolerance} and by at least one whole connection (moving one then cannot merely swap
     * which master is over), while another master is under its share. Empty when the spread is fair.
     */
    List<Backend> sources(double tolerance) {
        if (shares.size() < 2 || shares.stream().noneMatch(s -> s.connections() < s.fair())) {
            return List.of();
        }
        List<Share> over = new ArrayList<>();
        for (Share s : shares) {
            if (s.excess() > tolerance && s.connections() - s.fair() >= 1) {
                over.add(s);
            }
        }
        over.sort(Comparator.comparingDouble(Share::excess).reversed());
        return over.stream().map(Share::backend).toList();
    }
}
