package io.apilb.health;

import java.time.Duration;
import java.time.Instant;
import java.util.Objects;

/**
 * One probe's outcome.
 *
 * @param status     HAProxy-style status
 * @param duration   time from the start of the probe to its outcome
 * @param at         when the outcome was known
 * @param httpStatus the HTTP status seen, 0 when none
 * @param error      human-readable detail for failures, null when OK
 */
public record CheckResult(CheckStatus status, Duration duration, Instant at, int httpStatus, String error) {
    public CheckResult {
        Objects.requireNonNull(status, "status");
        Objects.requireNonNull(duration, "duration");
        Objects.requireNonNull(at, "at");
    }
}
