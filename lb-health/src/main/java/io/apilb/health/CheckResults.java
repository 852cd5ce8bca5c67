package io.apilb.health;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

/** Read-only view of the latest probe results, for the admin API, dashboard and metrics. */
public interface CheckResults {
    /** The last result for a backend, or null before its first probe or when it is unknown. */
    CheckResult last(String backend);

    /** The most recent results for a backend, oldest first (a short bounded history). */
    List<CheckResult> history(String backend);

    /**
     * How a backend's verdict is moving: since when it has been in doubt (null when it is not), and
     * how long its last flip took from the first check against the old verdict (null before one).
     */
    record Transition(Instant since, Duration last) {
    }

    /** The transition state of a backend, or null when unknown. */
    default Transition transition(String backend) {
        return null;
    }
}
