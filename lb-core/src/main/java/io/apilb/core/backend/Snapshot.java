package io.apilb.core.backend;

import java.util.List;

/**
 * An immutable view of the pool, republished on every state change and read without locks on the
 * hot path.
 *
 * @param all       every configured backend, in config order
 * @param routable  the backends that take new connections ({@link Backend#routable()})
 * @param failOpen  the backends to try when none is routable: READY with weight, whatever their health
 */
public record Snapshot(List<Backend> all, List<Backend> routable, List<Backend> failOpen) {
    public Snapshot {
        all = List.copyOf(all);
        routable = List.copyOf(routable);
        failOpen = List.copyOf(failOpen);
    }
}
