package io.apilb.core.config;

import java.util.List;

/**
 * A config file that cannot be used. {@link #errors()} lists every problem found, each with its key
 * path and line, e.g. {@code backends[2].address: "10.0.0.13" has no port (expected: host:port) (line 9)}.
 */
public final class ConfigException extends Exception {
    private static final long serialVersionUID = 1L;
    private final List<String> errors;

    public ConfigException(String source, List<String> errors) {
        super(source + ": " + errors.size() + (errors.size() == 1 ? " error" : " errors") + "\n  "
                + String.join("\n  ", errors));
        this.errors = List.copyOf(errors);
    }

    public List<String> errors() {
        return errors;
    }
}
