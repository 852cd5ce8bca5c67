package io.apilb.core.proxy;

import io.apilb.core.backend.Backend;
import io.apilb.core.backend.Candidates;
import io.apilb.core.backend.Snapshot;

import java.util.HashSet;
import java.util.Set;

/**
 * Which backend one connection dials next: the selector's pick among the routable backends (or,
 * when none is routable and fail-open is on, among every READY one), never one this connection
 * already tried. Counts a connection routed while failing open once, however many dials it takes.
 * Confined to the connection's event loop.
 */
final class BackendChoice {
    private final ProxyContext ctx;
    private Set<Backend> tried;
    private boolean countedFailOpen;

    BackendChoice(ProxyContext ctx) {
        this.ctx = ctx;
    }

    /** The next backend to dial, or null when none is left. */
    Backend next() {
        Snapshot s = ctx.pool.snapshot();
        boolean failingOpen = failingOpen(s);
        Backend b = ctx.selector.select(candidates(s), tried == null ? Set.of() : tried);
        if (b != null && failingOpen && !countedFailOpen) {
            // The health checker logs the episode once, when every backend went DOWN.
            countedFailOpen = true;
            ctx.stats.routedFailOpen();
        }
        return b;
    }

    /**
     * Whether some backend other than {@code current} could still be chosen (so it is worth
     * putting a deadline on {@code current}).
     */
    boolean hasOtherThan(Backend current) {
        Candidates candidates = candidates(ctx.pool.snapshot());
        for (int i = 0; i < candidates.size(); i++) {
            Backend b = candidates.get(i);
            if (b != current && candidates.weight(i) > 0 && (tried == null || !tried.contains(b))) {
                return true;
            }
        }
        return false;
    }

    /** No backend is routable and fail-open is on: every READY one is a candidate. */
    private boolean failingOpen(Snapshot s) {
        return s.routable().isEmpty() && ctx.failOpen;
    }

    private Candidates candidates(Snapshot s) {
        return failingOpen(s) ? s.failOpen() : s.routable();
    }

    /** {@code backend} failed this connection: it is not chosen again. */
    void exclude(Backend backend) {
        if (tried == null) {
            tried = new HashSet<>(4);
        }
        tried.add(backend);
    }
}
