package io.apilb.admin;

import io.apilb.core.backend.Backend;
import io.apilb.core.backend.BackendConnections;
import io.apilb.core.backend.BackendStats;
import io.apilb.core.backend.ConnectFailure;
import io.apilb.core.backend.Snapshot;
import io.apilb.health.CheckResult;
import io.apilb.health.CheckResults;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The JSON shape of one backend in the admin API. Enum values are lower case, except the check
 * status, which keeps HAProxy's spelling ({@code L7OK}, {@code L4CON}) that operators know;
 * times are ISO-8601 instants in UTC. {@code activeConnections} are established connections,
 * {@code dialsInFlight} dials not finished yet; {@code maxConnections} is the old name of
 * {@code peakConnections}, kept for one release. {@code slowStart} is null unless the backend is in
 * a slow-start ramp.
 */
record BackendJson(String name, String address, String health, String state, boolean routable, int weight,
                   SlowStart slowStart,
                   int activeConnections, int dialsInFlight, int peakConnections, int maxConnections,
                   long totalConnections, long bytesIn, long bytesOut,
                   long connectFailures, Map<String, Long> connectFailuresByReason, Check check, String lastChange,
                   double downtimeSeconds, Transition transition, String lastFirstByteTimeout) {

    /**
     * How the verdict is moving: {@code since} the first check against it (null when not in doubt),
     * {@code lastMs} how long the last flip took from the first check against the old verdict.
     */
    record Transition(String since, Long lastMs) {
        static Transition of(CheckResults.Transition t) {
            if (t == null) {
                return null;
            }
            return new Transition(t.since() == null ? null : t.since().toString(),
                    t.last() == null ? null : t.last().toMillis());
        }
    }

    /** The last probe of a backend; null in {@link BackendJson} before the first one or when checks are off. */
    record Check(String status, long durationMs, String at, Integer httpStatus, String error) {
        static Check of(CheckResult r) {
            if (r == null) {
                return null;
            }
            return new Check(r.status().name(), r.duration().toMillis(), r.at().toString(),
                    r.httpStatus() == 0 ? null : r.httpStatus(), r.error());
        }
    }

    /**
     * A slow-start ramp in progress: {@code progress} 0-1 through the window, {@code effectiveWeight}
     * the weight selection uses now (10 % of {@code weight} at the start, all of it at the end).
     */
    record SlowStart(double progress, double effectiveWeight) {
        static SlowStart of(Snapshot.Ramp ramp, int weight) {
            return ramp == null ? null : new SlowStart(round(ramp.progress()), round(weight * ramp.factor()));
        }

        private static double round(double d) {
            return Math.round(d * 1000) / 1000.0;
        }
    }

    /**
     * Reads a backend's current state; {@code snapshot} is the pool's current one (weight and
     * routability), {@code checks} may be null when health checking is off.
     */
    static BackendJson of(Backend b, Snapshot snapshot, CheckResults checks) {
        BackendStats s = b.stats();
        BackendConnections c = b.connections();
        Map<String, Long> failures = new LinkedHashMap<>();
        for (ConnectFailure f : ConnectFailure.values()) {
            failures.put(f.tag(), s.connectFailures(f));
        }
        long failuresTotal = failures.values().stream().mapToLong(Long::longValue).sum();
        return new BackendJson(b.name(), b.address().toString(), lower(b.health()), lower(b.adminState()),
                snapshot.isRoutable(b), snapshot.weight(b), SlowStart.of(snapshot.ramp(b), snapshot.weight(b)),
                c.active(), c.dialsInFlight(), c.peak(), c.peak(), c.total(),
                s.bytesIn(), s.bytesOut(),
                failuresTotal, failures, checks == null ? null : Check.of(checks.last(b.name())),
                Instant.ofEpochMilli(b.lastChangeMillis()).toString(), b.downtimeMillis() / 1000.0,
                checks == null ? null : Transition.of(checks.transition(b.name())),
                instant(s.lastConnectFailureMillis(ConnectFailure.FIRST_BYTE_TIMEOUT)));
    }

    private static String instant(long millis) {
        return millis < 0 ? null : Instant.ofEpochMilli(millis).toString();
    }

    private static String lower(Enum<?> e) {
        return e.name().toLowerCase(Locale.ROOT);
    }
}
