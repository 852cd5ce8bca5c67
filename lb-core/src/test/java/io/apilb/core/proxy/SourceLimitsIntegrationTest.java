package io.apilb.core.proxy;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.apilb.core.backend.BackendPool;
import io.apilb.core.config.ApilbConfig;
import io.apilb.core.config.Cidr;
import io.apilb.core.config.Limits;
import io.apilb.core.metrics.FrontendMetrics;
import io.apilb.core.testing.TestApiServer;
import io.apilb.core.testing.TestConfigs;
import io.apilb.core.testing.TestHttpsClient;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * limits.perSource on real loopback sockets: clients from 127.0.0.9 (on lo like 127.0.0.1) against
 * a proxy in front of a real TLS backend, which clients from 127.0.0.1 must keep reaching.
 */
class SourceLimitsIntegrationTest {
    private static final String NOISY = "127.0.0.9";
    private static final Duration DEADLINE = Duration.ofSeconds(10);

    private final List<Socket> sockets = new ArrayList<>();
    private TestApiServer backend;
    private ProxyServer proxy;
    private InetSocketAddress address;

    @BeforeEach
    void startBackend() {
        backend = TestApiServer.start("master1");
    }

    @AfterEach
    void tearDown() throws IOException {
        for (Socket s : sockets) {
            s.close();
        }
        if (proxy != null) {
            proxy.close();
        }
        backend.close();
    }

    private ApilbConfig config(int maxConnections, String... allow) {
        return TestConfigs.builder().backend(backend)
                .perSource(new Limits.PerSource(maxConnections, 0, List.of(allow).stream().map(Cidr::parse).toList()))
                .build();
    }

    private void startProxy(ApilbConfig config) {
        proxy = new ProxyServer(new BackendPool(config.backends()));
        proxy.start(config);
        address = proxy.boundAddresses().get(0);
    }

    /** A client connection from {@code from} that sends nothing and stays open. */
    private Socket connectFrom(String from) throws IOException {
        Socket s = new Socket();
        sockets.add(s);
        s.bind(new InetSocketAddress(from, 0));
        s.connect(address, 5000);
        s.setSoTimeout((int) DEADLINE.toMillis());
        return s;
    }

    /** True when the proxy closed the connection without a byte. */
    private static boolean closedByProxy(Socket s) throws IOException {
        try {
            return s.getInputStream().read() == -1;
        } catch (SocketException reset) {
            return true;
        }
    }

    private int openFrom(String source) {
        for (SourceLimiter.Usage u : proxy.stats().sources().busiest(10)) {
            if (u.source().equals(source)) {
                return u.openConnections();
            }
        }
        return 0;
    }

    @Test
    void anAddressOverItsLimitIsRefusedWhileAnotherIsServed() throws Exception {
        startProxy(config(3));
        List<Socket> held = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            held.add(connectFrom(NOISY));
        }
        await().atMost(DEADLINE).until(() -> openFrom(NOISY) == 3 && proxy.stats().active() == 3);

        Socket fourth = connectFrom(NOISY);
        assertTrue(closedByProxy(fourth), "the fourth connection from " + NOISY + " is closed at once");
        MeterRegistry registry = new SimpleMeterRegistry();
        new FrontendMetrics(proxy.stats()).bindTo(registry);
        assertEquals(1, registry.get(FrontendMetrics.REJECTED).tag("reason", "per_source_connections")
                .functionCounter().count());
        assertEquals(0, registry.get(FrontendMetrics.REJECTED).tag("reason", "max_connections")
                .functionCounter().count());
        assertEquals(0, registry.get(FrontendMetrics.PREFIX + ".rejected").functionCounter().count(),
                "the older meter keeps meaning limits.maxConnections only");

        TestHttpsClient.Response r = TestHttpsClient.getOnce(address, "/version");
        assertEquals(200, r.status(), "127.0.0.1 is still served");
        assertEquals("master1", r.server());

        held.get(0).close();
        await().atMost(DEADLINE).until(() -> openFrom(NOISY) == 2);
        connectFrom(NOISY);
        await().atMost(DEADLINE).until(() -> openFrom(NOISY) == 3 && proxy.stats().active() == 3);
        assertEquals(1, proxy.stats().rejected(), "the closed connection gave its slot back");
        assertEquals(List.of(new SourceLimiter.Usage(NOISY, 3, 1)), proxy.stats().sources().busiest(10));
    }

    @Test
    void aReloadRaisesTheLimitForNewConnectionsAndKeepsTheCount() throws Exception {
        startProxy(config(2));
        connectFrom(NOISY);
        connectFrom(NOISY);
        await().atMost(DEADLINE).until(() -> openFrom(NOISY) == 2);

        proxy.reconfigure(config(3));
        connectFrom(NOISY);
        await().atMost(DEADLINE).until(() -> openFrom(NOISY) == 3);
        assertTrue(closedByProxy(connectFrom(NOISY)), "the two from before the reload still count");
        assertEquals(1, proxy.stats().rejected(RejectReason.PER_SOURCE_CONNECTIONS));
    }

    @Test
    void anAllowedBlockIsExempt() throws Exception {
        startProxy(config(1, "127.0.0.8/29"));
        for (int i = 0; i < 3; i++) {
            connectFrom(NOISY);
        }
        await().atMost(DEADLINE).until(() -> proxy.stats().active() == 3);

        connectFrom("127.0.0.1");
        await().atMost(DEADLINE).until(() -> openFrom("127.0.0.1") == 1);
        assertTrue(closedByProxy(connectFrom("127.0.0.1")), "127.0.0.1 is not on the list");
        assertEquals(4, proxy.stats().active());
        assertEquals(0, openFrom(NOISY), "exempt addresses are not tracked");
    }
}
