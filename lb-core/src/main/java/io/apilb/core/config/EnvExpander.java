package io.apilb.core.config;

import java.util.Objects;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * Expands {@code ${NAME}} and {@code ${NAME:-default}} in scalar values; {@code $$} is a literal
 * dollar. A {@code $} followed by anything else is kept as written, so a token such as
 * {@code a$b} needs no escaping. A variable that is set but empty counts as set, as in a shell.
 */
final class EnvExpander {
    private static final String REFERENCE_FORM = "${NAME} or ${NAME:-default}";
    private static final Pattern VARIABLE_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");

    private final Function<String, String> env;

    EnvExpander(Function<String, String> env) {
        this.env = Objects.requireNonNull(env, "env");
    }

    /**
     * @throws IllegalArgumentException naming the variable when it is not set and has no default,
     *         or when the reference is malformed
     */
    String expand(String text) {
        if (text.indexOf('$') < 0) {
            return text;
        }
        StringBuilder out = new StringBuilder(text.length());
        int i = 0;
        while (i < text.length()) {
            char c = text.charAt(i);
            if (c != '$' || i + 1 == text.length()) {
                out.append(c);
                i++;
            } else if (text.charAt(i + 1) == '$') {
                out.append('$');
                i += 2;
            } else if (text.charAt(i + 1) == '{') {
                int close = text.indexOf('}', i + 2);
                if (close < 0) {
                    // The text is not quoted back: it may be a secret.
                    throw ValueType.wrong("unclosed \"${\"", REFERENCE_FORM);
                }
                out.append(resolve(text.substring(i + 2, close)));
                i = close + 1;
            } else {
                out.append(c);
                i++;
            }
        }
        return out.toString();
    }

    private String resolve(String reference) {
        int sep = reference.indexOf(":-");
        String name = sep < 0 ? reference : reference.substring(0, sep);
        if (!VARIABLE_NAME.matcher(name).matches()) {
            throw ValueType.wrong(ValueType.quote("${" + reference + "}") + " is not a variable reference",
                    REFERENCE_FORM);
        }
        String value = env.apply(name);
        if (value != null) {
            return value;
        }
        if (sep < 0) {
            throw new IllegalArgumentException("environment variable " + name + " is not set");
        }
        return reference.substring(sep + 2);
    }
}
