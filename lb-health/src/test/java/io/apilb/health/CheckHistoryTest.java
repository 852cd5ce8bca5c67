package io.apilb.health;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

import org.junit.jupiter.api.Test;

class CheckHistoryTest {

    @Test
    void keepsTheNewestResultsOldestFirst() {
        CheckHistory h = new CheckHistory();
        assertNull(h.last());
        for (int i = 1; i <= CheckHistory.CAPACITY + 3; i++) {
            h.add(new CheckResult(CheckStatus.L7STS, Duration.ofMillis(i), Instant.now(), 500, "n" + i));
        }
        List<CheckResult> all = h.all();
        assertEquals(CheckHistory.CAPACITY, all.size());
        assertEquals("n4", all.get(0).error());
        assertEquals("n" + (CheckHistory.CAPACITY + 3), h.last().error());
    }
}
