package io.apilb.app;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.apilb.core.testing.TestApiServer;
import io.apilb.core.testing.TestHttpsClient;
import io.apilb.core.testing.TestPki;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/** SIGHUP on the running jar: a reload that cannot be applied changes nothing and says why in the log. */
class ReloadSignalIT {

    @Test
    void aSighupReloadWhoseAdminAddressCannotBeBoundChangesNothingAndIsLogged(@TempDir Path dir) throws Exception {
        try (TestApiServer m1 = TestApiServer.start("master1");
             ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            int port = ApilbProcess.freePort();
            int adminPort = ApilbProcess.freePort();
            int newPort = ApilbProcess.freePort();
            Path ca = TestPki.writeCa(TestPki.ca(), dir, "ca.crt");
            String first = """
                    listeners:
                      - { name: apiserver, address: 127.0.0.1:%d }
                    backends:
                      - { name: master1, address: %s }
                    health:
                      interval: 2s
                      tls: { ca: %s, serverName: kubernetes }
                    admin: { address: 127.0.0.1:%d }
                    """.formatted(port, m1.hostPort(), ca, adminPort);
            Path file = Files.writeString(dir.resolve("apilb.yaml"), first);
            String second = first
                    .replace("listeners:\n", "listeners:\n  - { name: second, address: 127.0.0.1:" + newPort + " }\n")
                    .replace("interval: 2s", "interval: 3s")
                    .replace("127.0.0.1:" + adminPort, "127.0.0.1:" + taken.getLocalPort());
            InetSocketAddress lb = new InetSocketAddress("127.0.0.1", port);
            try (ApilbProcess apilb = ApilbProcess.start(dir, "--config", file.toString())) {
                ApilbProcess.awaitListening(lb, Duration.ofSeconds(20));
                await().atMost(Duration.ofSeconds(10)).ignoreExceptions().until(() -> healthz(adminPort) > 0);

                Files.writeString(file, second);
                apilb.signal("HUP");
                await().atMost(Duration.ofSeconds(10)).until(() -> apilb.output().contains("reload on SIGHUP refused"));
                String out = apilb.output();
                assertTrue(out.contains("admin.address: 127.0.0.1:" + taken.getLocalPort() + " cannot be bound"), out);
                assertThrows(ConnectException.class, () -> new Socket("127.0.0.1", newPort).close(),
                        "the new listener was closed again");
                assertAnswers(healthz(adminPort), "the admin port stays where it was");
                assertEquals("master1", TestHttpsClient.getOnce(lb, "/version").server());

                taken.close();
                apilb.signal("HUP");
                await().atMost(Duration.ofSeconds(10)).until(() -> apilb.output().contains("reloaded " + file));
                assertAnswers(healthz(taken.getLocalPort()), "bound before the reload was reported");
                assertEquals("master1", TestHttpsClient.getOnce(new InetSocketAddress("127.0.0.1", newPort), "/version")
                        .server());
                apilb.signal("TERM");
                assertEquals(0, apilb.waitForExit(Duration.ofSeconds(20)), apilb.output());
            }
        }
    }

    /** 200, or 503 should probes time out on a busy machine: either way the port serves. */
    private static void assertAnswers(int healthzStatus, String what) {
        assertTrue(healthzStatus == 200 || healthzStatus == 503, what + ": " + healthzStatus);
    }

    private static int healthz(int port) throws Exception {
        return HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build().send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/healthz")).timeout(Duration.ofSeconds(10))
                        .build(), HttpResponse.BodyHandlers.ofString()).statusCode();
    }
}
