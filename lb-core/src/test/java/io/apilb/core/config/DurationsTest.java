package io.apilb.core.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import java.util.List;
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

    @ParameterizedTest(name = "[{index}] {0}..{1} reads {2}")
    @CsvSource(delimiter = '|', textBlock = """
            PT0.001S | PT720H | 1ms       | PT0.001S
            PT0.001S | PT720H | 720h      | PT720H
            PT1S     | PT9H   | 9h        | PT9H
            PT0S     | PT720H | 0         | PT0S
            """)
    void acceptsDurationsWithinTheRange(Duration min, Duration max, String text, Duration expected) {
        assertEquals(expected, ValueType.duration(min, max).parse(text));
    }

    @ParameterizedTest(name = "[{index}] {0}..{1} refuses {2}")
    @CsvSource(delimiter = '|', textBlock = """
            PT0.001S | PT720H | 0s              | 0s (expected: 1ms-720h)
            PT0.001S | PT720H | 720h1ms         | 720h1ms (expected: 1ms-720h)
            PT0.001S | PT720H | 3000000000000h  | 3000000000000h (expected: 1ms-720h)
            PT1S     | PT9H   | 9h1s            | 9h1s (expected: 1s-9h)
            """)
    void refusesDurationsOutsideTheRange(Duration min, Duration max, String text, String message) {
        assertEquals(message, assertThrows(IllegalArgumentException.class,
                () -> ValueType.duration(min, max).parse(text)).getMessage());
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @CsvSource(delimiter = '|', textBlock = """
            PT0S
            PT0.001S
            PT1H
            """)
    void everyDurationHasAnUpperBound(Duration min) {
        String message = assertThrows(IllegalArgumentException.class,
                () -> ValueType.duration(min).parse("3000000000000h")).getMessage();
        assertEquals("3000000000000h (expected: " + Durations.format(min) + "-720h)", message);
    }

    /** Every duration key of the file, each with the value that used to pass and then overflow. */
    @ParameterizedTest(name = "[{index}] {0}")
    @CsvSource(delimiter = '|', textBlock = """
            shutdownGrace: 3000000000000h                 | shutdownGrace: 3000000000000h (expected: 0s-720h) (line 6)
            drainTimeout: 3000000000000h                  | drainTimeout: 3000000000000h (expected: 0s-720h) (line 6)
            shutdownDelay: 3000000000000h                 | shutdownDelay: 3000000000000h (expected: 0s-720h) (line 6)
            'timeouts: { idle: 3000000000000h }'          | timeouts.idle: 3000000000000h (expected: 1ms-720h) (line 6)
            'timeouts: { connect: 721h }'                 | timeouts.connect: 721h (expected: 1ms-720h) (line 6)
            'tcp: { keepAliveIdle: 3000000000000h }'      | tcp.keepAliveIdle: 3000000000000h (expected: 1s-9h) (line 6)
            'tcp: { keepAliveInterval: 3000000000000h }'  | tcp.keepAliveInterval: 3000000000000h (expected: 1s-9h) (line 6)
            'tcp: { userTimeout: 577h }'                  | tcp.userTimeout: 577h (expected: 0s-576h) (line 6)
            'health: { interval: 3000000000000h }'        | health.interval: 3000000000000h (expected: 100ms-720h) (line 6)
            'health: { timeout: 3000000000000h }'         | health.timeout: 3000000000000h (expected: 1ms-720h) (line 6)
            """)
    void boundsEveryDurationKeyWithItsLine(String line, String error) {
        assertEquals(List.of(error), ConfigTesting.errors(ConfigTesting.MINIMAL + line + "\n"));
    }
}
