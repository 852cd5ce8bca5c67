package io.apilb.core.proxy;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.apilb.core.backend.Backend;
import io.apilb.core.backend.BackendPool;
import io.apilb.core.backend.ConnectFailure;
import io.apilb.core.backend.Health;
import io.apilb.core.backend.Termination;
import io.apilb.core.config.ApilbConfig;
import io.apilb.core.testing.TestApiServer;
import io.apilb.core.testing.TestConfigs;
import io.apilb.core.testing.TestHttpsClient;
import io.apilb.core.testing.TestPki;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufAllocatorMetric;
import io.netty.buffer.ByteBufAllocatorMetricProvider;
import io.netty.pkitesting.X509Bundle;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** The proxy on real loopback sockets in front of real TLS backends. */
class ProxyIntegrationTest {
    private final List<AutoCloseable> closeables = new ArrayList<>();
    private BackendPool pool;
    private ProxyServer proxy;
    private InetSocketAddress address;

    private TestApiServer backend(TestApiServer s) {
        closeables.add(s);
        return s;
    }

    private void startProxy(ApilbConfig config) {
        pool = new BackendPool(config.backends());
        proxy = new ProxyServer(pool);
        proxy.start(config);
        address = proxy.boundAddresses().get(0);
    }

    @AfterEach
    void tearDown() throws Exception {
        if (proxy != null) {
            proxy.close();
        }
        for (AutoCloseable c : closeables) {
            c.close();
        }
    }

    private List<TestApiServer> threeBackends() {
        return List.of(backend(TestApiServer.start("master1")), backend(TestApiServer.start("master2")),
                backend(TestApiServer.start("master3")));
    }

    private static ApilbConfig configFor(List<TestApiServer> servers) {
        TestConfigs c = TestConfigs.builder();
        servers.forEach(c::backend);
        return c.build();
    }

