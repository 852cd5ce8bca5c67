package io.apilb.core.config;

import java.util.List;
import java.util.Locale;

/** Suggests the known key a misspelt one was probably meant to be. */
final class KeyGuess {
    private KeyGuess() {
    }

    /** The closest of {@code keys} to {@code key}, or null when none is close enough to be a typo. */
    static String closest(String key, List<String> keys) {
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        String k = key.toLowerCase(Locale.ROOT);
        for (String candidate : keys) {
            int d = distance(k, candidate.toLowerCase(Locale.ROOT));
            if (d < bestDistance) {
                best = candidate;
                bestDistance = d;
            }
        }
        int allowed = key.length() >= 5 ? 2 : 1;
        return bestDistance <= allowed ? best : null;
    }

    /** Levenshtein distance: insertions, deletions and substitutions, each 1. */
    private static int distance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int substitute = prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                cur[j] = Math.min(substitute, Math.min(prev[j], cur[j - 1]) + 1);
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }
}
