package io.apilb.admin;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.apilb.core.backend.Backend;
import io.apilb.core.backend.ConnectFailure;
import io.apilb.core.backend.Health;
import io.apilb.core.resource.LocalResourceError;
import io.apilb.core.testing.TestHttpsClient;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** {@code /metrics} after real traffic through the proxy: names, values, and promtool's verdict. */
class MetricsScrapeTest {
    private static final Path PROMTOOL = Paths.get("/usr/bin/promtool");
    private static final long STREAMED = 1_000_000;
    private final ProxiedCluster cluster = new ProxiedCluster();

    @AfterEach
    void close() {
        cluster.close();
    }

    /** 12 short connections (4 per master), one 1 MB download from master1, then a refused dial to master3. */
    private void sendTraffic() throws Exception {
        for (int i = 0; i < 12; i++) {
            assertEquals(200, TestHttpsClient.getOnce(cluster.proxyAddress, "/version").status());
        }
        try (TestHttpsClient c = TestHttpsClient.connect(cluster.proxyAddress)) {
            c.sendGet("/stream?bytes=" + STREAMED);
            TestHttpsClient.Response r = c.readResponse(0);
            assertEquals(200, r.status());
        }
        cluster.masters.get(2).stop();
        // Round robin comes to master3 within three dials; each refusal is retried on another master.
        for (int i = 0; i < 3; i++) {
            assertEquals(200, TestHttpsClient.getOnce(cluster.proxyAddress, "/version").status());
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> cluster.proxy.stats().active() == 0);
    }

    @Test
    void exposesBackendAndFrontendCountersThatMatchTheTraffic() throws Exception {
        sendTraffic();
        cluster.pool.setHealth(cluster.pool.get("master3"), Health.DOWN, null);

        HttpResponse<String> res = cluster.request("GET", "/metrics", null);
        assertEquals(200, res.statusCode());
        assertEquals("text/plain; version=0.0.4; charset=utf-8", res.headers().firstValue("content-type").orElse(""));
        PrometheusText m = new PrometheusText(res.body());

        long connections = 0;
        for (Backend b : cluster.pool.all()) {
            String n = b.name();
            assertEquals(b.connections().total(), m.value("apilb_backend_connections_total", "backend", n), n);
            assertEquals(b.stats().bytesIn(), m.value("apilb_backend_bytes_total", "backend", n, "direction", "in"), n);
            assertEquals(b.stats().bytesOut(), m.value("apilb_backend_bytes_total", "backend", n, "direction", "out"), n);
            assertEquals(0, m.value("apilb_backend_connections_active", "backend", n), n);
            assertEquals(ConnectFailure.values().length,
                    m.find("apilb_backend_connect_failures_total", "backend", n).size(), "one series per reason");
            connections += b.connections().total();
        }
        assertEquals(16, connections, "12 + 1 + 3 client connections, each counted once where it was relayed");
        assertEquals(LocalResourceError.values().length, m.find("apilb_local_resource_errors_total").size(),
                "one series per kind of local shortage");
        assertTrue(m.value("apilb_backend_bytes_total", "backend", "master1", "direction", "out") > STREAMED);
        assertTrue(m.value("apilb_backend_connect_failures_total", "backend", "master3", "reason", "connect_refused") >= 1);
        assertEquals(0, m.value("apilb_backend_connect_failures_total", "backend", "master1", "reason", "connect_refused"));
        assertEquals(1, m.value("apilb_backend_up", "backend", "master1"));
        assertEquals(0, m.value("apilb_backend_up", "backend", "master3"));

        assertEquals(16, m.value("apilb_frontend_connections_accepted_total"));
        assertEquals(0, m.value("apilb_frontend_connections_active"));
        assertEquals(0, m.value("apilb_frontend_connections_rejected_total"));
        assertEquals(0, m.value("apilb_frontend_connections_no_backend_total"));

        for (String jvm : List.of("jvm_memory_used_bytes", "jvm_threads_live_threads", "jvm_gc_memory_allocated_bytes_total")) {
            assertFalse(m.find(jvm).isEmpty(), jvm);
        }
        assertFalse(m.find("netty_allocator_memory_used").isEmpty(), "Netty allocator metrics");
    }

    @Test
    void answersOpenMetricsWhenAskedFor() throws Exception {
        HttpResponse<String> res = cluster.request("GET", "/metrics", null);
        assertTrue(res.body().contains("apilb_backend_up"));
        HttpResponse<String> om = java.net.http.HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                        java.net.URI.create("http://127.0.0.1:" + cluster.adminAddress.getPort() + "/metrics"))
                .header("Accept", "application/openmetrics-text; version=1.0.0").build(), HttpResponse.BodyHandlers.ofString());
        assertTrue(om.headers().firstValue("content-type").orElse("").startsWith("application/openmetrics-text"));
        assertTrue(om.body().endsWith("# EOF\n"), "OpenMetrics ends with # EOF");
    }

    @Test
    void promtoolAcceptsTheExposition() throws Exception {
        assumeTrue(Files.isExecutable(PROMTOOL), "needs promtool from the Debian package prometheus");
        sendTraffic();
        String text = cluster.scrape();

        Process p = new ProcessBuilder(PROMTOOL.toString(), "check", "metrics").redirectErrorStream(true).start();
        try (OutputStream in = p.getOutputStream()) {
            in.write(text.getBytes(StandardCharsets.UTF_8));
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (InputStream o = p.getInputStream()) {
            o.transferTo(out);
        }
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "promtool finished");
        assertEquals(0, p.exitValue(), "promtool check metrics:\n" + out.toString(StandardCharsets.UTF_8));
    }
}
