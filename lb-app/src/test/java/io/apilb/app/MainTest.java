package io.apilb.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

class MainTest {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private int run(String... args) {
        return Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    @Test
    void checkConfigAcceptsTheShippedExample() {
        assertEquals(0, run("check-config", "../config/minimal.yaml"), err.toString(StandardCharsets.UTF_8));
        assertTrue(out.toString(StandardCharsets.UTF_8).startsWith("OK"), out.toString(StandardCharsets.UTF_8));
    }

    @Test
    void checkConfigRejectsABrokenFileNamingKeyAndLine(@TempDir Path dir) throws Exception {
        Path bad = Files.writeString(dir.resolve("bad.yaml"), """
                listeners:
                  - { name: apiserver, address: 0.0.0.0:6443 }
                backends:
                  - { name: m1, address: 10.0.0.11 }
                """);
        assertEquals(1, run("check-config", bad.toString()));
        String e = err.toString(StandardCharsets.UTF_8) + out.toString(StandardCharsets.UTF_8);
        assertTrue(e.contains("backends[0].address") && e.contains("line 4"), e);
    }

    @Test
    void runRefusesToStartOnABrokenConfig(@TempDir Path dir) throws Exception {
        Path bad = Files.writeString(dir.resolve("bad.yaml"), "listeners: []\nbackendz: []\n");
        assertEquals(1, run("--config", bad.toString()));
        String e = err.toString(StandardCharsets.UTF_8);
        assertTrue(e.startsWith("apilb: refusing to start:") && e.contains("backendz"), e);
    }

    @Test
    void runReportsAMissingFile() {
        assertEquals(1, run("--config", "/nonexistent/apilb.yaml"));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("not found"));
    }

    @Test
    void unknownArgumentsPrintUsage() {
        assertEquals(2, run("--frobnicate"));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("usage: apilb"));
        assertEquals(0, run("--help"));
        assertTrue(out.toString(StandardCharsets.UTF_8).contains("check-config"));
    }
}
