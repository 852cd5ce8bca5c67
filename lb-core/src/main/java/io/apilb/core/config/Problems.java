package io.apilb.core.config;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What one load learned about its source: every error found so far, and the line each key path
 * was read from, so that rules checked after binding ({@link ConfigValidator}) can still point at a
 * line. Not thread-safe; one instance per load.
 */
final class Problems {
    private record Problem(String path, String message, int line, int order) {
        @Override
        public String toString() {
            String where = path.isEmpty() ? message : path + ": " + message;
            return line > 0 ? where + " (line " + line + ")" : where;
        }
    }

    private final List<Problem> problems = new ArrayList<>();
    private final Set<String> failedPaths = new HashSet<>();
    private final Map<String, Integer> lines = new HashMap<>();

    /** Records an error at {@code path}; {@code line} 0 when the source has no line for it. */
    void error(String path, int line, String message) {
        problems.add(new Problem(path, message, line, problems.size()));
        failedPaths.add(path);
    }

    /** Records an error at {@code path} on the line that path was read from. */
    void error(String path, String message) {
        error(path, line(path), message);
    }

    /**
     * Marks the value at {@code path} as unusable without an error of its own: its enclosing
     * section is already reported, and the placeholder standing in for it must not trip other rules.
     */
    void unusable(String path) {
        failedPaths.add(path);
    }

    /** True when a value at {@code path} could not be used; rules over it would only add noise. */
    boolean failed(String path) {
        return failedPaths.contains(path);
    }

    void line(String path, int line) {
        lines.put(path, line);
    }

    /**
     * The line {@code path} was read from; for a key that was not written, the line of the
     * closest enclosing section that was, because that is where the user would add it.
     */
    int line(String path) {
        String p = path;
        while (true) {
            Integer line = lines.get(p);
            if (line != null) {
                return line;
            }
            if (p.isEmpty()) {
                return 0;
            }
            p = parent(p);
        }
    }

    boolean isEmpty() {
        return problems.isEmpty();
    }

    /** The errors in file order, each as {@code path: message (line N)}. */
    List<String> messages() {
        List<String> out = new ArrayList<>();
        problems.stream()
                .sorted(Comparator.comparingInt(Problem::line).thenComparingInt(Problem::order))
                .forEach(p -> out.add(p.toString()));
        return out;
    }

    private static String parent(String path) {
        int cut = Math.max(path.lastIndexOf('.'), path.lastIndexOf('['));
        return cut < 0 ? "" : path.substring(0, cut);
    }
}
