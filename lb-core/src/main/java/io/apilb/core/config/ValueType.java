package io.apilb.core.config;

import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;
import java.util.function.Function;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * How one scalar config value is read from its text. {@code expected} names the accepted form and
 * ends every error about the value ({@code "two" (expected: an integer)}); {@code parser} throws
 * {@link IllegalArgumentException} with the whole message, value first, when the text is wrong.
 * The text is read as written (after {@code ${VAR}} expansion), not by YAML's own typing, so
 * {@code retries: ${RETRIES:-2}} and {@code port: "6443"} both work.
 */
record ValueType<T>(String expected, Function<String, T> parser) {
    // Names end up in admin URLs (/api/v1/backends/{name}), metric tags and log lines.
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*");
    private static final Pattern INTEGER = Pattern.compile("[-+]?\\d[\\d_]*");

    T parse(String text) {
        return parser.apply(text);
    }

    static ValueType<String> text() {
        String expected = "a non-empty text";
        return new ValueType<>(expected, t -> {
            if (t.isBlank()) {
                throw wrong("empty", expected);
            }
            return t;
        });
    }

    static ValueType<String> name() {
        String expected = "letters, digits, '.', '_' or '-'";
        return new ValueType<>(expected, t -> {
            if (!NAME.matcher(t).matches()) {
                throw wrong(quote(t), expected);
            }
            return t;
        });
    }

    static ValueType<Boolean> bool() {
        String expected = "true or false";
        return new ValueType<>(expected, t -> switch (t.toLowerCase(Locale.ROOT)) {
            case "true" -> true;
            case "false" -> false;
            default -> throw wrong(quote(t), expected);
        });
    }

    /** An integer in {@code [min, max]}; {@code max} {@link Integer#MAX_VALUE} means no upper bound. */
    static ValueType<Integer> integer(int min, int max) {
        String range = max == Integer.MAX_VALUE ? ">= " + min : min + "-" + max;
        return new ValueType<>("an integer " + range, t -> {
            if (!INTEGER.matcher(t).matches()) {
                throw wrong(quote(t), "an integer " + range);
            }
            long value;
            try {
                value = Long.parseLong(t.replace("_", ""));
            } catch (NumberFormatException e) {
                value = t.startsWith("-") ? Long.MIN_VALUE : Long.MAX_VALUE;
            }
            if (value < min || value > max) {
                throw wrong(t, range);
            }
            return (int) value;
        });
    }

    /** A decimal number in {@code [min, max]}, e.g. {@code 0.5}. */
    static ValueType<Double> number(double min, double max) {
        String range = trim(min) + "-" + trim(max);
        return new ValueType<>("a number " + range, t -> {
            double value;
            try {
                value = Double.parseDouble(t.replace("_", ""));
            } catch (NumberFormatException e) {
                throw wrong(quote(t), "a number " + range);
            }
            if (!(value >= min && value <= max)) {
                throw wrong(t, range);
            }
            return value;
        });
    }

    private static String trim(double d) {
        return d == Math.rint(d) ? Long.toString((long) d) : Double.toString(d);
    }

    /** A duration from {@code min} to {@link Durations#MAX}. */
    static ValueType<Duration> duration(Duration min) {
        return duration(min, Durations.MAX);
    }

    /** A duration in {@code [min, max]}; {@code max} at most {@link Durations#MAX}. */
    static ValueType<Duration> duration(Duration min, Duration max) {
        if (max.compareTo(Durations.MAX) > 0 || min.compareTo(max) > 0) {
            throw new IllegalArgumentException("duration range: " + min + "-" + max
                    + " (expected: within 0-" + Durations.format(Durations.MAX) + ")");
        }
        String range = Durations.format(min) + "-" + Durations.format(max);
        return new ValueType<>(Durations.EXPECTED, t -> {
            Duration d = Durations.parse(t);
            if (d.compareTo(min) < 0 || d.compareTo(max) > 0) {
                throw wrong(t, range);
            }
            return d;
        });
    }

    /** The path part of an HTTP request line. */
    static ValueType<String> urlPath() {
        String expected = "a path starting with /";
        return new ValueType<>(expected, t -> {
            if (!t.startsWith("/") || t.chars().anyMatch(c -> c <= ' ')) {
                throw wrong(quote(t), expected);
            }
            return t;
        });
    }

    /** One of the enum's constants, written in any case. */
    static <E extends Enum<E>> ValueType<E> oneOf(Class<E> type) {
        E[] values = type.getEnumConstants();
        String names = Arrays.stream(values).map(v -> v.name().toLowerCase(Locale.ROOT))
                .collect(Collectors.joining(", "));
        int lastComma = names.lastIndexOf(", ");
        String expected = lastComma < 0 ? names : names.substring(0, lastComma) + " or " + names.substring(lastComma + 2);
        return new ValueType<>(expected, t -> {
            for (E v : values) {
                if (v.name().equalsIgnoreCase(t.trim())) {
                    return v;
                }
            }
            throw wrong(quote(t), expected);
        });
    }

    static ValueType<HostPort> hostPort() {
        return new ValueType<>("host:port", HostPort::parse);
    }

    static ValueType<Cidr> cidr() {
        return new ValueType<>(Cidr.EXPECTED, Cidr::parse);
    }

    /**
     * A file name, resolved against {@code baseDir} when relative. The file need not exist yet: the
     * module that uses it reads it and reports its own errors.
     */
    static ValueType<Path> file(Path baseDir) {
        String expected = "a file name";
        return new ValueType<>(expected, t -> {
            if (t.isBlank()) {
                throw wrong("empty", expected);
            }
            try {
                return baseDir.resolve(t).normalize();
            } catch (InvalidPathException e) {
                throw wrong(quote(t) + " is not a valid file name", expected);
            }
        });
    }

    /** The one message shape for a bad value: {@code <what> (expected: <form>)}. */
    static IllegalArgumentException wrong(String what, String expected) {
        return new IllegalArgumentException(what + " (expected: " + expected + ")");
    }

    static String quote(String text) {
        return '"' + text + '"';
    }
}
