package io.apilb.core.proxy;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.apilb.core.backend.BackendPool;
import io.apilb.core.config.ApilbConfig;
import io.apilb.core.testing.TestApiServer;
import io.apilb.core.testing.TestConfigs;
import io.apilb.core.testing.TestHttpsClient;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * A crowd of connections that never speak, from one loopback address, while real TLS clients use
 * the proxy from another: the masters never see the silent ones, the real clients never notice
 * them, and they are closed at {@code timeouts.clientHello}.
 */
class SilentClientsTest {
    private static final int SILENT = 1_000;
    private static final int REAL = 60;
    private static final Duration CLIENT_HELLO = Duration.ofSeconds(2);

    private final List<TestApiServer> masters = new ArrayList<>();
    private final List<Socket> silent = new ArrayList<>();
    private ProxyServer proxy;

    @AfterEach
    void tearDown() throws IOException {
        for (Socket s : silent) {
            s.close();
        }
        if (proxy != null) {
            proxy.close();
        }
        masters.forEach(TestApiServer::close);
    }

    @Test
    void silentConnectionsReachNoMasterDisturbNoClientAndCloseAtTheClientHelloTimeout() throws Exception {
        TestConfigs c = TestConfigs.builder().clientHello(CLIENT_HELLO);
        for (int i = 1; i <= 3; i++) {
            TestApiServer m = TestApiServer.start("master" + i);
            masters.add(m);
            c.backend(m);
        }
        ApilbConfig config = c.build();
        proxy = new ProxyServer(new BackendPool(config.backends()));
        proxy.start(config);
        InetSocketAddress address = proxy.boundAddresses().get(0);

        InetAddress other = InetAddress.getByName("127.0.0.9");
        long openedAt = System.nanoTime();
        for (int i = 0; i < SILENT; i++) {
            Socket s = new Socket();
            s.bind(new InetSocketAddress(other, 0));
            s.connect(address, 2_000);
            s.setSoTimeout(1);
            silent.add(s);
        }
        long openedMillis = (System.nanoTime() - openedAt) / 1_000_000;

        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<Integer>> results = new ArrayList<>();
            for (int i = 0; i < REAL; i++) {
                results.add(pool.submit(() -> TestHttpsClient.getOnce(address, "/version").status()));
            }
            for (Future<Integer> r : results) {
                assertEquals(200, r.get(20, TimeUnit.SECONDS), "a real client while 1,000 sockets stay silent");
            }
        } finally {
            pool.shutdownNow();
        }
        int seenByMasters = masters.stream().mapToInt(TestApiServer::accepted).sum();
        assertEquals(REAL, seenByMasters, "the masters saw only the real clients");

        // Each silent socket is closed by the proxy (read returns -1) once it has been quiet for
        // clientHello; a slack of a few seconds covers scheduling on a busy machine.
        List<Socket> open = new ArrayList<>(silent);
        long deadline = System.nanoTime() + CLIENT_HELLO.toNanos() + TimeUnit.SECONDS.toNanos(15);
        while (!open.isEmpty() && System.nanoTime() < deadline) {
            open.removeIf(SilentClientsTest::closedByPeer);
        }
        assertEquals(List.of(), open, "every silent socket closed by the proxy");
        long closedAfter = (System.nanoTime() - openedAt) / 1_000_000;
        long lived = closedAfter - openedMillis;
        System.out.printf("silent clients: %d opened in %d ms, real clients %d ok, masters accepted %d, "
                + "all silent sockets seen closed %d ms after the last was opened, checked once the real clients were done (clientHello %d ms)%n",
                SILENT, openedMillis, REAL, seenByMasters, lived, CLIENT_HELLO.toMillis());
        assertTrue(closedAfter >= CLIENT_HELLO.toMillis(), "not closed before the timeout: " + closedAfter);
        assertEquals(SILENT, proxy.stats().clientHelloTimeouts());
        await().atMost(Duration.ofSeconds(5)).until(() -> proxy.stats().active() == 0);
        assertEquals(REAL, masters.stream().mapToInt(TestApiServer::accepted).sum(), "still none for the silent");
    }

    private static boolean closedByPeer(Socket s) {
        try {
            return s.getInputStream().read() == -1;
        } catch (SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true;
        }
    }
}