    private void assertNoLeakedConnections() {
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            assertEquals(0, proxy.stats().active(), "frontend connections");
            for (Backend b : pool.all()) {
                assertEquals(0, b.connections().active(), b.name() + " established connections");
                assertEquals(0, b.connections().dialsInFlight(), b.name() + " dials in flight");
            }
        });
    }

    @Test
    void roundRobinSpreadsNewTlsConnectionsEvenly() throws Exception {
        startProxy(configFor(threeBackends()));
        Map<String, Integer> served = new HashMap<>();
        for (int i = 0; i < 300; i++) {
            TestHttpsClient.Response r = TestHttpsClient.getOnce(address, "/version");
            assertEquals(200, r.status());
            served.merge(r.server(), 1, Integer::sum);
        }
        assertEquals(Map.of("master1", 100, "master2", 100, "master3", 100), served);
        assertNoLeakedConnections();
        for (Backend b : pool.all()) {
            assertEquals(100, b.connections().total(), b.name());
            assertTrue(b.stats().bytesIn() > 0 && b.stats().bytesOut() > 0, b.name() + " counts bytes");
        }
    }

    @Test
    void clientCertificatePassesThroughUnchanged() throws Exception {
        TestApiServer mtls = backend(TestApiServer.builder("master1").requireClientCert().start());
        startProxy(configFor(List.of(mtls)));
        X509Bundle alice = TestPki.client("alice", "system:masters");
        try (TestHttpsClient c = TestHttpsClient.connect(address, alice, "kubernetes", 5000)) {
            TestHttpsClient.Response r = c.get("/version");
            assertEquals(200, r.status());
            assertEquals(alice.getCertificate().getSubjectX500Principal().getName(), r.field("clientSubject"));
            assertEquals(TestApiServer.sha256(alice.getCertificate().getEncoded()), r.field("clientCertSha256"));
            assertEquals("kubernetes", r.field("sni"), "SNI passes through too");
        }
        // Without a certificate the backend, not the proxy, refuses: TLS is never terminated here.
        assertThrows(IOException.class, () -> {
            try (TestHttpsClient c = TestHttpsClient.connect(address)) {
                c.get("/version");
            }
        });
    }

    @Test
    void redispatchesAwayFromAClosedPortWithoutClientVisibleFailures() throws Exception {
        int deadPort;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            deadPort = s.getLocalPort();
        }
        TestApiServer m1 = backend(TestApiServer.start("master1"));
        TestApiServer m3 = backend(TestApiServer.start("master3"));
        startProxy(TestConfigs.builder().backend(m1).backend("master2", "127.0.0.1:" + deadPort, 1).backend(m3).build());
        Map<String, Integer> served = new HashMap<>();
        for (int i = 0; i < 200; i++) {
            TestHttpsClient.Response r = TestHttpsClient.getOnce(address, "/version");
            assertEquals(200, r.status());
            served.merge(r.server(), 1, Integer::sum);
        }
        assertEquals(200, served.get("master1") + served.get("master3"));
        assertTrue(served.get("master1") >= 80 && served.get("master3") >= 80, served.toString());
        Backend dead = pool.get("master2");
        assertTrue(dead.stats().connectFailures(ConnectFailure.CONNECT_REFUSED) >= 60,
                "refusals counted: " + dead.stats().connectFailuresByReason());
        assertEquals(0, dead.connections().total());
        assertNoLeakedConnections();
    }

    @Test
    void aClientThatStopsReadingDoesNotMakeTheProxyBuffer() throws Exception {
        TestApiServer m1 = backend(TestApiServer.start("master1"));
        startProxy(configFor(List.of(m1)));
        ByteBufAllocatorMetric metric = ((ByteBufAllocatorMetricProvider) ByteBufAllocator.DEFAULT).metric();
        long before = metric.usedDirectMemory() + metric.usedHeapMemory();
        long size = 256L * 1024 * 1024;
        try (TestHttpsClient c = TestHttpsClient.connect(address, null, null, 60_000)) {
            c.sendGet("/stream?bytes=" + size);
            Backend b = pool.get("master1");
            // Let the backend push as hard as it can while the client reads nothing.
            long peak = 0;
            long relayedBefore = -1;
            for (int i = 0; i < 40; i++) {
                TimeUnit.MILLISECONDS.sleep(100);
                peak = Math.max(peak, metric.usedDirectMemory() + metric.usedHeapMemory() - before);
                long relayed = b.stats().bytesOut();
                if (i >= 15 && relayed == relayedBefore) {
                    break;
                }
                relayedBefore = relayed;
            }
            long stalledAt = b.stats().bytesOut();
            assertTrue(stalledAt < 64L * 1024 * 1024, "proxy stopped reading the backend, relayed " + stalledAt);
            assertTrue(peak < 32L * 1024 * 1024, "allocator growth while stalled: " + peak);

            // The stream is intact once the client reads again.
            TestHttpsClient.Response head = c.readHead();
            assertEquals(200, head.status());
            long read = drainChunked(c.input());
            assertEquals(size, read);
        }
    }

    /** Reads a chunked body to its end without keeping it; returns its length. */
    private static long drainChunked(InputStream in) throws IOException {
        long total = 0;
        byte[] buf = new byte[64 * 1024];
        while (true) {
            long n = Long.parseLong(readLine(in).trim(), 16);
            if (n == 0) {
                readLine(in);
                return total;
            }
            while (n > 0) {
                int r = in.read(buf, 0, (int) Math.min(buf.length, n));
                if (r < 0) {
                    throw new IOException("eof in chunk");
                }
                n -= r;
                total += r;
            }
            readLine(in);
        }
    }

    private static String readLine(InputStream in) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (int b = in.read(); b != '\n'; b = in.read()) {
            if (b < 0) {
                throw new IOException("eof in line");
            }
            if (b != '\r') {
                sb.append((char) b);
            }
        }
        return sb.toString();
    }

    @Test
    void markingABackendDownClosesItsLiveConnectionsPromptly() throws Exception {
        List<TestApiServer> servers = threeBackends();
        startProxy(configFor(servers));
        List<TestHttpsClient> clients = new ArrayList<>();
        try {
            for (int i = 0; i < 9; i++) {
                TestHttpsClient c = TestHttpsClient.connect(address);
                assertEquals(200, c.get("/version").status());
                clients.add(c);
            }
            Backend victim = pool.get("master2");
            assertEquals(3, victim.connections().active());
            long start = System.nanoTime();
            pool.setHealth(victim, Health.DOWN, Termination.BACKEND_DOWN);
            List<TestHttpsClient> onVictim = new ArrayList<>();
            List<TestHttpsClient> others = new ArrayList<>();
            for (int i = 0; i < clients.size(); i++) {
                (i % 3 == 1 ? onVictim : others).add(clients.get(i));
            }
            await().atMost(Duration.ofSeconds(2)).until(() -> onVictim.stream().allMatch(TestHttpsClient::isClosedByPeer));
            long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertTrue(tookMs < 2000, "closed in " + tookMs + " ms");
            for (TestHttpsClient c : others) {
                assertEquals(200, c.get("/version").status(), "connections to other backends stay up");
            }
            assertEquals(0, victim.connections().active());
            for (int i = 0; i < 6; i++) {
                assertNotEquals("master2", TestHttpsClient.getOnce(address, "/version").server());
            }
        } finally {
            clients.forEach(TestHttpsClient::close);
        }
    }

    @Test
    void garbageAndAbruptClientsCostOnlyTheirOwnConnections() throws Exception {
        startProxy(configFor(threeBackends()));
        Random random = new Random(42);
        for (int i = 0; i < 20; i++) {
            try (Socket s = new Socket(address.getAddress(), address.getPort())) {
                byte[] junk = new byte[1 + random.nextInt(4096)];
                random.nextBytes(junk);
                OutputStream out = s.getOutputStream();
                out.write(junk);
                out.flush();
                s.setSoTimeout(5000);
                // The backend's TLS stack rejects it and closes; the proxy relays that close.
                InputStream in = s.getInputStream();
                byte[] sink = new byte[1024];
                while (in.read(sink) >= 0) {
                    // drain the alert
                }
            } catch (IOException e) {
                // a reset is an acceptable way to be told no
            }
        }
        // A client that connects and vanishes without a word.
        for (int i = 0; i < 20; i++) {
            new Socket(address.getAddress(), address.getPort()).close();
        }
        // 2000 abrupt connect/RST cycles.
        for (int i = 0; i < 2000; i++) {
            try (Socket s = new Socket(address.getAddress(), address.getPort())) {
                s.setSoLinger(true, 0);
            }
        }
        assertEquals(200, TestHttpsClient.getOnce(address, "/version").status(), "still serving");
        assertNoLeakedConnections();
        assertTrue(proxy.stats().accepted() >= 2041);
    }

    @Test
    void gracefulShutdownLetsAnOpenStreamFinishAndRefusesNewConnections() throws Exception {
        TestApiServer m1 = backend(TestApiServer.start("master1"));
        startProxy(TestConfigs.builder().backend(m1).shutdownGrace(Duration.ofSeconds(10)).build());
        try (TestHttpsClient c = TestHttpsClient.connect(address)) {
            c.sendGet("/slow?ms=1500");
            long start = System.nanoTime();
            CompletableFuture<Void> shutdown = CompletableFuture.runAsync(() -> proxy.shutdown(Duration.ofSeconds(10)));
            await().atMost(Duration.ofSeconds(2)).untilAsserted(() ->
                    assertThrows(ConnectException.class, () -> new Socket(address.getAddress(), address.getPort()).close()));
            TestHttpsClient.Response r = c.readResponse(Long.MAX_VALUE);
            assertEquals(200, r.status());
            assertEquals("master1", r.server());
            c.close();
            shutdown.get(5, TimeUnit.SECONDS);
            long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertTrue(tookMs < 5000, "shutdown ended soon after the stream: " + tookMs + " ms");
        }
        proxy = null;
    }

    @Test
    void shutdownGraceRunsOutAndClosesWhatIsLeft() throws Exception {
        TestApiServer m1 = backend(TestApiServer.start("master1"));
        startProxy(configFor(List.of(m1)));
        try (TestHttpsClient c = TestHttpsClient.connect(address)) {
            assertEquals(200, c.get("/version").status());
            long start = System.nanoTime();
            proxy.shutdown(Duration.ofMillis(500));
            long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertTrue(tookMs >= 450 && tookMs < 4000, "waited the grace, then closed: " + tookMs + " ms");
            await().atMost(Duration.ofSeconds(2)).until(c::isClosedByPeer);
        }
        proxy = null;
    }

    @Test
    void dialsBackendsByHostName() throws Exception {
        TestApiServer m1 = backend(TestApiServer.start("master1"));
        startProxy(TestConfigs.builder().backend("master1", "localhost:" + m1.port(), 1).build());
        assertEquals("master1", TestHttpsClient.getOnce(address, "/version").server());
    }

    @Test
    void unresolvableBackendCountsAsDnsFailureAndIsSkipped() throws Exception {
        TestApiServer m1 = backend(TestApiServer.start("master1"));
        startProxy(TestConfigs.builder().backend("ghost", "no-such-master.invalid:6443", 1).backend(m1).build());
        for (int i = 0; i < 4; i++) {
            assertEquals("master1", TestHttpsClient.getOnce(address, "/version").server());
        }
        assertTrue(pool.get("ghost").stats().connectFailures(ConnectFailure.DNS) >= 1);
    }

    @Test
    void halfCloseFromTheClientStillDeliversTheResponse() throws Exception {
        // A plain TCP backend that answers only after it sees the client's FIN.
        try (ServerSocket backend = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            startProxy(TestConfigs.builder().backend("plain", "127.0.0.1:" + backend.getLocalPort(), 1).build());
            CompletableFuture<String> seen = CompletableFuture.supplyAsync(() -> {
                try (Socket s = backend.accept()) {
                    String request = new String(s.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.US_ASCII);
                    s.getOutputStream().write(("got " + request).getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                    return request;
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            });
            try (Socket s = new Socket(address.getAddress(), address.getPort())) {
                s.setSoTimeout(5000);
                s.getOutputStream().write("ping".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                s.shutdownOutput();
                String reply = new String(s.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.US_ASCII);
                assertEquals("got ping", reply, "the other direction stayed open after our FIN");
            }
            assertEquals("ping", seen.get(5, TimeUnit.SECONDS));
        }
        assertNoLeakedConnections();
    }

    @Test
    void halfCloseFromTheBackendLeavesTheClientAbleToSend() throws Exception {
        // The client speaks first (nothing is dialled before it does); the backend answers and shuts
        // its output; the client reads to the FIN, then answers.
        try (ServerSocket backend = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            startProxy(TestConfigs.builder().backend("plain", "127.0.0.1:" + backend.getLocalPort(), 1).build());
            CompletableFuture<String> answer = CompletableFuture.supplyAsync(() -> {
                try (Socket s = backend.accept()) {
                    s.getInputStream().readNBytes(2);
                    s.getOutputStream().write("hello".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                    s.shutdownOutput();
                    return new String(s.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.US_ASCII);
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            });
            try (Socket c = new Socket(address.getAddress(), address.getPort())) {
                c.setSoTimeout(5000);
                c.getOutputStream().write("hi".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                String greeting = new String(c.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.US_ASCII);
                assertEquals("hello", greeting, "the backend's bytes, then its FIN");
                c.getOutputStream().write("bye".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                c.shutdownOutput();
                assertEquals("bye", answer.get(5, TimeUnit.SECONDS), "the client's bytes after the backend's FIN");
            }
        }
        assertNoLeakedConnections();
    }

    @Test
    void listenerThatCannotBindNamesItsKey() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            ApilbConfig base = configFor(List.of(backend(TestApiServer.start("master1"))));
            ApilbConfig clash = new ApilbConfig(List.of(new io.apilb.core.config.ListenerConfig("apiserver",
                    new io.apilb.core.config.HostPort("127.0.0.1", taken.getLocalPort()))), base.backends(), base.balance(),
                    base.retries(), base.timeouts(), base.tcp(), base.limits(), base.health(), base.admin(), base.logging(),
                    base.shutdownGrace(), base.drainTimeout(), base.shutdownDelay());
            ProxyServer p = new ProxyServer(new BackendPool(clash.backends()));
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> p.start(clash));
            assertTrue(e.getMessage().startsWith("listeners[0].address: cannot listen on 127.0.0.1:" + taken.getLocalPort()),
                    e.getMessage());
        }
    }

    @Test
    void largeUploadArrivesIntact() throws Exception {
        // Raw bytes through the proxy to a plain TCP sink, to check the client->backend direction
        // byte for byte (TLS backends would reject random bytes).
        try (ServerSocket sink = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            startProxy(TestConfigs.builder().backend("sink", "127.0.0.1:" + sink.getLocalPort(), 1).build());
            byte[] payload = new byte[8 * 1024 * 1024];
            new Random(7).nextBytes(payload);
            CompletableFuture<byte[]> received = CompletableFuture.supplyAsync(() -> {
                try (Socket s = sink.accept()) {
                    return s.getInputStream().readAllBytes();
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            });
            try (Socket c = new Socket(address.getAddress(), address.getPort())) {
                c.getOutputStream().write(payload);
                c.shutdownOutput();
                assertArrayEquals(payload, received.get(20, TimeUnit.SECONDS));
            }
        }
    }
}
