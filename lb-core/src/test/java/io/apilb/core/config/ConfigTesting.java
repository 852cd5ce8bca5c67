package io.apilb.core.config;

import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import java.util.Map;

/** Shared by the config tests: parsing with a fixed environment, and collecting errors. */
final class ConfigTesting {
    /** The environment every config test sees; nothing leaks in from the machine's. */
    static final Map<String, String> ENV = Map.of(
            "APILB_ADMIN_TOKEN", "s3cret",
            "MASTER_HOST", "master1.example",
            "EMPTY", "");

    /** The smallest valid file: one listener, one backend; five lines. */
    static final String MINIMAL = """
            listeners:
              - name: api
                address: 0.0.0.0:6443
            backends:
              - { name: m1, address: 10.0.0.11:6443 }
            """;

    private ConfigTesting() {
    }

    static ApilbConfig parse(String yaml) throws ConfigException {
        return ConfigLoader.parse(yaml, "test.yaml", ENV::get);
    }

    static List<String> errors(String yaml) {
        return assertThrows(ConfigException.class, () -> parse(yaml)).errors();
    }
}
