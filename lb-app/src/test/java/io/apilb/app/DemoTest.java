package io.apilb.app;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.apilb.app.demo.Demo;
import io.apilb.app.demo.DemoCluster;
import io.apilb.core.backend.Health;
import io.apilb.core.config.HostPort;

import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;


class DemoTest {

    @Test
    void demoRotatesAcrossThreeMastersWithVerifiedTls() throws Exception {
        try (DemoCluster cluster = DemoCluster.launch(3);
             ApilbRuntime rt = ApilbRuntime.start(Demo.config(cluster, new HostPort("127.0.0.1", 0),
                     new HostPort("127.0.0.1", 0)))) {
            // Health checks start before the listeners: a first probe that times out on a busy machine
            // takes a master out of the rotation until it rises again.
            await().atMost(Duration.ofSeconds(20)).until(() -> rt.pool().all().stream()
                    .allMatch(b -> b.health() == Health.UP));
            InetSocketAddress lb = rt.listenerAddresses().get(0);
            // Rotation is what this checks, so it starts once every master has passed a probe: on a
            // loaded machine a cold first probe may time out and take a master out for a while.
            await().atMost(Duration.ofSeconds(20)).until(() -> rt.pool().all().stream()
                    .allMatch(b -> b.health() == Health.UP));
            List<String> servedBy = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                // A fresh client per call: a new TCP connection, as separate kubectl runs make.
                HttpClient http = TrustingClients.trusting(cluster.caFile());
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(
                        URI.create("https://127.0.0.1:" + lb.getPort() + "/version")).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertEquals(200, r.statusCode());
                servedBy.add(r.headers().firstValue("X-Served-By").orElseThrow());
            }
            assertEquals(List.of("master1", "master2", "master3", "master1", "master2", "master3"), servedBy);
        }
    }

    @Test
    void consoleCommandsStopAndStartAMaster() throws Exception {
        try (DemoCluster cluster = DemoCluster.launch(3)) {
            assertEquals("master2: stop done", Demo.command(cluster, "stop 2"));
            assertTrue(cluster.describe().contains("master2") && cluster.describe().contains("stopped"));
            assertEquals("master2: start done", Demo.command(cluster, "start 2"));
            assertTrue(!cluster.describe().contains("stopped"));
            assertEquals("master3: unready done", Demo.command(cluster, "unready 3"));
            assertTrue(cluster.describe().contains("unready"));
            assertTrue(Demo.command(cluster, "stop 9").startsWith("no master 9"));
            assertTrue(Demo.command(cluster, "explode 1").startsWith("unknown command"));
        }
    }
}
