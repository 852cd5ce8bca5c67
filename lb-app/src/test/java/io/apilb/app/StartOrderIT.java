package io.apilb.app;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.apilb.core.testing.TestApiServer;
import io.apilb.core.testing.TestPki;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/** The order in which a starting process opens its ports, as Keepalived or a deploy script sees it. */
class StartOrderIT {

    @Test
    void healthzAnswersFromTheFirstMomentTheProxyPortAccepts(@TempDir Path dir) throws Exception {
        try (TestApiServer m1 = TestApiServer.start("master1")) {
            int port = ApilbProcess.freePort();
            int adminPort = ApilbProcess.freePort();
            Path ca = TestPki.writeCa(TestPki.ca(), dir, "ca.crt");
            Path file = Files.writeString(dir.resolve("apilb.yaml"), """
                    listeners:
                      - { name: apiserver, address: 127.0.0.1:%d }
                    backends:
                      - { name: master1, address: %s }
                    health:
                      tls: { ca: %s, serverName: kubernetes }
                    admin: { address: 127.0.0.1:%d }
                    """.formatted(port, m1.hostPort(), ca, adminPort));
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
            HttpRequest healthz = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + "/healthz"))
                    .timeout(Duration.ofSeconds(10)).build();
            try (ApilbProcess apilb = ApilbProcess.start(dir, "--config", file.toString())) {
                long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
                int attempts = 0;
                while (!accepts(port)) {
                    assertTrue(System.nanoTime() < deadline && apilb.alive(),
                            "the proxy port never accepted:\n" + apilb.output());
                    attempts++;
                    Thread.sleep(2);
                }
                // The very first accept: /healthz must answer now (503 is fine before the first verdicts).
                int status;
                try {
                    status = http.send(healthz, HttpResponse.BodyHandlers.ofString()).statusCode();
                } catch (IOException e) {
                    throw new AssertionError("the proxy port accepts but /healthz does not answer: " + e
                            + "\n" + apilb.output(), e);
                }
                assertTrue(status == 200 || status == 503, "status " + status);
                assertTrue(attempts > 0, "polled before the proxy port opened, so this saw the first moment");
            }
        }
    }

    private static boolean accepts(int port) {
        try (Socket s = new Socket("127.0.0.1", port)) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
