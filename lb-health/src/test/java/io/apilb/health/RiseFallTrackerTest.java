package io.apilb.health;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.apilb.core.backend.Health;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class RiseFallTrackerTest {

    /**
     * {@code observations}: {@code +} pass, {@code -} fail. {@code verdicts}: the verdict after each,
     * {@code U} up, {@code D} down.
     */
    @ParameterizedTest(name = "rise={0} fall={1}: {2} -> {3}")
    @CsvSource({
        "2, 2, +,       U",
        "2, 2, -,       D",
        "2, 2, +-+,     UUU",
        "2, 2, +--,     UUD",
        "2, 2, --+,     DDD",
        "2, 2, --++,    DDDU",
        "2, 2, +-+-+-,  UUUUUU",
        "2, 2, +--+-+,  UUDDDD",
        "2, 2, +--++-,  UUDDUU",
        "3, 1, +-+++,   UDDDU",
        "3, 1, +-++-+++, UDDDDDDU",
        "1, 3, ---+,    DDDU",
        "1, 3, +--+---, UUUUUUD",
        "1, 1, +-+-,    UDUD",
    })
    void flipsAfterConsecutiveObservations(int rise, int fall, String observations, String verdicts) {
        RiseFallTracker tracker = new RiseFallTracker(rise, fall);
        Health before = Health.UNKNOWN;
        for (int i = 0; i < observations.length(); i++) {
            Health flipped = tracker.record(observations.charAt(i) == '+');
            Health expected = verdicts.charAt(i) == 'U' ? Health.UP : Health.DOWN;
            assertEquals(expected, tracker.health(), "after observation " + (i + 1));
            if (expected == before) {
                assertNull(flipped, "no flip reported at observation " + (i + 1));
            } else {
                assertEquals(expected, flipped, "flip reported at observation " + (i + 1));
            }
            before = expected;
        }
    }

    @Test
    void isUnknownBeforeTheFirstObservation() {
        assertEquals(Health.UNKNOWN, new RiseFallTracker(2, 2).health());
    }

    @Test
    void rejectsRiseOrFallBelowOne() {
        assertEquals("rise: 0 (expected: >= 1)",
                assertThrows(IllegalArgumentException.class, () -> new RiseFallTracker(0, 2)).getMessage());
        assertEquals("fall: 0 (expected: >= 1)",
                assertThrows(IllegalArgumentException.class, () -> new RiseFallTracker(2, 0)).getMessage());
    }

    /**
     * A tracker taken over by a reload with new thresholds: {@code before} observed under the old
     * rise/fall (2/2), {@code after} under the new ones; {@code verdict} after the last.
     */
    @ParameterizedTest(name = "{0} then rise={1} fall={2}: {3} -> {4}")
    @CsvSource({
        "+,   2, 2, -,   U",
        "+,   2, 3, --,  U",
        "+,   2, 2, --,  D",
        "+-,  2, 2, -,   D",
        "+-,  2, 3, -,   U",
        "+-,  2, 1, +-,  D",
        "-,   2, 2, +,   D",
        "-+,  2, 2, +,   U",
        "-+,  3, 2, ++,  U",
    })
    void aTakenOverTrackerKeepsTheVerdictAndTheStreak(String before, int rise, int fall, String after, char verdict) {
        RiseFallTracker old = new RiseFallTracker(2, 2);
        before.chars().forEach(c -> old.record(c == '+'));
        RiseFallTracker next = new RiseFallTracker(rise, fall, old);
        assertEquals(old.health(), next.health(), "the verdict carries over");
        after.chars().forEach(c -> next.record(c == '+'));
        assertEquals(verdict == 'U' ? Health.UP : Health.DOWN, next.health());
    }
}
