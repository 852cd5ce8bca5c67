package io.apilb.app;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.apilb.core.testing.TestApiServer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/** The runnable jar's plain log, as a terminal or a log file receives it. */
class PlainLogIT {

    @Test
    void probeErrorBodyWithQuoteNewlineAndEscapeIsWrittenEscapedOnOneLine(@TempDir Path dir) throws Exception {
        try (TestApiServer m1 = TestApiServer.start("master1")) {
            m1.readyStatus(500);
            m1.readyBody("say \"hi\"\nforged line \u001b[31mred\u001b[0m");
            int port = ApilbProcess.freePort();
            Path config = Files.writeString(dir.resolve("apilb.yaml"), """
                    listeners:
                      - { name: apiserver, address: 127.0.0.1:%d }
                    backends:
                      - { name: master1, address: %s }
                    health:
                      interval: 2s
                      timeout: 2s
                      tls: { insecure: true }
                    admin:
                      enabled: false
                    logging:
                      format: plain
                    """.formatted(port, m1.hostPort()));
            try (ApilbProcess apilb = ApilbProcess.start(dir, "--config", config.toString())) {
                await().atMost(Duration.ofSeconds(20)).until(() -> apilb.output().contains("-> DOWN"));
                String out = apilb.output();
                List<String> down = out.lines().filter(l -> l.contains("-> DOWN")).toList();
                assertEquals(1, down.size(), out);
                String line = down.get(0);
                // The probe folds the body's whitespace into spaces; the quotes and ESC reach the log.
                assertTrue(line.contains("error=\"HTTP 500: say \\\"hi\\\" forged line \\u001b[31mred\\u001b[0m\""),
                        line);
                assertTrue(line.endsWith(" connections=keep (answers, not ready)"), line);
                assertFalse(out.contains("\u001b"), "a raw ESC reached the log:\n" + out);
                assertTrue(out.lines().noneMatch(l -> l.startsWith("forged line")), out);
                apilb.signal("TERM");
                assertEquals(0, apilb.waitForExit(Duration.ofSeconds(10)), out);
            }
        }
    }
}
