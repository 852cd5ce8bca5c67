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

    private ConfigTesting() {
    }

    static ApilbConfig parse(String yaml) throws ConfigException {
        return ConfigLoader.parse(yaml, "test.yaml", ENV::get);
    }

    static List<String> errors(String yaml) {
        return assertThrows(ConfigException.class, () -> parse(yaml)).errors();
    }
}
