package io.apilb.health;

import io.apilb.core.backend.Health;

/**
 * Turns a stream of pass/fail observations into a health verdict, like HAProxy's {@code rise}/{@code fall}:
 * the first observation decides at once (a backend is not left UNKNOWN for {@code rise} intervals at
 * start-up), after that {@code rise} consecutive passes bring a DOWN backend UP and {@code fall}
 * consecutive failures take an UP backend DOWN. An observation that agrees with the verdict resets
 * the streak against it.
 *
 * <p>Not thread-safe: each instance is confined to the prober's event loop.
 */
final class RiseFallTracker {
    private final int rise;
    private final int fall;
    private Health health = Health.UNKNOWN;
    private int streak;

    RiseFallTracker(int rise, int fall) {
        if (rise < 1) {
            throw new IllegalArgumentException("rise: " + rise + " (expected: >= 1)");
        }
        if (fall < 1) {
            throw new IllegalArgumentException("fall: " + fall + " (expected: >= 1)");
        }
        this.rise = rise;
        this.fall = fall;
    }

    /**
     * A tracker with new thresholds that continues where {@code from} stands: same verdict, same
     * streak against it (for a health reload; a streak already at the new threshold flips on the
     * next observation against the verdict).
     */
    RiseFallTracker(int rise, int fall, RiseFallTracker from) {
        this(rise, fall);
        this.health = from.health;
        this.streak = from.streak;
    }

    /**
     * Records one observation.
     *
     * @return the new verdict when this observation changed it, otherwise null
     */
    Health record(boolean passed) {
        Health observed = passed ? Health.UP : Health.DOWN;
        if (health == Health.UNKNOWN) {
            return flipTo(observed);
        }
        if (observed == health) {
            streak = 0;
            return null;
        }
        streak++;
        return streak >= (passed ? rise : fall) ? flipTo(observed) : null;
    }

    /**
     * Whether the verdict is in doubt: at least one observation against it since the last one for
     * it, but not yet enough to flip it.
     */
    boolean inTransition() {
        return health != Health.UNKNOWN && streak > 0;
    }

    /** The current verdict; UNKNOWN before the first observation. */
    Health health() {
        return health;
    }

    private Health flipTo(Health next) {
        health = next;
        streak = 0;
        return next;
    }
}
