package io.apilb.core.config;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Durations as written in the config: {@code 500ms}, {@code 2s}, {@code 1m}, {@code 1h},
 * combinations largest unit first ({@code 1h30m}, {@code 1m30s}), and a bare {@code 0}. Ranges are
 * checked by {@link ValueType#duration}, never beyond {@link #MAX}.
 */
final class Durations {
    static final String EXPECTED = "a duration like 500ms, 2s, 1m, 1h30m";
    /**
     * The longest duration any key accepts unless it names a tighter bound. Every reader converts to
     * milliseconds or nanoseconds, and a value that parses but overflows there fails long after
     * {@code check-config} said it was fine; no timer in a load balancer needs more than a month.
     */
    static final Duration MAX = Duration.ofDays(30);

    // Units in a fixed order, each at most once, so "1m1h" or "2s2s" cannot mean something surprising.
    private static final Pattern FORM =
            Pattern.compile("(?:(\\d+)h)?(?:(\\d+)m(?!s))?(?:(\\d+)s)?(?:(\\d+)ms)?");
    private static final Pattern BARE_NUMBER = Pattern.compile("\\d+(?:\\.\\d+)?");

    private Durations() {
    }

    /**
     * @throws IllegalArgumentException with a message that quotes the text and names the form
     */
    static Duration parse(String text) {
        String t = text.trim();
        if (t.equals("0")) {
            return Duration.ZERO;
        }
        if (BARE_NUMBER.matcher(t).matches()) {
            // "30" is as likely to mean seconds as milliseconds; guessing would be a silent error.
            throw ValueType.wrong(ValueType.quote(text) + " needs a unit", EXPECTED);
        }
        Matcher m = FORM.matcher(t);
        if (t.isEmpty() || !m.matches()) {
            throw ValueType.wrong(ValueType.quote(text), EXPECTED);
        }
        try {
            return Duration.ofHours(number(m.group(1)))
                    .plusMinutes(number(m.group(2)))
                    .plusSeconds(number(m.group(3)))
                    .plusMillis(number(m.group(4)));
        } catch (ArithmeticException e) {
            throw ValueType.wrong(ValueType.quote(text) + " is too long", EXPECTED);
        }
    }

    /** The shortest text {@link #parse} reads back as the same duration, e.g. {@code 1h30m}. */
    static String format(Duration d) {
        if (d.isZero()) {
            return "0s";
        }
        StringBuilder sb = new StringBuilder();
        append(sb, d.toHours(), "h");
        append(sb, d.toMinutesPart(), "m");
        append(sb, d.toSecondsPart(), "s");
        append(sb, d.toMillisPart(), "ms");
        return sb.toString();
    }

    private static void append(StringBuilder sb, long amount, String unit) {
        if (amount != 0) {
            sb.append(amount).append(unit);
        }
    }

    private static long number(String digits) {
        if (digits == null) {
            return 0;
        }
        try {
            return Long.parseLong(digits);
        } catch (NumberFormatException e) {
            throw new ArithmeticException("overflow");
        }
    }
}
