package io.apilb.core.proxy;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.apilb.core.backend.BackendPool;
import io.apilb.core.config.ApilbConfig;
import io.apilb.core.config.BalancePolicy;
import io.apilb.core.config.HostPort;
import io.apilb.core.config.ListenerConfig;
import io.apilb.core.testing.TestApiServer;
import io.apilb.core.testing.TestConfigs;
import io.apilb.core.testing.TestHttpsClient;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

class ProxyReconfigureTest {
    private final List<AutoCloseable> closeables = new ArrayList<>();

    @AfterEach
    void tearDown() throws Exception {
        for (AutoCloseable c : closeables) {
            c.close();
        }
    }

    private <T extends AutoCloseable> T closeLater(T c) {
        closeables.add(c);
        return c;
    }

    private static ApilbConfig withListeners(ApilbConfig c, List<ListenerConfig> listeners, BalancePolicy balance) {
        return new ApilbConfig(listeners, c.backends(), balance, c.retries(), c.timeouts(), c.tcp(), c.limits(),
                c.health(), c.admin(), c.logging(), c.shutdownGrace(), c.drainTimeout(), c.shutdownDelay());
    }

    private static int freePort() throws java.io.IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    @Test
    void newConnectionsFollowTheNewBackendsWhileOpenOnesStay() throws Exception {
        TestApiServer a = closeLater(TestApiServer.start("a"));
        TestApiServer b = closeLater(TestApiServer.start("b"));
        TestApiServer d = closeLater(TestApiServer.start("d"));
        // Reload compares listeners by address, so use a real port as a config file would.
        ListenerConfig bound = new ListenerConfig("apiserver", new HostPort("127.0.0.1", freePort()));
        ApilbConfig first = withListeners(TestConfigs.builder().backend(a).backend(b).build(), List.of(bound),
                BalancePolicy.ROUNDROBIN);
        BackendPool pool = new BackendPool(first.backends());
        ProxyServer proxy = closeLater(new ProxyServer(pool));
        proxy.start(first);
        InetSocketAddress lb = proxy.boundAddresses().get(0);

        TestHttpsClient toB = null;
        for (int i = 0; i < 2 && toB == null; i++) {
            TestHttpsClient c = TestHttpsClient.connect(lb);
            if ("b".equals(c.get("/version").server())) {
                toB = c;
            } else {
                c.close();
            }
        }
        assertTrue(toB != null, "one of two connections went to b");

        ApilbConfig second = withListeners(TestConfigs.builder().backend(b).backend(d).build(), List.of(bound),
                BalancePolicy.LEASTCONN);
        BackendPool.Change change = pool.reconfigure(second.backends());
        proxy.reconfigure(second);
        change.removed().forEach(r -> r.closeConnections(io.apilb.core.backend.Termination.BACKEND_REMOVED));

        assertEquals("b", toB.get("/version").server(), "the open connection to b survives");
        Set<String> served = new HashSet<>();
        io.apilb.core.backend.Backend backendD = pool.get("d");
        for (int i = 0; i < 6; i++) {
            served.add(TestHttpsClient.getOnce(lb, "/version").server());
            // The proxy counts the closed connection off asynchronously; until then d and b tie.
            await().atMost(Duration.ofSeconds(2)).until(() -> backendD.connections().active() == 0);
        }
        // The reload also switched to leastconn: b still holds the open connection, so d gets them all.
        assertEquals(Set.of("d"), served);
        assertEquals(0, pool.all().stream().filter(x -> x.name().equals("a")).count());
        toB.close();
    }

    @Test
    void listenersAreAddedAndRemovedAndABindFailureChangesNothing() throws Exception {
        TestApiServer a = closeLater(TestApiServer.start("a"));
        ApilbConfig first = TestConfigs.builder().backend(a).build();
        ProxyServer proxy = closeLater(new ProxyServer(new BackendPool(first.backends())));
        proxy.start(first);
        int oldPort = proxy.boundAddresses().get(0).getPort();
        ListenerConfig old = new ListenerConfig("apiserver", new HostPort("127.0.0.1", oldPort));

        int newPort = freePort();
        ListenerConfig fresh = new ListenerConfig("second", new HostPort("127.0.0.1", newPort));

        try (ServerSocket taken = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            ListenerConfig clash = new ListenerConfig("third", new HostPort("127.0.0.1", taken.getLocalPort()));
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> proxy.reconfigure(withListeners(first, List.of(fresh, clash), BalancePolicy.ROUNDROBIN)));
            assertTrue(e.getMessage().startsWith("listeners[1].address: cannot listen on"), e.getMessage());
        }
        assertEquals(List.of(oldPort), proxy.boundAddresses().stream().map(InetSocketAddress::getPort).toList(),
                "a failed reload keeps the old listeners and binds none of the new");
        assertThrows(ConnectException.class, () -> new Socket("127.0.0.1", newPort).close());

        proxy.reconfigure(withListeners(first, List.of(fresh), BalancePolicy.ROUNDROBIN));
        assertEquals("a", TestHttpsClient.getOnce(new InetSocketAddress("127.0.0.1", newPort), "/version").server());
        await().atMost(Duration.ofSeconds(2)).untilAsserted(() ->
                assertThrows(ConnectException.class, () -> new Socket("127.0.0.1", old.address().port()).close()));
    }

    @Test
    void renamingAListenerKeepsItsSocketAndItsConnections() throws Exception {
        TestApiServer a = closeLater(TestApiServer.start("a"));
        ListenerConfig before = new ListenerConfig("apiserver", new HostPort("127.0.0.1", freePort()));
        ApilbConfig first = withListeners(TestConfigs.builder().backend(a).build(), List.of(before),
                BalancePolicy.ROUNDROBIN);
        ProxyServer proxy = closeLater(new ProxyServer(new BackendPool(first.backends())));
        proxy.start(first);
        InetSocketAddress lb = proxy.boundAddresses().get(0);

        try (TestHttpsClient open = TestHttpsClient.connect(lb)) {
            assertEquals("a", open.get("/version").server());
            ListenerConfig renamed = new ListenerConfig("kube-apiserver", before.address());
            proxy.reconfigure(withListeners(first, List.of(renamed), BalancePolicy.ROUNDROBIN));

            assertEquals(List.of(lb), proxy.boundAddresses(), "the same socket, not a second bind");
            assertEquals("a", open.get("/version").server(), "the open connection survives the rename");
            assertEquals("a", TestHttpsClient.getOnce(lb, "/version").server(), "and new ones are accepted");
        }
    }
}
