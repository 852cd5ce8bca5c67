package io.apilb.health;

import java.util.List;

/** Read-only view of the latest probe results, for the admin API, dashboard and metrics. */
public interface CheckResults {
    /** The last result for a backend, or null before its first probe or when it is unknown. */
    CheckResult last(String backend);

    /** The most recent results for a backend, oldest first (a short bounded history). */
    List<CheckResult> history(String backend);
}
