package io.apilb.core.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class DurationsTest {

    @ParameterizedTest(name = "[{index}] {0}")
    @CsvSource(delimiter = '|', textBlock = """
            0        | PT0S      | 0s
            0s       | PT0S      | 0s
            500ms    | PT0.5S    | 500ms
            2s       | PT2S      | 2s
            1m       | PT1M      | 1m
            1h       | PT1H      | 1h
            1h30m    | PT1H30M   | 1h30m
            1m30s    | PT1M30S   | 1m30s
            1s500ms  | PT1.5S    | 1s500ms
            90s      | PT1M30S   | 1m30s
            48h      | PT48H     | 48h
            """)
    void readsAndWritesDurations(String text, Duration expected, String formatted) {
        assertEquals(expected, Durations.parse(text));
        assertEquals(formatted, Durations.format(expected));
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @CsvSource(delimiter = '|', textBlock = """
            2                    | '"2" needs a unit (expected: a duration like 500ms, 2s, 1m, 1h30m)'
            1.5                  | '"1.5" needs a unit (expected: a duration like 500ms, 2s, 1m, 1h30m)'
            1.5s                 | '"1.5s" (expected: a duration like 500ms, 2s, 1m, 1h30m)'
            2 s                  | '"2 s" (expected: a duration like 500ms, 2s, 1m, 1h30m)'
            30m1h                | '"30m1h" (expected: a duration like 500ms, 2s, 1m, 1h30m)'
            -1s                  | '"-1s" (expected: a duration like 500ms, 2s, 1m, 1h30m)'
            2d                   | '"2d" (expected: a duration like 500ms, 2s, 1m, 1h30m)'
            ''                   | '"" (expected: a duration like 500ms, 2s, 1m, 1h30m)'
            99999999999999999999h | '"99999999999999999999h" is too long (expected: a duration like 500ms, 2s, 1m, 1h30m)'
            """)
    void explainsTheExpectedForm(String text, String message) {
        assertEquals(message, assertThrows(IllegalArgumentException.class, () -> Durations.parse(text)).getMessage());
    }
}
