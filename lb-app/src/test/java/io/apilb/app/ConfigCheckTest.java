package io.apilb.app;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.apilb.core.config.Limits;
import io.apilb.core.resource.DescriptorBudget;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigCheckTest {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    @Test
    void summarisesAUsableFileAndExitsZero() {
        Path file = Path.of("..", "config", "minimal.yaml");

        assertEquals(0, run(file));
        assertEquals("OK: " + file + ": 1 listener, 3 backends, balance roundrobin" + System.lineSeparator(),
                text(out));
        // The file keeps the default maxConnections: warned about only where it exceeds the open-files limit.
        String warning = DescriptorBudget.process().warning(Limits.DEFAULT_MAX_CONNECTIONS);
        assertEquals(warning == null ? "" : "WARNING: " + warning + System.lineSeparator(), text(err));
    }

    @Test
    void printsEveryErrorAndExitsOne(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("broken.yaml");
        Files.writeString(file, """
                listeners:
                  - { name: api, address: 0.0.0.0 }
                backends:
                  - { name: m1, address: 10.0.0.11:6443 }
                balance: fastest
                """);

        assertEquals(1, run(file));
        assertEquals("", text(out));
        assertEquals(String.join(System.lineSeparator(),
                file + ": 2 errors",
                "  listeners[0].address: \"0.0.0.0\" has no port (expected: host:port) (line 2)",
                "  balance: \"fastest\" (expected: roundrobin, leastconn or random) (line 5)",
                ""), text(err));
    }

    @Test
    void exitsOneForAMissingFile(@TempDir Path dir) {
        Path file = dir.resolve("absent.yaml");

        assertEquals(1, run(file));
        assertEquals(file + ": 1 error\n  no such file" + System.lineSeparator(), text(err));
    }

    private int run(Path file) {
        return ConfigCheck.run(file, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    private static String text(ByteArrayOutputStream bytes) {
        return bytes.toString(StandardCharsets.UTF_8);
    }
}
